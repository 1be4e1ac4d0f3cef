"""Read the body of `POST /v1/search`: a catalog image id as JSON, or an uploaded image as multipart.

One endpoint takes both, so the body is dispatched on its content type here rather than declared as a FastAPI
parameter; `SEARCH_BODY_OPENAPI` documents both forms. Invalid fields raise FastAPI's RequestValidationError,
so they get the same 422 body as any other invalid request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from serving.errors import MalformedJsonError, UnsupportedMediaTypeError
from serving.models import SearchOptions, SearchRequest

UPLOAD_FIELD = "image"
OptionsT = TypeVar("OptionsT", bound=SearchOptions)


@dataclass(frozen=True)
class QueryBody:
    """Exactly one of `image_id` (catalog image) and `upload` (raw bytes of an uploaded file) is set."""

    image_id: str | None
    upload: bytes | None
    k: int | None


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _validate(model: type[OptionsT], data: Any) -> OptionsT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from None


async def read_query(request: Request, max_upload_bytes: int) -> QueryBody:
    """Parse and validate the search body; the image itself is decoded later, off the event loop."""
    media = media_type(request)
    if is_json(media):
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise MalformedJsonError(f"the body is not valid JSON: {exc}") from None
        parsed = _validate(SearchRequest, data)
        return QueryBody(image_id=parsed.image_id, upload=None, k=parsed.k)
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=8) as form:  # closing it deletes spooled temp files
            upload = form.get(UPLOAD_FIELD)
            if not isinstance(upload, UploadFile):
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("body", UPLOAD_FIELD), "msg": "an image file is required"}]
                )
            options = _validate(SearchOptions, {key: value for key, value in form.items() if key != UPLOAD_FIELD})
            data = await upload.read(max_upload_bytes + 1)  # one byte more than allowed tells "too large" apart
        return QueryBody(image_id=None, upload=data, k=options.k)
    raise UnsupportedMediaTypeError(
        f"content type {media or '(none)'!r} is not accepted: send application/json "
        f'{{"image_id": ...}} or multipart/form-data with an {UPLOAD_FIELD!r} file'
    )


SEARCH_BODY_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SearchRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [UPLOAD_FIELD],
                    "properties": {
                        UPLOAD_FIELD: {"type": "string", "format": "binary", "description": "the query image"},
                        "k": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    "additionalProperties": False,
                }
            },
        },
    }
}
