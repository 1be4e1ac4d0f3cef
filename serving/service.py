"""The request path behind the routes: assign the user, search with the served variant, log what was shown.

Logging goes through an event_logging `EventSink`, which only enqueues (a broker or store outage never fails or
slows a search); a search's events are even built on the sink's thread (`log_deferred`) from values fixed here.
Only searches that reached a variant's engine are logged: a body that is not an image or names an unknown image
fails before the variant matters, so it is no exposure; an engine failure is logged with status 500, which is
what the error-rate guardrail reads.

A user in an interleaving experiment gets both of its rankers' results merged by team-draft interleaving
(`search_core.interleaving`, coin flips seeded by the request id, so a replay reproduces the list); team A is
the experiment's control, team B its other variant, and that experiment's impressions record the team.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial

import numpy as np

from event_logging.sink import EventSink
from experiments.assign import (
    Assignment,
    InterleavedRankers,
    ServedVariant,
    assign,
    in_holdout,
    interleaved_rankers,
    resolve,
)
from search_core.hits import Hit
from search_core.images import decode_image
from search_core.interleaving import team_draft_interleave
from serving.config import ServingLimits
from serving.errors import BatchTooLargeError, ForeignRequestError
from serving.event_factory import (
    Exposure,
    Teams,
    exposures,
    feedback_events,
    search_event_count,
    search_events,
)
from serving.metrics import Metrics
from serving.models import ClickIn, DwellIn
from serving.query_body import QueryBody
from serving.recent_requests import RecentRequests, ServedRequest
from serving.registry import ServingState, VariantRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchOutcome:
    """What one search served, and the configuration (`state`) it was served from."""

    state: ServingState
    request_id: uuid.UUID
    assignments: tuple[Assignment, ...]
    query_image_id: str | None
    hits: Sequence[Hit]
    latency_ms: float
    rankers: tuple[ServedVariant, ...] = ()
    """The configurations whose results were served: one, or an interleaving experiment's two (team A, team B)."""
    held_out: bool = False


INLINE_BELOW_MS = 5.0
"""A catalog-image search whose typical cost is below this runs on the event loop (see `runs_inline`)."""
_TYPICAL_WEIGHT = 0.05


class SearchService:
    """Shared by every request of one app; thread-safe (searches run in the thread pool or on the loop)."""

    def __init__(self, registry: VariantRegistry, sink: EventSink, metrics: Metrics, limits: ServingLimits) -> None:
        self.registry = registry
        self.sink = sink
        self.metrics = metrics
        self.limits = limits
        self.recent = RecentRequests(limits.request_cache_size)
        self.typical_ms: float | None = None  # moving average of this process's search latency

    def runs_inline(self, query: QueryBody) -> bool:
        """Whether a search can run on the event loop instead of hopping to the thread pool.

        The hop (thread wake-up, GIL hand-over, the loop woken through its self-pipe) costs a sizeable share of a
        small-encoder search (BENCHMARKS.md, "Serving"). Inline, the loop is blocked for the search, so only
        searches known to be short qualify: a catalog image (no decode of an untrusted upload) while this
        process's searches average under `INLINE_BELOW_MS`. The first searches, and every search of a slow (e.g.
        ResNet) configuration, go to the pool, where health checks and event posts never wait behind them.
        """
        return query.upload is None and self.typical_ms is not None and self.typical_ms < INLINE_BELOW_MS

    def search(
        self,
        query: QueryBody,
        *,
        user_id: str,
        attributes: Mapping[str, str],
        now: datetime | None = None,
        request_id: uuid.UUID | None = None,
    ) -> SearchOutcome:
        """Decode an upload or check a catalog id, then search with the user's variant; blocking (CPU-bound).

        `now` (simulated time) sets the event timestamps and which experiments are inside their window;
        `request_id` (a simulator's own) replaces the fresh random one.
        """
        started = time.perf_counter()
        state = self.registry.current
        pixels: Callable[[], np.ndarray]
        if query.upload is not None:
            upload = decode_image(
                query.upload, max_bytes=self.limits.max_upload_bytes, max_pixels=self.limits.max_pixels
            )
            pixels = partial(np.asarray, upload)  # the decoded upload itself
        elif query.image_id is not None:
            state.catalog.positions([query.image_id])  # an unknown id fails here, before any variant matters
            pixels = cache(partial(state.catalog.image, query.image_id))  # read only if an index lacks the id
        else:
            raise AssertionError("QueryBody holds an image id or an upload")  # read_query guarantees one
        assignments = tuple(assign(state.experiments, user_id, attributes, now=now))
        held_out = not assignments and in_holdout(state.experiments, user_id)
        served = resolve(state.experiments, assignments)
        rankers = interleaved_rankers(state.experiments, assignments)
        request_id = request_id or uuid.uuid4()
        tags = exposures(assignments, held_out=held_out)
        k = query.k or served.k
        teams: Teams | None = None
        try:
            if rankers is None:
                hits = _run(state, served, pixels, k, query.image_id)
            else:
                hits, teams = _interleave(state, rankers, pixels, k, query.image_id, request_id)
        except Exception:
            self._log_search(request_id, user_id, query.image_id, tags, [], started, now, 500, attributes=attributes)
            raise
        latency_ms = self._log_search(
            request_id, user_id, query.image_id, tags, hits, started, now, 200, teams=teams, attributes=attributes
        )
        typical = self.typical_ms  # a lost update between threads only delays the average by one sample
        self.typical_ms = latency_ms if typical is None else typical + _TYPICAL_WEIGHT * (latency_ms - typical)
        self.recent.remember(request_id, ServedRequest(user_id, query.image_id or "", assignments, held_out))
        served_by = (served,) if rankers is None else (rankers.team_a, rankers.team_b)
        return SearchOutcome(state, request_id, assignments, query.image_id, hits, latency_ms, served_by, held_out)

    def _log_search(
        self,
        request_id: uuid.UUID,
        user_id: str,
        query_image_id: str | None,
        tags: tuple[Exposure, ...],
        hits: Sequence[Hit],
        started: float,
        now: datetime | None,
        status_code: int,
        teams: Teams | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> float:
        latency_ms = (time.perf_counter() - started) * 1000
        build = partial(
            search_events,
            request_id=request_id,
            user_id=user_id,
            query_image_id=query_image_id or "",
            tags=tags,
            hits=hits,
            latency_ms=latency_ms,
            status_code=status_code,
            ts=now or datetime.now(UTC),
            teams=teams,
            attributes=attributes,
        )
        self.sink.log_deferred(build, search_event_count(tags, hits))  # the sender thread builds them
        for tag in tags:
            self.metrics.search_served(tag.experiment, tag.variant, str(status_code), latency_ms / 1000, len(hits))
        self.metrics.mirror_sink(self.sink.counters)
        return latency_ms

    def record(
        self, reports: Sequence[ClickIn | DwellIn], *, user_id: str, now: datetime | None = None
    ) -> list[uuid.UUID]:
        """Log click/dwell reports; returns each report's event id (the client's, or a new one).

        A report about a request this process served to another user is refused (`ForeignRequestError`, 403):
        it would credit that user's assignment with this user's click. A request it does not know (another
        worker's, or from before a restart) is taken on the report's word and marked `attribution="client"`.
        """
        if len(reports) > self.limits.max_batch:
            raise BatchTooLargeError(f"{len(reports)} events in one batch; at most {self.limits.max_batch} allowed")
        served = [self.recent.get(report.request_id) for report in reports]
        for report, request in zip(reports, served, strict=True):
            if request is not None and request.user_id != user_id:  # whole batch refused, like any invalid report
                raise ForeignRequestError(f"request {report.request_id} was served to another user")
        ts = now or datetime.now(UTC)
        ids = [report.event_id or uuid.uuid4() for report in reports]
        events = [
            event
            for report, event_id, request in zip(reports, ids, served, strict=True)
            for event in feedback_events(report, event_id=event_id, user_id=user_id, served=request, ts=ts)
        ]
        self.sink.log_many(events)
        self.metrics.mirror_sink(self.sink.counters)
        return ids


def _run(
    state: ServingState, served: ServedVariant, pixels: Callable[[], np.ndarray], k: int, query_image_id: str | None
) -> Sequence[Hit]:
    engine, params = state.engine(served), served.index_params or None
    if query_image_id is None:
        return engine.search(pixels(), k, params=params)
    return engine.search_catalog_image(query_image_id, pixels, k, params)


def _interleave(
    state: ServingState,
    rankers: InterleavedRankers,
    pixels: Callable[[], np.ndarray],
    k: int,
    query_image_id: str | None,
    request_id: uuid.UUID,
) -> tuple[list[Hit], Teams]:
    """Both rankers' top k merged into k results, each credited to the team whose list it was picked from."""
    lists = {
        "A": _run(state, rankers.team_a, pixels, k, query_image_id),
        "B": _run(state, rankers.team_b, pixels, k, query_image_id),
    }
    merged = team_draft_interleave(
        [h.image_id for h in lists["A"]], [h.image_id for h in lists["B"]], k, seed=str(request_id)
    )
    hits = [lists[item.team][item.source_rank - 1] for item in merged]
    return hits, Teams(rankers.experiment, tuple(item.team for item in merged))
