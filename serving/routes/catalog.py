"""`POST /v1/admin/catalog`: add images to the served catalog and indexes, or remove ids, without a rebuild.

Behind the admin token. Multipart: `image` files (repeatable; each file's name is the new image's id, as a
folder catalog's relative path is), an optional `labels` field holding a JSON object `{id: class name}`, and
`remove` fields (repeatable) with ids to remove. A removal alone may also be a urlencoded form or JSON:
`{"remove": [ids]}`.
Invalid images get the same 422/413 as `/v1/search`, naming the file; an id the catalog holds with other
pixels is a 409; an id to remove that an index lacks, a 404. See `serving.catalog_updates` for what happens.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from serving.catalog_updates import Upload
from serving.errors import MalformedJsonError, UnsupportedMediaTypeError
from serving.models import CatalogUpdateResponse
from serving.query_body import is_json, media_type
from serving.routes.admin import require_admin

router = APIRouter(prefix="/v1/admin/catalog", tags=["admin"])

IMAGE_FIELD, LABELS_FIELD, REMOVE_FIELD = "image", "labels", "remove"


class _Removal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remove: list[str] = Field(min_length=1)


class _Labels(BaseModel):
    labels: dict[str, str]


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message}])


async def _read_json(request: Request) -> list[str]:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise MalformedJsonError(f"the body is not valid JSON: {exc}") from None
    try:
        return _Removal.model_validate(data).remove
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from None


async def _read_multipart(request: Request) -> tuple[list[Upload], dict[str, str], list[str]]:
    limits = request.app.state.service.limits
    uploads: list[Upload] = []
    async with request.form(max_files=limits.max_catalog_images, max_fields=1000) as form:
        for item in form.getlist(IMAGE_FIELD):
            if not isinstance(item, UploadFile) or not item.filename:
                raise _invalid(IMAGE_FIELD, "each image must be a file with a name (the name is its id)")
            uploads.append(Upload(item.filename, await item.read(limits.max_upload_bytes + 1)))
        remove = [str(value) for value in form.getlist(REMOVE_FIELD)]
        raw_labels: Any = form.get(LABELS_FIELD)
    labels: dict[str, str] = {}
    if raw_labels is not None:
        try:
            labels = _Labels.model_validate({"labels": orjson.loads(str(raw_labels))}).labels
        except (orjson.JSONDecodeError, ValidationError):
            raise _invalid(
                LABELS_FIELD, 'must be a JSON object of image id → class name, e.g. {"a.png": "Bag"}'
            ) from None
    stray = sorted(set(labels) - {upload.filename for upload in uploads})
    if stray:
        raise _invalid(LABELS_FIELD, f"names images that are not uploaded: {', '.join(stray)}")
    return uploads, labels, remove


CATALOG_BODY_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        IMAGE_FIELD: {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "images to add; each file's name is its id",
                        },
                        LABELS_FIELD: {"type": "string", "description": 'JSON object {"<id>": "<class name>"}'},
                        REMOVE_FIELD: {"type": "array", "items": {"type": "string"}, "description": "ids to remove"},
                    },
                }
            },
            "application/json": {"schema": _Removal.model_json_schema()},
        },
    }
}


@router.post(
    "",
    response_model=CatalogUpdateResponse,
    dependencies=[Depends(require_admin)],
    openapi_extra=CATALOG_BODY_OPENAPI,
)
async def update_catalog(request: Request) -> CatalogUpdateResponse:
    """Add images (multipart) and/or remove ids; answers once every served index serves the change."""
    media = media_type(request)
    uploads: list[Upload]
    labels: dict[str, str]
    if is_json(media):
        uploads, labels, remove = [], {}, await _read_json(request)
    elif media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        uploads, labels, remove = await _read_multipart(request)
    else:
        raise UnsupportedMediaTypeError(
            f"content type {media or '(none)'!r} is not accepted: send multipart/form-data with {IMAGE_FIELD!r} "
            f'files and {REMOVE_FIELD!r} fields, or application/json {{"remove": [...]}}'
        )
    if not uploads and not remove:
        raise _invalid(IMAGE_FIELD, f"send {IMAGE_FIELD!r} files to add or {REMOVE_FIELD!r} ids to remove")
    outcome = await run_in_threadpool(request.app.state.catalog_updater.apply, uploads, labels, remove)
    return CatalogUpdateResponse(
        added=outcome.added, removed=outcome.removed, indexes=outcome.indexes, generation=outcome.generation
    )
