"""Whether a call may go upstream: who pays for it, and whether their limits leave room for it.

Everything here happens before the upstream is called, so a refused call costs nothing: a session
with no organization (403), a user over their request rate or an organization over its day's token
budget (429), Redis gone (503).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import Forbidden
from app.over_limit import QuotaExceeded, Refusal, RequestRate
from app.quotas import Hold, MissingCounters, Quotas, today
from app.repositories import daily_usage
from app.schemas import ChatRequest
from app.session_store import StoredSession


@dataclass(frozen=True)
class Admission:
    hold: Hold  # the call's tokens, reserved: settled when it ends (app/services/metering.py)
    rate: RequestRate  # for the response's RateLimit headers


async def admit(
    chat: ChatRequest, session: StoredSession, *, quotas: Quotas, engine: AsyncEngine
) -> Admission:
    if not session.organization_id:
        raise Forbidden("Calls are paid for by an organization: sign in to one of yours first.")
    rate = await quotas.count_request(session.user_id)
    if isinstance(rate, Refusal):
        raise QuotaExceeded(rate)
    hold = Hold(uuid.uuid4(), session.organization_id, today(), most_tokens(chat))
    refusal = await reserve(quotas, engine, hold)
    if refusal:
        raise QuotaExceeded(refusal, rate)
    return Admission(hold, rate)


def most_tokens(chat: ChatRequest) -> int:
    """The most the call can cost: its prompt's tokens, bounded above, and the most the answer may have.

    A token is never shorter than a byte, so the prompt's UTF-8 bytes bound its tokens without asking
    the upstream to count them (a round trip). It overestimates (English runs ~4 bytes a token), but
    only while the call runs: settling gives back everything not really spent.
    """
    prompt_bytes = sum(len(message.content.encode()) for message in chat.messages)
    return prompt_bytes + chat.max_output_tokens


async def reserve(quotas: Quotas, engine: AsyncEngine, hold: Hold) -> Refusal | None:
    """Reserves the hold; when Redis has no counters for the day (a new day, or Redis lost them), they
    are rebuilt from the ledger first, what PostgreSQL's daily totals say was spent, never from zero."""
    try:
        return await quotas.reserve(hold)
    except MissingCounters:
        async with engine.connect() as conn:
            spent = await daily_usage.tokens_spent(conn, organization_id=hold.organization_id, day=hold.day)
        await quotas.rebuild(hold.organization_id, hold.day, spent=spent)
        return await quotas.reserve(hold)
