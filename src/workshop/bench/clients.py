"""How the load generator's virtual clients send a request and judge its answer.

By default each client holds one keep-alive HTTP/1.1 connection and speaks raw HTTP over asyncio streams,
because an HTTP client library would cost more CPU per request than the app under test, on the same
cores. `--client httpx` and `--client aiohttp` use those libraries instead, to measure what the libraries
themselves cost.

Every client sends the same `Request` again and again: a POST with a JSON body (a chat), or a GET (a
read, such as `GET /v1/usage?limit=5`). An answer is right when it is a 200 whose body carries the
request's `expect` bytes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

Client = Literal["raw", "httpx", "aiohttp"]
Method = Literal["GET", "POST"]
Send = Callable[[], Awaitable[str | None]]
"""Sends one request and judges its answer: None when it was right, else what was wrong ("HTTP 500")."""

CHAT_BODY = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}
EXPECTED_REPLY = b"You said: Hello"  # the fake upstream's answer, which every right answer carries


@dataclass(frozen=True, kw_only=True)
class Request:
    """What every virtual client sends, again and again, and what each right answer carries."""

    url: str
    method: Method = "POST"
    body: bytes = b""
    """Sent with a POST, as JSON; a GET sends none."""
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: bytes = EXPECTED_REPLY
    """Bytes that every right answer's body contains."""


@asynccontextmanager
async def open_senders(
    client: Client, request: Request, concurrency: int
) -> AsyncIterator[Callable[[], Send]]:
    """Yields a factory of one `send` per virtual client, for the chosen HTTP client."""
    headers = dict(request.headers)
    if request.method == "POST":
        headers = {"content-type": "application/json", **headers}
    method, url, body, expect = request.method, request.url, request.body, request.expect
    if client == "raw":
        prepared = _prepared(request.method, url, body, headers)
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        yield lambda: _RawConnection(host, port, prepared, expect).send
    elif client == "httpx":
        import httpx

        # Room for every client at once, and a kept-alive connection for each, so the pool never waits.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=None) as httpx_client:

            async def send_with_httpx() -> str | None:
                content = body if method == "POST" else None
                response = await httpx_client.request(method, url, content=content, headers=headers)
                return judge(response.status_code, response.content, expect)

            yield lambda: send_with_httpx
    else:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout()
        ) as aiohttp_client:

            async def send_with_aiohttp() -> str | None:
                data = body if method == "POST" else None
                async with aiohttp_client.request(method, url, data=data, headers=headers) as response:
                    return judge(response.status, await response.read(), expect)

            yield lambda: send_with_aiohttp


def judge(status: int, body: bytes, expect: bytes = EXPECTED_REPLY) -> str | None:
    """None for a right answer: a 200 carrying `expect`. Else what was wrong with it: the status, and the
    `detail` of a JSON error body, so that two 503s with different causes are counted apart
    (`HTTP 503: The database is busy; try again in a moment.`)."""
    if status != 200:
        detail = _detail(body)
        return f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
    return None if expect in body else "a 200 without the expected body"


def _detail(body: bytes, longest: int = 100) -> str | None:
    """FastAPI's `{"detail": "…"}`, when it is a short text (a validation error's is a list: not shown)."""
    if not body.startswith(b"{") or len(body) > 2 * longest:
        return None
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return None
    return detail if isinstance(detail, str) and len(detail) <= longest else None


def _prepared(method: Method, url: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The request's bytes as they go on the wire: request line (with the query), headers, body."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    head = f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
        return f"{head}\r\n".encode() + body
    return f"{head}\r\n".encode()


class _RawConnection:
    """A keep-alive HTTP/1.1 connection that sends one prepared request, again and again."""

    def __init__(self, host: str, port: int, request: bytes, expect: bytes) -> None:
        self._host, self._port, self._request, self._expect = host, port, request, expect
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self) -> str | None:
        try:
            if self._reader is None or self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            self._writer.write(self._request)
            status, body, keep_alive = await _read_response(self._reader)
        except BaseException:
            self.close()  # whatever happened, the connection is in an unknown state
            raise
        if not keep_alive:
            self.close()
        return judge(status, body, self._expect)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection stays open. Only Content-Length bodies: what apps send."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError(f"no Content-Length in the response: {headers}")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, body, headers.get("connection", "").lower() != "close"
