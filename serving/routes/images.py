"""`GET /v1/images/{image_id}`: a catalog image as PNG, cacheable forever (ids of folder catalogs contain `/`)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Response

from serving.deps import StateDep

router = APIRouter(prefix="/v1/images", tags=["images"])

CACHE_CONTROL = "public, max-age=86400, immutable"


@router.get("/{image_id:path}", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def get_image(image_id: str, state: StateDep, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The PNG with an ETag of its content; a matching `If-None-Match` gets 304 without the body.

    A plain `def` on purpose: a folder catalog reads the file from disk, which must not block the event loop.
    """
    png = state.catalog.png(image_id)
    etag = f'"{hashlib.sha256(png).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag in if_none_match:
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)
