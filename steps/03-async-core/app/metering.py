"""Writing one usage row per proxied call, with its outcome, tokens and latency."""

import time

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.usage import insert_usage
from app.schemas import Usage

NO_USAGE = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)


class UsageMeter:
    """Starts timing when made; `record()` writes the row once the call has ended."""

    def __init__(self, engine: AsyncEngine, model: str, *, streamed: bool) -> None:
        self._engine = engine
        self._model = model
        self._streamed = streamed
        self._started = time.perf_counter()

    async def record(self, status_code: int, usage: Usage | None = None) -> None:
        latency_ms = round((time.perf_counter() - self._started) * 1000)
        usage = usage or NO_USAGE
        # A connection only for this insert, taken once the upstream has answered. Awaiting the upstream
        # while holding one would park a pool slot for the whole call (a second or more of an LLM
        # thinking) doing nothing, and a handful of slow calls would starve every other request.
        async with self._engine.begin() as conn:
            await insert_usage(
                conn,
                model=self._model,
                streamed=self._streamed,
                status_code=status_code,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
                latency_ms=latency_ms,
            )
