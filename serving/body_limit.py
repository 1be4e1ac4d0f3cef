"""Refuse a request whose declared `Content-Length` is over its route's limit, and make sure every client reads
the answer to a request whose body was not read.

FastAPI's own `max_body_size` (set per router in `create_app`) bounds every body, including chunked ones without
a length, and its error reaches our handlers; but a *declared* oversize is answered by Starlette with a plain-text
413 that bypasses them. This guard answers that case first, in the API's JSON error shape.

An answer sent before the body was read (that 413, a 415, a 401 ...) used to reach only some clients: one that
sends `Connection: close` (Python's `urllib`) or whose body outruns the server's buffer has the connection closed
on unread bytes, and the kernel answers those with a reset, which the client reports instead of the response.
So before a response starts, whatever is left of the body is read and thrown away, up to
`ServingLimits.max_discard_bytes` and `DISCARD_TIMEOUT_S`; past either bound the response goes out anyway (and
such a client may still see a reset). A client that sent `Expect: 100-continue` and no body yet is not asked for
it: it reads the response before sending anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import count_error, error_response

DISCARD_TIMEOUT_S = 10.0
"""Longest wait for the rest of a body nobody will read."""


class ContentLengthGuard:
    """Pure ASGI middleware: `path_limits` maps exact paths to byte limits, others get `default_limit`."""

    def __init__(
        self, app: ASGIApp, *, default_limit: int, path_limits: Mapping[str, int], max_discard_bytes: int
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.path_limits = dict(path_limits)
        self.max_discard_bytes = max_discard_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if not (declared not in ("", "0") or "transfer-encoding" in headers):
            await self.app(scope, receive, send)  # no body: nothing can be left unread
            return
        body = _BodyTracker(receive, self.max_discard_bytes, headers.get("expect", "").lower() == "100-continue")
        limit = self.path_limits.get(scope["path"].rstrip("/"), self.default_limit)
        if declared.isdigit() and int(declared) > limit:
            count_error(scope["app"], "request_too_large")
            response = error_response(
                "request_too_large", f"the body is {declared} bytes; this endpoint takes at most {limit}", 413
            )
            await body.discard_rest()
            await response(scope, receive, send)
            return

        async def send_after_body(message: Message) -> None:
            if message["type"] == "http.response.start":
                await body.discard_rest()
            await send(message)

        await self.app(scope, body.receive, send_after_body)


class _BodyTracker:
    """Wraps `receive` to know whether the body was read to its end, and reads the rest when asked."""

    def __init__(self, receive: Receive, max_discard_bytes: int, expects_continue: bool) -> None:
        self._receive = receive
        self._max_discard = max_discard_bytes
        self._expects_continue = expects_continue
        self._started = False
        self._done = False

    async def receive(self) -> Message:
        message = await self._receive()
        self._note(message)
        return message

    def _note(self, message: Message) -> None:
        if message["type"] == "http.request":
            self._started = True
            self._done = not message.get("more_body", False)
        else:  # http.disconnect
            self._done = True

    async def discard_rest(self) -> None:
        if self._done or (self._expects_continue and not self._started):
            return
        discarded = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DISCARD_TIMEOUT_S):
                while not self._done and discarded <= self._max_discard:
                    message = await self._receive()
                    self._note(message)
                    discarded += len(message.get("body", b""))
