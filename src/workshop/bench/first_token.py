"""Time to first token: how long a streamed call takes to bring its first event, seen from the client.

A streamed chat is judged by how soon its first words show, not by when it ends. The time measured here
runs from sending the request to reading the first server-sent event that carries data (`data: …`):
the response's status and headers alone are not a token (Starlette sends them before the first chunk).

One call at a time, on one kept-alive HTTP/1.1 connection per target, with the standard library's
`http.client`: it costs tens of microseconds a call, so the times are the servers'. The caller
alternates targets call by call, so whatever else the machine does at a moment slows each alike.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

FIRST_EVENT = b"data:"


@dataclass(kw_only=True)
class StreamedCall:
    """One streamed call, prepared once and sent again and again on a kept-alive connection."""

    url: str
    body: object
    headers: Mapping[str, str] = field(default_factory=dict)
    _connection: http.client.HTTPConnection | None = field(default=None, init=False, repr=False)

    def first_token_seconds(self) -> float:
        """Sends the call; returns the seconds until its first data event. Reads the rest, so the
        connection is ready for the next call (and the server has finished this one)."""
        parts = urlsplit(self.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        if self._connection is None:
            self._connection = http.client.HTTPConnection(parts.netloc, timeout=30)
        headers = {"content-type": "application/json", **self.headers}
        started = time.perf_counter()
        self._connection.request("POST", target, json.dumps(self.body).encode(), headers)
        response = self._connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"POST {self.url}: HTTP {response.status}: {response.read()[:300]!r}")
        received = b""
        while FIRST_EVENT not in received:
            chunk = response.read1(65536)  # whatever has arrived, up to the chunk's end
            if not chunk:
                raise RuntimeError(f"POST {self.url}: the stream ended without a data event: {received!r}")
            received += chunk
        first_token = time.perf_counter() - started
        response.read()
        return first_token

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
