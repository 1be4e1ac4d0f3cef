"""Prometheus metrics of one app: search latency and results per experiment/variant, events, errors by code.

Each app gets its own `CollectorRegistry`, so several apps in one process (tests) never collide.
With several uvicorn workers a scrape reaches one worker only; in prometheus multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR` set before `prometheus_client` is imported, which `vsx serve --workers N` does)
every worker writes its samples to files in that folder and `/metrics` aggregates all of them.
The event-sink counters are gauges mirrored from `sink.counters()` — by requests at most every `MIRROR_INTERVAL_S`,
by a scrape of this worker at once (`livesum`: summed over live workers; a worker that shuts down cleanly removes
its gauge files, one that crashes leaves its last values until the folder is cleared, which `vsx serve` does at
start).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MIRROR_INTERVAL_S = 0.25
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The metric objects a request updates, and the text a scrape returns."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, multiproc_dir: Path | None = None) -> None:
        self._multiproc_dir = multiproc_dir
        self.registry = CollectorRegistry()
        self.search_latency = Histogram(
            "vsx_search_latency_seconds",
            "Server-side /v1/search latency (decode, assign, search, log), per experiment and variant",
            ["experiment", "variant"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.results = Counter(
            "vsx_search_results", "Results returned", ["experiment", "variant"], registry=self.registry
        )
        self.searches = Counter(
            "vsx_searches", "Searches served, by status", ["experiment", "variant", "status"], registry=self.registry
        )
        self.events = Gauge(
            "vsx_events",
            "Event sink counters (logged, sent, spooled, dropped, replayed, dead_letters)",
            ["state"],
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.errors = Counter("vsx_http_errors", "Error responses, by error code", ["code"], registry=self.registry)
        self._children: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}
        self._event_gauges: dict[str, Any] = {}
        self._mirrored_at = -MIRROR_INTERVAL_S

    def search_served(self, experiment: str, variant: str, status: str, seconds: float, results: int) -> None:
        """Count one served search of a variant: latency, results returned, searches by status.

        The labelled children are looked up once per (experiment, variant, status): `labels()` is Python code
        a search would otherwise call three times per experiment it counts in (BENCHMARKS.md, "Serving")."""
        key = (experiment, variant, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.search_latency.labels(experiment, variant),
                self.results.labels(experiment, variant),
                self.searches.labels(experiment, variant, status),
            )
        latency, returned, searches = children
        latency.observe(seconds)
        returned.inc(results)
        searches.inc()

    def mirror_sink(self, counters: Callable[[], Mapping[str, int]], *, now: bool = False) -> None:
        """Copy the sink's counters into the `vsx_events` gauge: at most every `MIRROR_INTERVAL_S` from the
        request path (a sink's counters lag their events anyway), at once with `now` (a scrape)."""
        tick = time.monotonic()
        if not now and tick - self._mirrored_at < MIRROR_INTERVAL_S:
            return
        self._mirrored_at = tick
        for state, value in counters().items():
            gauge = self._event_gauges.get(state)
            if gauge is None:
                gauge = self._event_gauges[state] = self.events.labels(state=state)
            gauge.set(value)

    def render(self) -> bytes:
        """The exposition text: this app's registry, or every worker's samples in multiprocess mode."""
        if self._multiproc_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self._multiproc_dir))
        return generate_latest(registry)

    def close(self) -> None:
        """On worker shutdown: drop this process's live gauges from the multiprocess folder."""
        if self._multiproc_dir is not None:
            mark_process_dead(os.getpid(), str(self._multiproc_dir))
