"""The variant registry: everything the running experiments can serve, loaded up front and swapped whole on reload.

A request reads `registry.current` once and uses that `ServingState` to the end, so a reload in the middle of a
request never mixes two configurations. Every served configuration (the default overlaid with any combination of
one variant per layer) gets a `VisualSearch` at load time: the request path never loads anything. Encoders and
indexes are loaded once per `name@version` however many variants share them, indexes memory-mapped where Faiss
allows, so the page cache holds one copy for all workers. An experiment pins an index build (`name@V`); the
newest catalog update of it is what gets served (`search_core.index_update.latest_update`), with the catalog
extended by the images those updates added. A reload reuses an already loaded artifact whose
manifest is unchanged, and refuses a new configuration with every problem found (the running one stays live).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from experiments.assign import Assignment, ServedVariant, resolve
from experiments.errors import ExperimentConfigError
from experiments.experiment_set import ExperimentSet
from experiments.loader import load_experiments
from experiments.validate import KnownNames
from search_core.artifacts import KINDS, ArtifactKind, ArtifactRef, ArtifactStore, Manifest
from search_core.catalog import Catalog, load_catalog
from search_core.catalog_additions import CatalogAdditions, additions_dir, extend_catalog
from search_core.encoders import load_encoder
from search_core.engine import VisualSearch
from search_core.errors import SearchCoreError
from search_core.index import SearchIndex, load_index
from search_core.index_update import latest_update
from search_core.milvus_index import MilvusIndex, collection_name, connect
from search_core.rerank import build_rerank
from serving.config import ServingConfig
from serving.errors import InvalidServingConfigError

logger = logging.getLogger(__name__)

MAX_K = 100
"""The API's largest k; engines fetch enough candidates for it (re-ranking may drop some)."""


@dataclass(frozen=True)
class EngineKey:
    """What makes two variants share one engine."""

    encoder: str
    index: str
    backend: str
    rerank: bytes


def engine_key(served: ServedVariant) -> EngineKey:
    """Variants that differ only in k or index_params (per-call arguments) share one engine."""
    rerank = orjson.dumps(served.rerank, option=orjson.OPT_SORT_KEYS)
    return EngineKey(served.encoder, served.index, served.index_backend, rerank)


def served_variants(exp_set: ExperimentSet) -> list[ServedVariant]:
    """Every configuration a user can be served: the default with any one variant (or none) per layer."""
    per_layer = [[None, *(a for plan in layer.slices for a in plan.assignments)] for layer in exp_set.layers]
    found: dict[tuple[EngineKey, bytes, int], ServedVariant] = {}
    for combo in itertools.product(*per_layer):
        served = resolve(exp_set, [a for a in combo if isinstance(a, Assignment)])
        found.setdefault((engine_key(served), orjson.dumps(served.index_params), served.k), served)
    return list(found.values())


def _experiments(store: ArtifactStore, folder: Path, known: KnownNames | None) -> ExperimentSet:
    def exists(kind: str, ref: str) -> bool:
        return kind in KINDS and store.exists(kind, ArtifactRef.parse(ref))

    try:
        return load_experiments(folder, exists, known)
    except ExperimentConfigError as exc:
        raise InvalidServingConfigError([str(issue) for issue in exc.issues]) from None


def check_config(config: ServingConfig) -> None:
    """The cheap part of loading (experiment files, artifacts exist), for a command line to fail fast."""
    _experiments(ArtifactStore(config.artifacts_dir), Path(config.experiments_dir), config.known_names)


@dataclass(frozen=True)
class ServingState:
    """One consistent configuration: experiments, catalog and an engine for every served configuration."""

    generation: int
    experiments: ExperimentSet
    catalog: Catalog
    engines: Mapping[EngineKey, VisualSearch]
    artifacts: tuple[str, ...]
    variants: int
    loaded_at: datetime
    indexes: Mapping[str, str]
    """pinned index ref (experiment YAML) → the version served (its newest catalog update)."""

    def engine(self, served: ServedVariant) -> VisualSearch:
        return self.engines[engine_key(served)]

    def class_name(self, image_id: str) -> str | None:
        label = self.catalog.label(image_id)
        return self.catalog.class_names[label] if 0 <= label < len(self.catalog.class_names) else None

    def running(self) -> list[str]:
        return sorted(e.name for e in self.experiments.experiments if e.status == "running")


class VariantRegistry:
    """Owns the current `ServingState`; `reload()` builds a complete new one before swapping it in."""

    def __init__(self, config: ServingConfig) -> None:
        self._store = ArtifactStore(config.artifacts_dir)
        self._experiments_dir = Path(config.experiments_dir)
        self._known_names = config.known_names
        self._catalog_spec = config.catalog
        self._additions_root = Path(config.catalog_additions_dir)
        self._catalogs: dict[str, Catalog] = {}
        self._loaded: dict[tuple[ArtifactKind, str, str], tuple[Manifest, Any]] = {}
        self._milvus_config = (config.milvus_uri, config.milvus_token, config.milvus_collection_prefix)
        self._milvus: Any = None  # a pymilvus MilvusClient, connected when a variant first needs it
        self._lock = threading.Lock()
        self._state = self._load(generation=1)

    @property
    def current(self) -> ServingState:
        return self._state

    def reload(self) -> ServingState:
        """Re-read experiments and artifacts; on any problem raise InvalidServingConfigError and keep serving."""
        with self._lock:
            state = self._load(self._state.generation + 1)
            self._state = state
        logger.info("reloaded config generation %d: %s", state.generation, ", ".join(state.running()) or "default")
        return state

    def refresh(self) -> ServingState:
        """Serve the newest catalog updates of the current experiments' indexes (the experiments are kept)."""
        with self._lock:
            state = self._load(self._state.generation + 1, self._state.experiments)
            self._state = state
        logger.info("config generation %d: indexes %s", state.generation, ", ".join(state.indexes.values()))
        return state

    def close(self) -> None:
        """Close the Milvus connection, if a variant opened one (an embedded milvus-lite stops with it)."""
        if self._milvus is not None:
            self._milvus.close()
            self._milvus = None

    @property
    def store(self) -> ArtifactStore:
        return self._store

    def additions(self, catalog: Catalog) -> CatalogAdditions:
        """The additions folder of a catalog (where its catalog updates' images go)."""
        return CatalogAdditions(additions_dir(self._additions_root, catalog.name))

    def _load(self, generation: int, exp_set: ExperimentSet | None = None) -> ServingState:
        exp_set = exp_set or _experiments(self._store, self._experiments_dir, self._known_names)
        served = served_variants(exp_set)
        errors: list[str] = []
        encoders = self._artifacts("encoder", {(s.encoder, "") for s in served}, errors)
        indexes = self._artifacts("index", {(s.index, s.index_backend) for s in served}, errors)
        catalog = self._catalog(exp_set, indexes, errors)
        pipelines = {}
        for s in served:
            try:
                pipelines[engine_key(s).rerank] = build_rerank([dict(step) for step in s.rerank])
            except SearchCoreError as exc:
                errors.append(f"rerank {list(s.rerank)}: {exc}")
            errors.extend(_pairing_errors(s, encoders, indexes, catalog))
        if errors or catalog is None:
            raise InvalidServingConfigError(sorted(set(errors)))
        engines: dict[EngineKey, VisualSearch] = {}
        for s in served:
            key = engine_key(s)
            if key not in engines:
                try:
                    encoder, index = encoders[(s.encoder, "")][1], indexes[(s.index, s.index_backend)][1]
                    engines[key] = VisualSearch(encoder, index, pipelines[key.rerank], MAX_K)
                except SearchCoreError as exc:  # e.g. an encoder whose dimension is not the index's
                    errors.append(f"serving {s.encoder} with {s.index}: {exc}")
        errors = errors or _probe(served, engines, catalog)
        if errors:
            raise InvalidServingConfigError(errors)
        live = {("encoder", ref, "") for ref, _ in encoders} | {
            ("index", str(m.ref), b) for (_, b), (m, _) in indexes.items()
        }
        self._loaded = {key: value for key, value in self._loaded.items() if key in live}  # drop what is unused
        return ServingState(
            generation=generation,
            experiments=exp_set,
            catalog=catalog,
            engines=engines,
            artifacts=tuple(
                sorted(
                    [f"encoder {r}" for r, _ in encoders] + [_index_label(m, b) for (_, b), (m, _) in indexes.items()]
                )
            ),
            variants=len(served),
            loaded_at=datetime.now(UTC),
            indexes={ref: str(manifest.ref) for (ref, _), (manifest, _) in indexes.items()},
        )

    def _artifacts(
        self, kind: ArtifactKind, refs: set[tuple[str, str]], errors: list[str]
    ) -> dict[tuple[str, str], tuple[Manifest, Any]]:
        """Load each (ref, backend) once (reusing an unchanged one from the previous generation); collect errors.

        An index ref loads its newest catalog update; the result is keyed by the ref as given."""
        loaded = {}
        for ref, backend in sorted(refs):
            try:
                version = str(latest_update(self._store, ref)) if kind == "index" else ref
                manifest = self._store.manifest(kind, version, verify=False)
                cached = self._loaded.get((kind, version, backend))
                if cached is None or cached[0] != manifest:
                    artifact = load_encoder(self._store, ref) if kind == "encoder" else self._index(version, backend)
                    cached = self._loaded[(kind, version, backend)] = (manifest, artifact)
                loaded[(ref, backend)] = cached
            except SearchCoreError as exc:
                errors.append(f"{kind} {ref}{f' on {backend}' if backend else ''}: {exc}")
        return loaded

    def _index(self, ref: str, backend: str) -> SearchIndex | MilvusIndex:
        index = load_index(self._store, ref)
        if backend != "milvus":
            return index
        if self._milvus is None:
            self._milvus = connect(self._milvus_config[0], self._milvus_config[1])
        manifest_ref = ArtifactRef.parse(ref)
        return MilvusIndex(
            index, self._milvus, collection_name(self._milvus_config[2], manifest_ref.name, manifest_ref.version)
        )

    def _catalog(
        self, exp_set: ExperimentSet, indexes: Mapping[tuple[str, str], tuple[Manifest, Any]], errors: list[str]
    ) -> Catalog | None:
        """The configured catalog, or else the one the default variant's index was built on."""
        spec = self._catalog_spec
        if spec is None:
            default = indexes.get((exp_set.default_fields["index"], exp_set.default_fields["index_backend"]))
            if default is None:
                return None
            spec = default[0].catalog
        try:
            if spec not in self._catalogs:
                self._catalogs[spec] = load_catalog(spec)
            base = self._catalogs[spec]
            return extend_catalog(base, self.additions(base))
        except SearchCoreError as exc:
            errors.append(f"catalog {spec!r}: {exc}")
            return None


def _index_label(manifest: Manifest, backend: str) -> str:
    return f"index {manifest.ref}" + (f" on {backend}" if backend != "faiss" else "")


def _probe(served: list[ServedVariant], engines: Mapping[EngineKey, VisualSearch], catalog: Catalog) -> list[str]:
    """One real query per served configuration: catches what only a search shows (an index parameter the index
    type lacks, a re-ranking parameter out of range) before users do, and warms the encoders up."""
    probe_id = catalog.ids[0]
    image = catalog.image(probe_id)
    errors = []
    for s in served:
        try:
            engines[engine_key(s)].search(image, s.k, params=s.index_params or None, query_image_id=probe_id)
        except SearchCoreError as exc:
            errors.append(f"serving {s.encoder} + {s.index} with {s.index_params} and rerank {list(s.rerank)}: {exc}")
    return errors


def _pairing_errors(
    served: ServedVariant,
    encoders: Mapping[tuple[str, str], tuple[Manifest, Any]],
    indexes: Mapping[tuple[str, str], tuple[Manifest, Any]],
    catalog: Catalog | None,
) -> list[str]:
    """An index answers only queries embedded by the encoder it was built with, with ids of its catalog."""
    if (served.encoder, "") not in encoders or (served.index, served.index_backend) not in indexes:
        return []
    manifest = indexes[(served.index, served.index_backend)][0]
    problems = []
    if manifest.encoder and manifest.encoder != served.encoder:
        problems.append(f"index {served.index} was built with encoder {manifest.encoder}, not {served.encoder}")
    if catalog is not None and manifest.catalog != catalog.name:
        problems.append(f"index {served.index} was built on catalog {manifest.catalog!r}, not {catalog.name!r}")
    return problems
