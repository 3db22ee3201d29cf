"""The proxy's own API: what clients send and receive. The Gemini shape stays inside app/llm.py."""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=32_000)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored

    model: str
    messages: list[Message] = Field(min_length=1, max_length=100)


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    model: str
    text: str
    usage: Usage


class UsageQuery(BaseModel):
    """Filters and paging of `GET /v1/usage`, read from the query string."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    status_code: int | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    limit: int = Field(default=50, ge=1, le=100)
    cursor: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def since_before_until(self) -> "UsageQuery":
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be earlier than until")
        return self


class UsageRecord(BaseModel):
    id: int
    created_at: AwareDatetime
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
