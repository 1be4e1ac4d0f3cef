"""Request and response bodies of the HTTP API: pydantic at the edge, one model per direction.

Inside the server these become event_logging events and search_core calls; nothing here is stored.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

ImageId = Annotated[str, Field(min_length=1, max_length=1024)]
Name = Annotated[str, Field(max_length=256)]


class SearchOptions(BaseModel):
    """Options shared by both query forms; `k` absent ⇒ the served variant's k."""

    model_config = ConfigDict(extra="forbid")
    k: int | None = Field(default=None, ge=1, le=100, description="number of results, 1..100")


class SearchRequest(SearchOptions):
    """JSON query: a catalog image by id (an upload is `multipart/form-data` with an `image` file and `k`)."""

    image_id: ImageId


class ResultItem(BaseModel):
    image_id: str
    score: float
    position: int = Field(description="1-based rank")
    url: str = Field(description="where the image is: /v1/images/{image_id}")
    label: str | None = Field(default=None, description="the image's class name, when the catalog has labels")


class AssignmentOut(BaseModel):
    experiment: str
    variant: str
    layer: str
    salt: str
    hash_version: int


class RankerOut(BaseModel):
    encoder: str = Field(description="encoder artifact, name@version")
    index: str = Field(description="index artifact, name@version")


class SearchResponse(BaseModel):
    """`experiment`/`variant` are the first assignment's (by layer), "" and "default" outside any experiment.

    `rankers` is what produced the results: the user's configuration, or for an interleaving experiment both
    teams' (A, the control's, first), whose lists were merged.
    """

    request_id: uuid.UUID
    experiment: str
    variant: str
    assignments: list[AssignmentOut]
    query_image_id: str | None
    results: list[ResultItem]
    latency_ms: float
    rankers: list[RankerOut]


class _EventBase(BaseModel):
    """What a client reports about a result it showed; the server adds user, timestamp and assignment.

    `event_id` lets a client retry without double counting (analysis dedupes on it); absent ⇒ generated.
    `experiment`/`variant`/`query_image_id` are used only when this process did not serve `request_id`
    (another worker did, or it restarted): the server's own record of the request wins.
    """

    model_config = ConfigDict(extra="forbid")
    request_id: uuid.UUID
    event_id: uuid.UUID | None = None
    result_image_id: ImageId
    position: int = Field(ge=1, le=1000)
    experiment: Name | None = None
    variant: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    query_image_id: Annotated[str, Field(max_length=1024)] | None = None


class ClickIn(_EventBase):
    event_type: Literal["click"]


class DwellIn(_EventBase):
    event_type: Literal["dwell"]
    dwell_ms: float = Field(ge=0, le=86_400_000, description="time on the result before coming back, ms")


EventIn = Annotated[ClickIn | DwellIn, Field(discriminator="event_type")]


class EventsBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1)


def _batch_or_single(value: Any) -> str:
    return "batch" if isinstance(value, dict) and "events" in value else "single"


EventsBody = Annotated[
    Annotated[EventsBatch, Tag("batch")] | Annotated[EventIn, Tag("single")], Discriminator(_batch_or_single)
]
UNION_TAGS = frozenset({"batch", "single", "click", "dwell"})
"""Tags pydantic puts into error locations of the unions above; error messages leave them out."""


class EventsAccepted(BaseModel):
    accepted: int
    event_ids: list[uuid.UUID]


class ServedOut(BaseModel):
    """The configuration a user is served: the default overlaid with every assigned variant."""

    encoder: str
    index: str
    index_backend: str
    index_params: dict[str, Any]
    rerank: list[dict[str, Any]]
    k: int


class AssignmentResponse(BaseModel):
    user_id: str
    attributes: dict[str, str]
    assignments: list[AssignmentOut]
    served: ServedOut


class ReloadResponse(BaseModel):
    generation: int
    experiments: list[str] = Field(description="running experiments now served")
    variants: int = Field(description="distinct served configurations")
    artifacts: list[str]


class AnalyzeResponse(BaseModel):
    experiment: str
    report: str = Field(description="the refreshed report, under /reports/")
    results: str = Field(description="its results.json, under /reports/")


class CatalogUpdateResponse(BaseModel):
    added: list[str] = Field(description="ids of the images added")
    removed: list[str] = Field(description="ids removed")
    indexes: dict[str, str] = Field(description="index pinned by the experiments → the version now served")
    generation: int


class Health(BaseModel):
    status: Literal["ok", "ready"]
    generation: int | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    errors: list[str] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail
