"""Errors raised by `serving`, and the one place where errors become HTTP status codes.

Every error response has the body `{"error": {"code": ..., "message": ...}}` (plus `"errors": [...]` when there
are several problems, e.g. an invalid experiment config or several invalid fields). `code` is the exception's
class name in snake_case without the `Error` suffix (`UnknownImageError` → `unknown_image`), so it cannot drift
from the class. An unexpected exception is logged with its traceback and answered with a bare 500: a client
never sees a traceback.

Children also inherit the builtin they refine (e.g. `ValueError`), so callers may catch either.
The `vsx` command line turns any `ServingError` into a one-line message and exit code 2.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from experiments.errors import UnknownExperimentError
from search_core.errors import (
    ImageConflictError,
    ImageTooLargeError,
    IndexBackendError,
    IndexInputError,
    IndexUpdateError,
    InvalidImageError,
    UnknownClassError,
    UnknownImageError,
    UnknownIndexItemError,
)
from serving.models import UNION_TAGS

if TYPE_CHECKING:  # fastapi is slow to import; the `vsx` command line imports this module for ServingError
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError

logger = logging.getLogger(__name__)


class ServingError(Exception):
    """Base of every expected error raised by `serving`."""


class InvalidServingConfigError(ServingError, ValueError):
    """The experiments or artifacts cannot be served; `errors` lists every problem found, not just the first."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class MalformedJsonError(ServingError, ValueError):
    """A body that should be JSON does not parse."""


class UnsupportedMediaTypeError(ServingError, ValueError):
    """A body in a content type this endpoint does not take."""


class BatchTooLargeError(ServingError, ValueError):
    """An event batch with more events than the configured maximum."""


class InvalidClientTimeError(ServingError, ValueError):
    """An `X-Vsx-Time` header (simulation only) that is not an ISO 8601 time with a timezone."""


class InvalidClientRequestIdError(ServingError, ValueError):
    """An `X-Vsx-Request-Id` header (simulation only) that is not a UUID."""


class ForeignRequestError(ServingError, PermissionError):
    """A click or dwell report about a search this process served to another user."""


class InvalidAttributesError(ServingError, ValueError):
    """`X-Attr-*` headers beyond the event schema's bounds: too many, a name or value too long, a bad name."""


class AdminDisabledError(ServingError, PermissionError):
    """The admin endpoints are off because no admin token is configured."""


class UnauthorizedError(ServingError, PermissionError):
    """A missing or wrong admin bearer token."""


class ReportFailedError(ServingError, RuntimeError):
    """An experiment that exists cannot be analysed now (no users yet, its event store unreachable)."""


class ReportsUnavailableError(ServingError, RuntimeError):
    """This server was started without a reports folder or an analysis to refresh it."""


ERROR_STATUS: dict[type[Exception], int] = {
    MalformedJsonError: 400,
    UnauthorizedError: 401,
    AdminDisabledError: 403,
    ForeignRequestError: 403,
    UnknownExperimentError: 404,
    UnknownImageError: 404,
    UnknownIndexItemError: 404,
    ImageConflictError: 409,
    IndexUpdateError: 409,
    BatchTooLargeError: 413,
    ImageTooLargeError: 413,
    UnsupportedMediaTypeError: 415,
    InvalidImageError: 422,
    IndexInputError: 422,
    UnknownClassError: 422,
    InvalidClientTimeError: 422,
    InvalidClientRequestIdError: 422,
    InvalidServingConfigError: 422,
    ReportFailedError: 409,
    ReportsUnavailableError: 503,
    IndexBackendError: 503,
    InvalidAttributesError: 431,
}
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def error_code(exc_type: type[BaseException]) -> str:
    """`UnknownImageError` → `unknown_image`."""
    return _CAMEL.sub("_", exc_type.__name__.removesuffix("Error")).lower()


MAX_MESSAGE_CHARS = 500
MAX_ERRORS = 50
"""An error body echoes at most this many problems, each cut to MAX_MESSAGE_CHARS: a 0.9 MB body with 60,000
unknown keys must not earn a 2.4 MB answer, nor a 64 KB id a 64 KB message."""


def _capped(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else f"{text[: MAX_MESSAGE_CHARS - 30]}… ({len(text):,} characters)"


def error_body(code: str, message: str, errors: list[str] | None = None) -> dict[str, Any]:
    """`{"error": {"code", "message"[, "errors"]}}`, with what it echoes capped (MAX_ERRORS, MAX_MESSAGE_CHARS)."""
    body: dict[str, Any] = {"code": code, "message": _capped(message)}
    if errors:
        body["errors"] = [_capped(e) for e in errors[:MAX_ERRORS]]
        if len(errors) > MAX_ERRORS:
            body["errors"].append(f"… and {len(errors) - MAX_ERRORS:,} more")
    return {"error": body}


def error_response(
    code: str, message: str, status: int, errors: list[str] | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    content = orjson.dumps(error_body(code, message, errors))
    return Response(content, status_code=status, headers=headers, media_type="application/json")


def _location(loc: tuple[Any, ...]) -> str:
    """`("body", "batch", "events", 0, "click", "position")` → `events.0.position`: union tags are noise."""
    where = [str(p) for p in loc if p not in UNION_TAGS and (p != "body" or len(loc) == 1)]
    return ".".join(where) or "body"


def validation_messages(errors: list[dict[str, Any]]) -> list[str]:
    """Pydantic/FastAPI error dicts as `location: message` lines (`header.x-user-id: Field required`)."""
    return [f"{_location(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in errors]


def _on_expected(request: Request, exc: Exception, *, status: int) -> Response:
    errors = getattr(exc, "errors", None)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    count_error(request.app, error_code(type(exc)))
    return error_response(
        error_code(type(exc)), str(exc), status, errors if isinstance(errors, list) else None, headers
    )


def _on_validation(request: Request, exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        count_error(request.app, "malformed_json")
        return error_response("malformed_json", "the body is not valid JSON", 400)
    messages = validation_messages(errors)
    count_error(request.app, "invalid_request")
    return error_response("invalid_request", messages[0] if messages else "invalid request", 422, messages)


def _on_http(request: Request, exc: StarletteHTTPException) -> Response:
    code = HTTP_CODES.get(exc.status_code, "http_error")
    count_error(request.app, code)
    return error_response(code, str(exc.detail), exc.status_code, headers=exc.headers)


def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this response is sent, so the server logs the traceback; one line here says where.
    logger.error("unhandled %s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    count_error(request.app, "internal")
    return error_response("internal", "internal server error", 500)


def count_error(app: Any, code: str) -> None:
    """Count an error response in the app's metrics (`vsx_http_errors_total{code=...}`)."""
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        metrics.errors.labels(code=code).inc()


def install_error_handlers(app: FastAPI) -> None:
    """Map every expected error to its status; Starlette picks the handler of the most specific class."""
    from fastapi.exceptions import RequestValidationError

    handlers: dict[type[Exception], Callable[..., Any]] = {
        exc_type: partial(_on_expected, status=status) for exc_type, status in ERROR_STATUS.items()
    }
    handlers[RequestValidationError] = _on_validation
    handlers[StarletteHTTPException] = _on_http
    handlers[Exception] = _on_unexpected
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
