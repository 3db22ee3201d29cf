"""Writing one usage row per proxied call, with its outcome, tokens and latency."""

import time

from sqlalchemy import Engine

from app.db.usage import insert_usage
from app.schemas import Usage

NO_USAGE = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)


class UsageMeter:
    """Starts timing when made; `record()` writes the row once the call has ended."""

    def __init__(self, engine: Engine, model: str, *, streamed: bool) -> None:
        self._engine = engine
        self._model = model
        self._streamed = streamed
        self._started = time.perf_counter()

    def record(self, status_code: int, usage: Usage | None = None) -> None:
        latency_ms = round((time.perf_counter() - self._started) * 1000)
        usage = usage or NO_USAGE
        # A connection only for this insert: none is held while the upstream thinks.
        with self._engine.begin() as conn:
            insert_usage(
                conn,
                model=self._model,
                streamed=self._streamed,
                status_code=status_code,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
                latency_ms=latency_ms,
            )
