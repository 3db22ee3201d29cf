"""Draining: what the app does between Cloud Run's SIGTERM and the SIGKILL that follows 10 s later.

uvicorn hears the signal too: it stops accepting connections, lets the requests in flight finish, and
after `--timeout-graceful-shutdown` cancels those still running; then the lifespan's shutdown runs. A
request that ends by itself within seconds is fine with that. A stream is not: an LLM can go on for a
minute, and one cancelled by the server ends without a word to its client. So the app listens for the
signal as well, and tells the streams to end now, each with a last event that says why
(app/llm.py), their usage recorded as for any other ending.
"""

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType

import aiohttp

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)  # Cloud Run's, and Ctrl-C's on a laptop


class ServerStopping(Exception):
    """Raised in a stream when draining starts: it is to end now."""


class Draining:
    """Whether the server has been told to stop; the upstream streams being read end at that moment."""

    def __init__(self) -> None:
        self._started = False
        self._upstreams: set[aiohttp.StreamReader] = set()

    def start(self) -> None:
        self._started = True
        for upstream in self._upstreams:
            # Its next read raises this, and a read waiting now is woken with it: even an LLM thinking
            # for seconds between two chunks is not waited for (the server has ten).
            upstream.set_exception(ServerStopping())

    @contextmanager
    def ending(self, upstream: aiohttp.StreamReader) -> Iterator[None]:
        """Within the block, draining ends the reading of `upstream` with `ServerStopping`."""
        if self._started:
            raise ServerStopping()  # a stream that would start now: there is no time left for it
        self._upstreams.add(upstream)
        try:
            yield
        finally:
            self._upstreams.discard(upstream)


@asynccontextmanager
async def draining_on_stop_signals() -> AsyncIterator[Draining]:
    """A `Draining` that starts when the process gets SIGTERM or SIGINT; the server still gets them."""
    draining = Draining()
    if threading.current_thread() is not threading.main_thread():
        yield draining  # only the main thread gets signals: a server run in a thread (tests) never drains
        return
    loop = asyncio.get_running_loop()
    server_handlers = {stop: signal.getsignal(stop) for stop in STOP_SIGNALS}  # uvicorn's, installed first

    def on_stop_signal(number: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(draining.start)  # the one asyncio call that is safe from a signal handler
        server_handler = server_handlers[signal.Signals(number)]
        if callable(server_handler):
            server_handler(number, frame)  # and the server stops as it would have without us

    for stop in STOP_SIGNALS:
        signal.signal(stop, on_stop_signal)
    try:
        yield draining
    finally:
        for stop, handler in server_handlers.items():
            signal.signal(stop, handler)
