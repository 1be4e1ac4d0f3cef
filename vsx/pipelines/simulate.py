"""Traffic simulator: simulated users drive the real serving app over HTTP (or in-process via ASGI).

The simulator is a coroutine over an `httpx.AsyncClient`: `simulate_app` serves an app in this process and talks
to it through httpx's ASGI transport on one event loop — no socket and no thread hop per request, which Starlette's
TestClient pays several times a request (throughput of each: BENCHMARKS.md, "Simulated traffic") — and
`simulate_server` drives a running `vsx serve`. Searches go one at a time, so the seeded draws repeat exactly.

The simulator sees only what a browser would: it posts searches, reads the ranked results, and posts
click and dwell events. Relevance (same class as the query) is known to the simulator alone, through the
catalog labels, and shapes clicks through `ClickModel`. Simulated time is sent in the `X-Vsx-Time` header,
which the server honours only when started with `trust_client_time` (simulation), so events carry
simulated timestamps and the experiment's start date splits pre-period from experiment traffic. Request
ids (`X-Vsx-Request-Id`, honoured likewise) come from a seeded stream too, so interleaving experiments,
whose coin flips are seeded by the request id, repeat exactly; a second simulation with the same seed and
user prefix into the same store would reuse them — give it another seed.

Users have attributes (platform, country), drawn from a stream of their own and sent as `X-Attr-*` headers as a
browser would, so serving logs them on searches and analyses can segment by them; the click model may make a
variant's effect depend on the platform (`ClickModel.variant_effects`).

Queries are drawn from `traffic_ids` only — the catalog's training images (the gallery minus its validation
split), less any image an encoder under test was fine-tuned on — so neither the offline evaluation queries (test
split) nor the validation images ever appear in traffic, and click pairs cannot leak them into training.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp
from tqdm import tqdm

from serving.deps import CLIENT_REQUEST_ID_HEADER, CLIENT_TIME_HEADER
from vsx.errors import VsxError
from vsx.pipelines.click_model import ClickModel, TrafficPlan

logger = logging.getLogger(__name__)


PLATFORMS = {"web": 0.5, "ios": 0.3, "android": 0.2}
COUNTRIES = {"us": 0.4, "de": 0.2, "fr": 0.15, "jp": 0.15, "br": 0.1}


def user_attributes(users: int, seed: int, user_prefix: str) -> list[dict[str, str]]:
    """Each simulated user's platform and country, from a stream of their own: the other draws (schedule, queries,
    clicks) stay as they were without attributes, so earlier simulations repeat."""
    rng = random.Random(f"attributes/{seed}/{user_prefix}")
    return [
        {
            "platform": rng.choices(list(PLATFORMS), weights=list(PLATFORMS.values()))[0],
            "country": rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()))[0],
        }
        for _ in range(users)
    ]


class SimulationError(VsxError, RuntimeError):
    """The serving app refused simulated traffic (it answered with an error status)."""


@dataclass
class SimulationSummary:
    """What the simulator caused: the server logs one search + one impression per result; we post the rest."""

    users: int = 0
    searches: int = 0
    impressions: int = 0
    clicks: int = 0
    dwells: int = 0
    failed_requests: int = 0
    query_ids: set[str] = field(default_factory=set)
    by_variant: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.searches + self.impressions + self.clicks + self.dwells

    def count(self, variant: str, key: str, n: int = 1) -> None:
        row = self.by_variant.setdefault(variant, {"searches": 0, "impressions": 0, "clicks": 0})
        row[key] += n


@dataclass(frozen=True)
class _Search:
    ts: datetime
    user: int


def schedule(plan: TrafficPlan, start: datetime, rng: np.random.Generator) -> list[_Search]:
    """Search times of every user over pre_days + days, in time order.

    Per-user activity is Gamma-distributed (a few heavy users, many light ones); each day a user has a
    Poisson number of sessions, and after the first active day comes back with probability `return_rate`.
    """
    total_days = plan.pre_days + plan.days
    activity = rng.gamma(shape=1.0, scale=1.0, size=plan.users)
    searches: list[_Search] = []
    for user in range(plan.users):
        first_day = int(rng.integers(0, total_days))
        for day in range(first_day, total_days):
            if day > first_day and rng.random() > plan.return_rate:
                continue
            sessions = rng.poisson(plan.sessions_per_user_day * activity[user] * 2) + (day == first_day)
            for _ in range(sessions):
                at = start + timedelta(days=day, seconds=float(rng.uniform(0, 86_400)))
                n = 1 + rng.poisson(plan.searches_per_session - 1) if plan.searches_per_session > 1 else 1
                searches.extend(_Search(at + timedelta(seconds=30 * i), user) for i in range(n))
    searches.sort(key=lambda s: (s.ts, s.user))
    return searches


async def simulate(
    client: httpx.AsyncClient,
    *,
    traffic_ids: Sequence[str],
    label_of: Callable[[str], int],
    plan: TrafficPlan,
    start: datetime,
    model: ClickModel | None = None,
    user_prefix: str = "sim-user",
    k: int | None = None,
) -> SimulationSummary:
    """Run the plan against the app behind `client`; return counts of everything it caused."""
    model = model or ClickModel()
    rng = np.random.default_rng(plan.seed)
    # Request ids from a stream of their own (the other draws stay as they were): interleaving seeds its coin
    # flips with the request id, so seeded ids make an interleaving simulation repeat exactly.
    request_ids = random.Random(f"request-ids/{plan.seed}/{user_prefix}")
    traffic = np.asarray(traffic_ids)
    labels = np.asarray([label_of(i) for i in traffic])
    classes = np.unique(labels)
    by_class = {c: traffic[labels == c] for c in classes}
    # Users have tastes: each prefers a few classes (Dirichlet), so their queries are not uniform.
    taste = rng.dirichlet(np.full(len(classes), 0.5), size=plan.users)
    user_bias = rng.normal(0.0, model.user_bias_sd, size=plan.users)
    attributes = user_attributes(plan.users, plan.seed, user_prefix)
    summary = SimulationSummary()
    seen_users: set[int] = set()
    refusal = ""
    for search in tqdm(schedule(plan, start, rng), desc="simulating searches", unit="search", mininterval=1.0):
        user_id = f"{user_prefix}-{search.user:06d}"
        cls = classes[rng.choice(len(classes), p=taste[search.user])]
        query_id = str(rng.choice(by_class[cls]))
        body: dict[str, object] = {"image_id": query_id}
        if k is not None:
            body["k"] = k
        headers = {"X-User-Id": user_id, CLIENT_TIME_HEADER: search.ts.isoformat()}
        request_id = uuid.UUID(int=request_ids.getrandbits(128), version=4)
        attrs = attributes[search.user]
        user_headers = {f"X-Attr-{name.title()}": value for name, value in attrs.items()}
        resp = await client.post(
            "/v1/search", json=body, headers={**headers, **user_headers, CLIENT_REQUEST_ID_HEADER: str(request_id)}
        )
        if resp.status_code != 200:
            summary.failed_requests += 1
            refusal = f"/v1/search answered {resp.status_code}: {resp.text[:300]}"
            if summary.failed_requests > 10:
                raise SimulationError(refusal)
            continue
        seen_users.add(search.user)
        summary.query_ids.add(query_id)
        data = resp.json()
        results = data["results"]
        summary.searches += 1
        summary.impressions += len(results)
        summary.count(data["variant"], "searches")
        summary.count(data["variant"], "impressions", len(results))
        relevant = np.array([label_of(r["image_id"]) == label_of(query_id) for r in results], dtype=bool)
        effect = model.effect(data["variant"], attrs["platform"])
        clicked = (
            model.clicks(relevant, float(user_bias[search.user]), rng, effect) if len(results) else np.empty(0, int)
        )
        events = []
        at = search.ts
        for result, rel, hit in zip(results, relevant, clicked, strict=True):
            if not hit:
                continue
            at = at + timedelta(seconds=float(rng.uniform(1, 8)))
            common = {"request_id": data["request_id"], "result_image_id": result["image_id"],
                      "position": result["position"]}  # fmt: skip
            events.append({"event_type": "click", **common})
            events.append({"event_type": "dwell", "dwell_ms": round(model.dwell_ms(bool(rel), rng), 1), **common})
        if events:
            resp = await client.post("/v1/events", json={"events": events}, headers=headers)
            if resp.status_code != 202:
                raise SimulationError(f"/v1/events answered {resp.status_code}: {resp.text[:300]}")
            summary.clicks += len(events) // 2
            summary.dwells += len(events) // 2
            summary.count(data["variant"], "clicks", len(events) // 2)
    if summary.failed_requests and not summary.searches:  # a few refusals among many searches are tolerated
        raise SimulationError(f"no search succeeded; the last {refusal}")
    summary.users = len(seen_users)
    logger.info(
        "simulated %d users: %d searches, %d impressions, %d clicks, %d dwells (%d events)",
        summary.users, summary.searches, summary.impressions, summary.clicks, summary.dwells, summary.events,
    )  # fmt: skip
    return summary


@asynccontextmanager
async def app_client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` on `app` served in this process, its lifespan included.

    Startup loads indexes and shutdown flushes the event sink; either may take longer than asgi-lifespan's default
    five seconds, so neither is timed out. Exceptions the app raises propagate, as a bug in the app should."""
    async with LifespanManager(app, startup_timeout=None, shutdown_timeout=None) as served:
        transport = httpx.ASGITransport(app=served.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vsx-simulation") as client:
            yield client


def simulate_app(app: ASGIApp, **simulation: Any) -> SimulationSummary:
    """Serve `app` in this process and run `simulate(client, **simulation)` against it."""
    return _simulate_on(app_client(app), simulation)


def simulate_server(url: str, **simulation: Any) -> SimulationSummary:
    """Run `simulate(client, **simulation)` against the `vsx serve` at `url`."""
    return _simulate_on(httpx.AsyncClient(base_url=url, timeout=30), simulation)


def _simulate_on(
    client: AbstractAsyncContextManager[httpx.AsyncClient], simulation: dict[str, Any]
) -> SimulationSummary:
    async def run() -> SimulationSummary:
        async with client as opened:
            return await simulate(opened, **simulation)

    return asyncio.run(run())
