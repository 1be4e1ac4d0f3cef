"""`/healthz` (the process answers), `/readyz` (a configuration is loaded) and `/metrics` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from serving.deps import ServiceDep, StateDep
from serving.models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health)
async def readyz(state: StateDep) -> Health:
    """The app exists only once its configuration loaded, so answering means ready; `generation` counts reloads."""
    return Health(status="ready", generation=state.generation)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(service: ServiceDep) -> Response:
    service.metrics.mirror_sink(service.sink.counters, now=True)
    return Response(service.metrics.render(), media_type=service.metrics.content_type)
