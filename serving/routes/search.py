"""`POST /v1/search`: a query image (catalog id as JSON, or an upload) in, the user's variant's results out."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from serving.deps import SearchInputsDep, UserId
from serving.event_factory import exposures
from serving.models import SearchResponse
from serving.query_body import SEARCH_BODY_OPENAPI, read_query
from serving.service import SearchOutcome

router = APIRouter(prefix="/v1/search", tags=["search"])


_URL_SAFE = re.compile(r"[A-Za-z0-9_.~/-]*").fullmatch
"""Characters `quote(..., safe="/")` leaves alone; ids made of them only (every Fashion-MNIST id) skip quoting."""


def image_url(image_id: str) -> str:
    """The image's URL; `quote` is Python code paid per result (BENCHMARKS.md, "Serving"), so only ids that need it
    pay."""
    return f"/v1/images/{image_id if _URL_SAFE(image_id) else quote(image_id, safe='/')}"


def search_payload(outcome: SearchOutcome) -> dict[str, Any]:
    """The `SearchResponse` body as plain data: our own values, so serialised by orjson without re-validation
    (building and re-checking the pydantic models is per-request work, BENCHMARKS.md "Serving"; `response_model`
    still documents the body)."""
    first = exposures(outcome.assignments, held_out=outcome.held_out)[0]
    return {
        "request_id": str(outcome.request_id),
        "experiment": first.experiment,
        "variant": first.variant,
        "assignments": [vars(a) for a in outcome.assignments],
        "query_image_id": outcome.query_image_id,
        "results": [
            {
                "image_id": hit.image_id,
                "score": float(hit.score),
                "position": position,
                "url": image_url(hit.image_id),
                "label": outcome.state.class_name(hit.image_id),
            }
            for position, hit in enumerate(outcome.hits, start=1)
        ],
        "latency_ms": round(outcome.latency_ms, 3),
        "rankers": [{"encoder": r.encoder, "index": r.index} for r in outcome.rankers],
    }


@router.post("", response_model=SearchResponse, openapi_extra=SEARCH_BODY_OPENAPI)
async def search(
    request: Request,
    user_id: UserId,
    inputs: SearchInputsDep,
) -> Response:
    """Search with the variant the user is assigned to; logs a `search` event and one `impression` per result.

    Targeting attributes come from `X-Attr-<name>` headers (`X-Attr-Platform: web`). The search runs in the
    thread pool — a CPU encoder may take tens of milliseconds, which must not stall health checks or events —
    unless it is known to be short (`SearchService.runs_inline`), when the hop would cost more than it saves.
    """
    service = inputs.service
    query = await read_query(request, service.limits.max_upload_bytes)
    context: dict[str, Any] = {
        "user_id": user_id,
        "attributes": inputs.attributes,
        "now": inputs.now,
        "request_id": inputs.request_id,
    }
    if service.runs_inline(query):
        outcome = service.search(query, **context)
    else:
        outcome = await run_in_threadpool(service.search, query, **context)
    return Response(orjson.dumps(search_payload(outcome)), media_type="application/json")
