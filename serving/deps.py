"""Dependencies the routes declare: the app's service and current state, the user id, targeting attributes.

All are `async def` although none awaits: FastAPI runs a plain `def` dependency in the thread pool, and a
thread hop per dependency costs far more than the work itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from event_logging.schema import TS_MAX, TS_MIN
from serving.attributes import parse_attributes
from serving.errors import InvalidClientRequestIdError, InvalidClientTimeError, UnsupportedMediaTypeError
from serving.query_body import is_json, media_type
from serving.registry import ServingState
from serving.service import SearchService

CLIENT_TIME_HEADER = "X-Vsx-Time"
CLIENT_REQUEST_ID_HEADER = "X-Vsx-Request-Id"


async def get_service(request: Request) -> SearchService:
    return request.app.state.service


async def get_state(request: Request) -> ServingState:
    """The configuration this request uses from start to end, even if a reload swaps it meanwhile."""
    return request.app.state.service.registry.current


async def request_attributes(request: Request) -> dict[str, str]:
    """Targeting attributes from `X-Attr-<name>: value` headers: `X-Attr-Platform: web` → {"platform": "web"}.

    Headers (not a JSON field) because they work the same for JSON and multipart searches; header names are
    case-insensitive, so attribute names are lower-cased and `-` becomes `_` (`X-Attr-App-Version` → app_version).
    Bounded as the search event that logs them (`serving.attributes`): beyond that, a 431 that says which header.
    """
    return parse_attributes(request.headers.items())


def _simulation_header(request: Request, name: str) -> str | None:
    """A header only a traffic simulator may set: its value when the server trusts the client, else None."""
    return request.headers.get(name) if request.app.state.config.trust_client_time else None


async def client_time(request: Request) -> datetime | None:
    """Simulated "now" from `X-Vsx-Time` when the server trusts client time (traffic simulation), else None.

    Refused (422) unless the event store can hold it (`event_logging.schema.TS_MIN`..`TS_MAX`) and, when
    `client_time_window` is set, it lies within that much of the server's clock.
    """
    raw = _simulation_header(request, CLIENT_TIME_HEADER)
    if raw is None:
        return None
    shown = repr(raw) if len(raw) <= 64 else f"{raw[:40]!r}…"
    try:
        now = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidClientTimeError(f"{CLIENT_TIME_HEADER} {shown} is not an ISO 8601 time") from None
    if now.tzinfo is None:
        raise InvalidClientTimeError(f"{CLIENT_TIME_HEADER} {shown} needs a timezone (e.g. +00:00)")
    try:
        now = now.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        raise InvalidClientTimeError(f"{CLIENT_TIME_HEADER} {shown} is outside the years 1-9999 in UTC") from None
    if not TS_MIN <= now <= TS_MAX:
        held = f"{TS_MIN:%Y-%m-%d} to {TS_MAX:%Y-%m-%d}"
        raise InvalidClientTimeError(f"{CLIENT_TIME_HEADER} {shown} is outside what the event store holds ({held})")
    window = request.app.state.config.client_time_window
    if window is not None and abs(now - datetime.now(UTC)) > window:
        raise InvalidClientTimeError(f"{CLIENT_TIME_HEADER} {shown} is more than {window} from the server's clock")
    return now


async def client_request_id(request: Request) -> uuid.UUID | None:
    """A simulator's request id from `X-Vsx-Request-Id` when the server trusts the client (see `client_time`).

    The simulator draws these from its own seeded generator, so interleaving's coin flips (seeded by the
    request id) repeat from run to run; otherwise every search gets a fresh random id.
    """
    raw = _simulation_header(request, CLIENT_REQUEST_ID_HEADER)
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidClientRequestIdError(f"{CLIENT_REQUEST_ID_HEADER} {raw!r} is not a UUID") from None


async def require_json(request: Request) -> None:
    """415 for a body that is not JSON (FastAPI would otherwise report it as a field type error)."""
    media = media_type(request)
    if not is_json(media):
        raise UnsupportedMediaTypeError(f"content type {media or '(none)'!r} is not accepted: send application/json")


@dataclass(frozen=True)
class SearchInputs:
    """What `/v1/search` reads from a request besides the user id and the body."""

    service: SearchService
    attributes: dict[str, str]
    now: datetime | None
    request_id: uuid.UUID | None


async def search_inputs(request: Request) -> SearchInputs:
    """The search route's inputs as one dependency: FastAPI's solving of each dependency is a measurable part of a
    search's framework overhead (BENCHMARKS.md, "Serving")."""
    return SearchInputs(
        await get_service(request),
        await request_attributes(request),
        await client_time(request),
        await client_request_id(request),
    )


ServiceDep = Annotated[SearchService, Depends(get_service)]
SearchInputsDep = Annotated[SearchInputs, Depends(search_inputs)]
StateDep = Annotated[ServingState, Depends(get_state)]
AttributesDep = Annotated[dict[str, str], Depends(request_attributes)]
ClientTimeDep = Annotated[datetime | None, Depends(client_time)]
UserId = Annotated[
    str,
    Header(
        alias="X-User-Id",
        min_length=1,
        max_length=256,
        description="stable id of the user (the experiment unit); the web UI keeps it in the `vsx_uid` cookie",
    ),
]
