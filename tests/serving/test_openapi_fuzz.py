"""Fuzz every operation of the OpenAPI schema (schemathesis): whatever the input, no 5xx, and errors have our shape.

Inputs that follow the schema (positive) and inputs that break it (negative), 30 examples per operation and mode.
Driven from a plain test with hypothesis's `@given` per operation (schemathesis's lazy pytest fixture loader does
not work with this pytest version).
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, errors, given, settings
from schemathesis import GenerationMode

EXAMPLES = 30
FUZZED = {"/v1/search", "/v1/events", "/v1/assignment", "/v1/admin/reload"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_server_errors_on_any_operation(app: FastAPI, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ran = set()
    for operation in (result.ok() for result in schema.get_all_operations()):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call()
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text}"
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["code"] and error["message"], f"{where}: {response.text}"

        try:
            check()
        except errors.Unsatisfiable:
            # Negative mode: an operation whose inputs are unconstrained strings (or none) has nothing to violate.
            if mode is GenerationMode.POSITIVE:
                raise
            continue
        ran.add(operation.path)
    assert ran >= FUZZED
