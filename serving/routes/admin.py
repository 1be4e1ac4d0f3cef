"""`POST /v1/admin/reload`: re-read experiments and artifacts, swap them in atomically (all workers follow).

Behind `Authorization: Bearer <admin_token>`. With no admin token configured the admin endpoints are disabled
(403), never open. An invalid configuration is refused (422, every problem in `error.errors`) and the running
one stays live.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from serving.deps import ServiceDep
from serving.errors import AdminDisabledError, UnauthorizedError
from serving.models import ReloadResponse

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
