"""Refuse a request whose declared `Content-Length` is over its route's limit, before reading any of it.

FastAPI's own `max_body_size` (set per router in `create_app`) bounds every body, including chunked ones without
a length, and its error reaches our handlers; but a *declared* oversize is answered by Starlette with a plain-text
413 that bypasses them. This guard answers that case first, in the API's JSON error shape.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from serving.errors import count_error, error_response


class ContentLengthGuard:
    """Pure ASGI middleware: `path_limits` maps exact paths to byte limits, others get `default_limit`."""

    def __init__(self, app: ASGIApp, *, default_limit: int, path_limits: Mapping[str, int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.path_limits = dict(path_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            limit = self.path_limits.get(scope["path"].rstrip("/"), self.default_limit)
            if declared.isdigit() and int(declared) > limit:
                count_error(scope["app"], "request_too_large")
                response = error_response(
                    "request_too_large", f"the body is {declared} bytes; this endpoint takes at most {limit}", 413
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
