"""The proxy's own API: what clients send and receive. The Gemini shape stays inside app/llm.py."""

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.session_store import StoredSession


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=32_000)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored

    model: str
    messages: list[Message] = Field(min_length=1, max_length=100)
    # The longest answer, in tokens: its organization's budget holds this many until the call ends.
    max_output_tokens: int = Field(default=1024, ge=1, le=8192)

    @model_validator(mode="after")
    def has_a_user_message(self) -> "ChatRequest":
        # The upstream answers the user: it refuses a conversation without a user turn, with a 400 we
        # would pass on as a 502. It is the client's mistake, so it is the client's 422, here.
        if not any(message.role == "user" for message in self.messages):
            raise ValueError("messages must include at least one user message")
        return self


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    model: str
    text: str
    usage: Usage


def _without_nul(value: str) -> str:
    # PostgreSQL's text cannot hold NUL; a filter with one would fail in the database, as a 500.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _in_utc(value: datetime) -> datetime:
    # The database compares instants. At the very edges of the calendar a time may have none Python can
    # hold (0001-01-01T00:00:00+01:00 is in year 0 in UTC); a driver that converts to UTC (asyncpg does)
    # would fail on it, as a 500. Such a time is the client's mistake: a 422.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between years 1 and 9999 in UTC") from None


FilterText = Annotated[str, AfterValidator(_without_nul)]
Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class UsageQuery(BaseModel):
    """Filters and paging of `GET /v1/usage`, read from the query string."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["me", "organization"] = "me"  # an organization's admin may read everyone's
    model: FilterText | None = None
    status_code: int | None = Field(default=None, ge=100, le=599)  # an HTTP status; the column is a SMALLINT
    since: Instant | None = None
    until: Instant | None = None
    limit: int = Field(default=50, ge=1, le=100)
    cursor: int | None = Field(default=None, ge=1, le=2**63 - 1)  # an id: a BIGINT

    @model_validator(mode="after")
    def since_before_until(self) -> "UsageQuery":
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be earlier than until")
        return self


class UsageRecord(BaseModel):
    id: int
    created_at: AwareDatetime
    user_id: str
    organization_id: str
    model: str
    streamed: bool
    status_code: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    latency_ms: int


class UsageTotals(BaseModel):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class UsagePage(BaseModel):
    items: list[UsageRecord]
    totals: UsageTotals
    next_cursor: int | None  # pass it as `cursor` for the next page; null on the last page


class ModelUsage(UsageTotals):
    model: str


class DayUsage(BaseModel):
    day: date
    calls: int
    total_tokens: int


class UsageSummary(BaseModel):
    totals: UsageTotals
    by_model: list[ModelUsage]  # alphabetical
    by_day: list[DayUsage]  # oldest first; days without calls are left out


class Me(BaseModel):
    """Who your session says you are: the user WorkOS signed in, and in which organization."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    organization_id: str | None
    role: str | None
    permissions: list[str]

    @classmethod
    def from_session(cls, session: StoredSession) -> "Me":
        return cls(
            user_id=session.user_id,
            email=session.email,
            first_name=session.first_name,
            last_name=session.last_name,
            organization_id=session.organization_id or None,
            role=session.role or None,
            permissions=session.permissions.split(),
        )


class SessionInfo(BaseModel):
    """One of your sessions, as `GET /v1/sessions` lists them. No id: ids open sessions; handles don't."""

    handle: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    current: bool  # the session of the request that asked

    @classmethod
    def from_session(cls, session: StoredSession, *, current: bool) -> "SessionInfo":
        return cls(
            handle=session.handle,
            created_at=datetime.fromtimestamp(session.created_at, UTC),
            last_seen_at=datetime.fromtimestamp(session.last_seen_at, UTC),
            user_agent=session.user_agent,
            current=current,
        )


class Ended(BaseModel):
    ended: int  # how many sessions
