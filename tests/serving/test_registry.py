"""The variant registry: every served configuration gets an engine; each artifact is loaded once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from experiments.assign import Assignment, resolve
from experiments.validate import KnownNames
from serving.config import ServingConfig
from serving.errors import InvalidServingConfigError
from serving.registry import VariantRegistry, served_variants


def test_every_combination_of_layers_is_served(config: ServingConfig) -> None:
    state = VariantRegistry(config).current
    served = served_variants(state.experiments)
    # ranking: none/control (= default index) or treatment (hnsw); rerank: none/control (= default) or dedupe
    assert sorted({(s.index, len(s.rerank)) for s in served}) == [
        ("pixels-flat@1", 1), ("pixels-flat@1", 2), ("pixels-hnsw@1", 1), ("pixels-hnsw@1", 2)
    ]  # fmt: skip
    assert len(state.engines) == 4
    assert state.running() == ["enc-v1", "rerank-v1"]
    assert state.artifacts == ("encoder pixels@1", "index pixels-flat@1", "index pixels-hnsw@1")


def test_shared_artifacts_are_loaded_once_and_kept_across_reloads(config: ServingConfig) -> None:
    registry = VariantRegistry(config)
    engines = list(registry.current.engines.values())
    assert len({id(e.encoder) for e in engines}) == 1
    assert len({id(e.index) for e in engines}) == 2
    before = {id(e.index) for e in engines}
    registry.reload()
    assert {id(e.index) for e in registry.current.engines.values()} == before
    assert registry.current.generation == 2


def test_engine_lookup_follows_assignment(config: ServingConfig) -> None:
    state = VariantRegistry(config).current

    treatment = resolve(state.experiments, [Assignment("enc-v1", "treatment", "ranking", "enc-v1", 1)])
    assert treatment.index == "pixels-hnsw@1" and treatment.index_params == {"efSearch": 32}
    assert state.engine(treatment).index is not state.engine(resolve(state.experiments, [])).index


def test_experiments_naming_a_metric_the_analysis_lacks_are_refused(config: ServingConfig) -> None:
    """`vsx serve` passes the metric catalogue's names: a reload cannot bring in an experiment nobody can analyse."""
    known = KnownNames(metrics={"ctr": "higher_is_better"}, attributes=frozenset({"platform"}))
    VariantRegistry(replace(config, known_names=known))  # the test experiments name ctr only
    with pytest.raises(InvalidServingConfigError, match="unknown metric 'ctr'"):
        VariantRegistry(replace(config, known_names=KnownNames({"cvr": "higher_is_better"}, frozenset())))
