"""The web page at `/`: pick a sample catalog image (a training image) or upload one, see results, click through
(clicks and dwell are logged by the page's script through `/v1/events`). The user id lives in the `vsx_uid`
cookie, readable by the script (it sends it as `X-User-Id`), so a browser keeps its variant across visits.
"""

from __future__ import annotations

import random
import re
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from serving.deps import ServiceDep, StateDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"

USER_COOKIE = "vsx_uid"
COOKIE_MAX_AGE = 365 * 24 * 3600
_VALID_UID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n // 1024} KB"


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    state: StateDep,
    service: ServiceDep,
    vsx_uid: Annotated[str | None, Cookie()] = None,
) -> HTMLResponse:
    # Training images only: a click on a sample becomes a click pair, and pairs must never carry the test
    # (query) or validation split into training.
    pool = state.catalog.train_ids
    sample = random.sample(pool, min(request.app.state.config.ui_sample_size, len(pool)))
    user_id = vsx_uid if vsx_uid and _VALID_UID.match(vsx_uid) else uuid.uuid4().hex
    response = templates.TemplateResponse(
        request,
        "index.html",
        {
            "sample": [(image_id, state.class_name(image_id)) for image_id in sample],
            "catalog": Path(state.catalog.name).name,  # a folder catalog's name is its full path
            "user_id": user_id,
            "max_upload": _size(service.limits.max_upload_bytes),
            "reports": request.app.state.config.reports_dir is not None,
        },
    )
    if user_id != vsx_uid:
        response.set_cookie(USER_COOKIE, user_id, max_age=COOKIE_MAX_AGE, samesite="lax")
    return response


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The icon browsers ask for on every page (the web page, /docs, the reports), an SVG."""
    return FileResponse(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})
