"""`POST /v1/events`: click and dwell reports (one, or a batch) about results of an earlier search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from serving.deps import ClientTimeDep, ServiceDep, UserId, require_json
from serving.models import EventsAccepted, EventsBatch, EventsBody

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.post("", status_code=202, response_model=EventsAccepted, dependencies=[Depends(require_json)])
async def post_events(
    body: Annotated[EventsBody, Body()], user_id: UserId, now: ClientTimeDep, service: ServiceDep
) -> EventsAccepted:
    """Accept `{"event_type": "click"|"dwell", "request_id": ..., ...}` or `{"events": [...]}`; 202 once enqueued.

    A well-formed `request_id` this process did not serve is accepted (another worker may have); the body's
    `experiment`/`variant` then tag the event. `event_id` makes retries idempotent; the server sets `ts`.
    """
    reports = body.events if isinstance(body, EventsBatch) else [body]
    ids = service.record(reports, user_id=user_id, now=now)
    return EventsAccepted(accepted=len(ids), event_ids=ids)
