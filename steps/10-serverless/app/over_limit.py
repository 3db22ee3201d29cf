"""Over a limit: what the quotas say (`Refusal`, `RequestRate`), and what the client gets, a 429.

The 429 names the limit in its JSON body and says when to try again (`Retry-After`). It and every
proxied call carry the `RateLimit-Policy` and `RateLimit` fields, as the IETF's httpapi working group
spells them (draft-ietf-httpapi-ratelimit-headers-09, March 2025: structured fields, one item per policy):

    RateLimit-Policy: "requests";q=60;w=60     the policy: a quota of 60 per window of 60 seconds
    RateLimit: "requests";r=12;t=41            now: 12 remaining, the window resets in 41 seconds

Only the request rate is advertised this way: the draft's quota units are requests, bytes and
concurrent requests, and an LLM's tokens are none of them.
"""

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import JSONResponse

POLICY = "requests"

DETAILS = {
    "requests_per_minute": "Too many requests: your calls in the last minute reached your limit.",
    "daily_tokens": "Your organization's token budget for today (UTC) does not cover this call.",
}


@dataclass(frozen=True)
class Refusal:
    """Over a limit: which one, its size, what is left of it, and when to try again (seconds)."""

    limit: str  # a key of DETAILS
    quota: int
    remaining: int
    retry_after: int
    window_seconds: int


@dataclass(frozen=True)
class RequestRate:
    """Where a user stands in their request rate."""

    quota: int
    remaining: int
    reset_after: int  # seconds
    window_seconds: int


class QuotaExceeded(Exception):
    """Over the user's request rate or the organization's token budget: a 429, before any upstream call."""

    def __init__(self, refusal: Refusal, rate: RequestRate | None = None) -> None:
        super().__init__(refusal.limit)
        self.refusal = refusal
        self.rate = rate  # where the user stands in their request rate, when that is not what refused


def ratelimit_headers(rate: RequestRate) -> dict[str, str]:
    return {
        "RateLimit-Policy": f'"{POLICY}";q={rate.quota};w={rate.window_seconds}',
        "RateLimit": f'"{POLICY}";r={rate.remaining};t={rate.reset_after}',
    }


async def quota_exceeded_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuotaExceeded)
    refusal = exc.refusal
    body = {
        "detail": DETAILS[refusal.limit],
        "limit": refusal.limit,
        "quota": refusal.quota,
        "remaining": refusal.remaining,
        "retry_after": refusal.retry_after,
    }
    rate = exc.rate or RequestRate(refusal.quota, 0, refusal.retry_after, refusal.window_seconds)
    headers = {"Retry-After": str(refusal.retry_after), **ratelimit_headers(rate)}
    return JSONResponse(body, status_code=429, headers=headers)
