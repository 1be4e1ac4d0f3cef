"""Turn a served search or a client's click/dwell report into event_logging events.

A user in experiments of several layers is exposed to each of them by the same request, and each experiment's
analysis reads only rows tagged with its name. So every event is written once per assignment ("fan-out"); the
copies get event ids derived from the base id with uuid5(base, experiment), so a client retrying a click with
the same `event_id` still produces the same ids and analysis dedupes them. A user in no experiment gets one
copy tagged experiment "" / variant "default", or variant "holdout" when the global holdout kept them out of
every experiment (the schema's convention: the holdout report compares those users with the exposed ones).

An interleaved search (`Teams`) records each result's team on the impressions of the interleaving
experiment's copy only; the copies for other layers' experiments leave `team` empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from event_logging.schema import BaseEvent, ClickEvent, DwellEvent, ImpressionEvent, SearchEvent
from experiments.assign import Assignment
from search_core.hits import Hit
from search_core.interleaving import Team
from serving.models import ClickIn, DwellIn
from serving.recent_requests import ServedRequest


@dataclass(frozen=True)
class Exposure:
    """The experiment fields every event of a request carries."""

    experiment: str = ""
    variant: str = "default"
    layer: str = ""
    salt: str = ""
    hash_version: int = 0


@dataclass(frozen=True)
class Teams:
    """Which interleaving team ("A" = control's ranker, "B" = the other) placed each shown result, in order."""

    experiment: str
    teams: tuple[ShownTeam, ...]


ShownTeam = Team | Literal[""]
"""The team an impression records: "" for A/B traffic."""

HOLDOUT = Exposure(variant="holdout")


def exposures(assignments: Sequence[Assignment], *, held_out: bool = False) -> tuple[Exposure, ...]:
    """One exposure per assignment, or the holdout's or the default one outside every experiment."""
    found = tuple(Exposure(a.experiment, a.variant, a.layer, a.salt, a.hash_version) for a in assignments)
    return found or ((HOLDOUT if held_out else Exposure()),)


def _event_ids(base: uuid.UUID, tags: tuple[Exposure, ...]) -> list[uuid.UUID]:
    if len(tags) == 1:
        return [base]
    return [uuid.uuid5(base, tag.experiment) for tag in tags]


def search_event_count(tags: Sequence[Exposure], hits: Sequence[Hit]) -> int:
    """How many events `search_events` builds for these tags and hits (announced to a deferred sink)."""
    return len(tags) * (1 + len(hits))


def search_events(
    *,
    request_id: uuid.UUID,
    user_id: str,
    query_image_id: str,
    tags: tuple[Exposure, ...],
    hits: Sequence[Hit],
    latency_ms: float,
    status_code: int,
    ts: datetime,
    teams: Teams | None = None,
    attributes: Mapping[str, str] | None = None,
) -> list[BaseEvent]:
    """The `search` event (the exposure, with salt, hash version and the user's attributes) and one `impression`
    per shown result."""
    common: dict[str, Any] = {
        "ts": ts,
        "request_id": str(request_id),
        "user_id": user_id,
        "query_image_id": query_image_id,
    }
    events: list[BaseEvent] = []
    no_teams: tuple[ShownTeam, ...] = tuple("" for _ in hits)
    for tag in tags:
        scope: dict[str, Any] = {**common, "experiment": tag.experiment, "variant": tag.variant}
        events.append(
            SearchEvent(
                **scope,
                latency_ms=latency_ms,
                result_count=len(hits),
                status_code=status_code,
                layer=tag.layer,
                salt=tag.salt,
                hash_version=tag.hash_version,
                attributes=dict(attributes or {}),
            )
        )
        shown_teams = teams.teams if teams is not None and teams.experiment == tag.experiment else no_teams
        events.extend(
            ImpressionEvent(**scope, result_image_id=hit.image_id, position=position, score=hit.score, team=team)
            for position, (hit, team) in enumerate(zip(hits, shown_teams, strict=True), start=1)
        )
    return events


def feedback_events(
    body: ClickIn | DwellIn, *, event_id: uuid.UUID, user_id: str, served: ServedRequest | None, ts: datetime
) -> list[BaseEvent]:
    """The click or dwell event(s) for one client report; the server's record of the request wins over the body's,
    and `attribution` says which one the event carries. The caller has checked that `served` is this user's."""
    if served is not None:
        tags = exposures(served.assignments, held_out=served.held_out)
        query_image_id = served.query_image_id
        attribution = "server"
    else:
        tags = (Exposure(experiment=body.experiment or "", variant=body.variant or "default"),)
        query_image_id = body.query_image_id or ""
        attribution = "client"  # nothing vouches for these fields (schema version 3 marks them for analysis)
    common: dict[str, Any] = {
        "ts": ts,
        "request_id": str(body.request_id),
        "user_id": user_id,
        "query_image_id": query_image_id,
        "result_image_id": body.result_image_id,
        "position": body.position,
        "attribution": attribution,
    }
    ids = _event_ids(event_id, tags)
    if isinstance(body, DwellIn):
        return [
            DwellEvent(**common, event_id=eid, experiment=t.experiment, variant=t.variant, dwell_ms=body.dwell_ms)
            for eid, t in zip(ids, tags, strict=True)
        ]
    return [
        ClickEvent(**common, event_id=eid, experiment=t.experiment, variant=t.variant)
        for eid, t in zip(ids, tags, strict=True)
    ]
