"""`POST /v1/admin/reload`: re-read experiments and artifacts, swap them in atomically (all workers follow).
`POST /v1/admin/analyze/{name}`: analyse an experiment now into the served reports (`serving/reports.py`).

Behind `Authorization: Bearer <admin_token>`. With no admin token configured the admin endpoints are disabled
(403), never open. An invalid configuration is refused (422, every problem in `error.errors`) and the running
one stays live.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from serving.deps import ServiceDep
from serving.errors import AdminDisabledError, ReportsUnavailableError, UnauthorizedError
from serving.models import AnalyzeResponse, ReloadResponse

router = APIRouter(prefix="/v1/admin", tags=["admin"])
bearer = HTTPBearer(auto_error=False, description="the admin token of the server's settings")


async def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    token: str = request.app.state.config.admin_token
    if not token:
        raise AdminDisabledError("admin endpoints are disabled: no admin token is configured (VSX_ADMIN_TOKEN)")
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise UnauthorizedError("a valid admin bearer token is required (Authorization: Bearer <token>)")


@router.post("/reload", response_model=ReloadResponse, dependencies=[Depends(require_admin)])
async def reload(request: Request, service: ServiceDep) -> ReloadResponse:
    state = await run_in_threadpool(service.registry.reload)
    stamp = request.app.state.reload_stamp
    if stamp is not None:
        stamp.publish()
    return ReloadResponse(
        generation=state.generation,
        experiments=state.running(),
        variants=state.variants,
        artifacts=list(state.artifacts),
    )


@router.post("/analyze/{name}", response_model=AnalyzeResponse, dependencies=[Depends(require_admin)])
async def analyze(name: str, request: Request) -> AnalyzeResponse:
    """Analyse experiment `name` now and refresh its report under `/reports/` (the server may own the event store,
    so this is how another process asks for a report). Takes as long as the analysis: seconds to minutes."""
    reports = request.app.state.reports
    if reports is None:
        raise ReportsUnavailableError("this server has no reports folder or analysis to refresh it (see `vsx serve`)")
    await run_in_threadpool(reports.refresh, name)
    folder = f"/reports/{quote(name, safe='')}"
    return AnalyzeResponse(experiment=name, report=f"{folder}/report.html", results=f"{folder}/results.json")
