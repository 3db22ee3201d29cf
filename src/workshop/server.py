"""Serve an ASGI app under a real uvicorn, in a background thread, on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn


@contextmanager
def serve_in_thread(
    app: Any, *, lifespan: Literal["on", "off"] = "on", graceful_shutdown_seconds: float = 2
) -> Iterator[str]:
    """Yields the server's base URL; stops the server (and runs the app's shutdown) on exit.

    On exit uvicorn waits for requests in flight up to `graceful_shutdown_seconds`, then cancels them."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # port 0: the OS picks a free port
    host, port = sock.getsockname()
    config = uvicorn.Config(
        app,
        lifespan=lifespan,
        log_level="warning",
        # Typed as an int, used as asyncio.wait_for's timeout: any number of seconds works.
        timeout_graceful_shutdown=graceful_shutdown_seconds,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start; see the log above")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
