"""`GET /v1/experiments`, `GET /v1/experiments/{name}` and `GET /v1/assignment?user_id=`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from experiments.assign import assign, resolve
from experiments.schema import Experiment
from serving.deps import AttributesDep, StateDep
from serving.models import AssignmentOut, AssignmentResponse, ServedOut

router = APIRouter(prefix="/v1", tags=["experiments"])


@router.get("/experiments", response_model=list[Experiment])
async def list_experiments(state: StateDep) -> list[Experiment]:
    """Every experiment in the loaded configuration, whatever its status (only running ones take users)."""
    return list(state.experiments.experiments)


@router.get("/experiments/{name}", response_model=Experiment)
async def get_experiment(name: str, state: StateDep) -> Experiment:
    return state.experiments.get(name)


@router.get("/assignment", response_model=AssignmentResponse)
async def get_assignment(
    user_id: Annotated[str, Query(min_length=1, max_length=256)], attributes: AttributesDep, state: StateDep
) -> AssignmentResponse:
    """The user's experiments and the configuration they are served (attributes from `X-Attr-<name>` headers)."""
    assignments = assign(state.experiments, user_id, attributes)
    served = resolve(state.experiments, assignments)
    return AssignmentResponse(
        user_id=user_id,
        attributes=attributes,
        assignments=[AssignmentOut(**vars(a)) for a in assignments],
        served=ServedOut(
            encoder=served.encoder,
            index=served.index,
            index_backend=served.index_backend,
            index_params=served.index_params,
            rerank=list(served.rerank),
            k=served.k,
        ),
    )
