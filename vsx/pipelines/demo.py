"""`vsx demo`: the whole loop in one command, on embedded defaults (or real services with `--services`).

1. catalog (Fashion-MNIST) → 2. pixels baseline + encoder v1 (self-supervised) with indexes, offline eval →
3. experiment 1 (pixels control vs v1) written as YAML and validated → 4. simulated traffic through the
real serving app → 5. analysis: results.json + HTML report → 6. click pairs exported → 7. v2 retrained
from v1 with the pairs, offline eval → 8. experiment 2 (v1 vs v2), traffic, analysis → 9. summary.

Re-running reuses what is valid: artifacts whose hashes verify and whose inputs (config, parent, pairs
hash) are unchanged, and experiments whose traffic was already simulated (a marker file per experiment
records the simulation summary next to the experiment's YAML checksum). Simulated time is fixed, so two
runs on one machine produce the same events.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analysis import Results
from search_core.artifacts import ArtifactRef, ArtifactStore
from search_core.catalog import Catalog, load_catalog
from vsx.pipelines.artifacts import ensure_index, ensure_pixels, ensure_trained, offline_metrics, train_config
from vsx.pipelines.catalog_subset import fashion_subset_folder
from vsx.pipelines.click_model import TrafficPlan
from vsx.pipelines.experiment_files import Arm, set_status, validated, write_experiment, write_platform
from vsx.pipelines.online import Backend, ingest, run_traffic, serving_config
from vsx.pipelines.reporting import analyze_experiment, export_experiment_pairs
from vsx.settings import Settings

logger = logging.getLogger(__name__)

SIM_START = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True)
class DemoSize:
    """How much work each step does. `full` fits ≤ 12 minutes on 2 cores; `quick` ≤ 3 for tests."""

    name: str
    train: str
    v1_epochs: int
    v2_epochs: int
    users: int
    days: int
    pre_days: int
    eval_queries: int
    factory: str = "HNSW32"
    k: int = 10
    per_class: int | None = None
    """Use a Fashion-MNIST subset folder of this many images per class instead of all 70k (quick runs)."""


SIZES = {
    "full": DemoSize(
        "full", train="quick", v1_epochs=1, v2_epochs=1, users=1000, days=5, pre_days=2, eval_queries=2000
    ),
    "quick": DemoSize(
        "quick", train="quick", v1_epochs=2, v2_epochs=2, users=150, days=3, pre_days=1, eval_queries=300, per_class=300
    ),
}


@dataclass(frozen=True)
class ExperimentOutcome:
    name: str
    control: str
    treatment: str
    events: int
    report: Path
    results: Results


@dataclass(frozen=True)
class DemoSummary:
    offline: dict[str, dict[str, float]]
    experiments: list[ExperimentOutcome]
    pairs: Path
    v2: ArtifactRef


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_experiment(
    settings: Settings, backend: Backend, store: ArtifactStore, catalog: Catalog, *, name: str, description: str,
    control: Arm, treatment: Arm, start: datetime, plan: TrafficPlan, size: DemoSize, source: str,
) -> ExperimentOutcome:  # fmt: skip
    """Write + validate the YAML, simulate traffic unless done before, analyse, report."""
    end = start + timedelta(days=plan.days)
    path = write_experiment(settings.experiments_dir, name=name, description=description, control=control,
                            treatment=treatment, start=start, end=end, k=size.k)  # fmt: skip
    validated(settings.experiments_dir, store)
    marker = settings.data_dir / "demo" / f"{name}.simulated.json"
    checksum = _checksum(path)
    done = json.loads(marker.read_text()) if marker.exists() else {}
    if done.get("yaml_sha256") == checksum:
        logger.info("experiment %s: traffic already simulated (%d events), reusing", name, done["events"])
        events = done["events"]
    else:
        config = serving_config(settings.artifacts_dir, settings.experiments_dir, catalog, backend)
        summary = run_traffic(config, catalog, plan=plan, start=start - timedelta(days=plan.pre_days))
        events = summary.events
        if not backend.embedded:
            ingest(backend.kafka, backend.clickhouse, events)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"yaml_sha256": checksum, "events": events, "searches": summary.searches,
                                      "clicks": summary.clicks, "users": summary.users}))  # fmt: skip
    results, report = analyze_experiment(settings, name, source=source)
    return ExperimentOutcome(name, str(control.encoder), str(treatment.encoder), events, report, results)


def run_demo(
    settings: Settings, size: DemoSize, backend: Backend, source: str, catalog_spec: str = "fashion-mnist"
) -> DemoSummary:
    """Steps 1–8 of the module docstring; the command prints the summary (step 9)."""
    store = ArtifactStore(settings.artifacts_dir)
    if size.per_class and catalog_spec == "fashion-mnist":
        catalog_spec = str(fashion_subset_folder(settings.data_dir / f"fmnist-{size.per_class}", size.per_class))
    catalog = load_catalog(catalog_spec)
    logger.info("[1/8] catalog %s: %d gallery, %d query images", catalog.name, len(catalog.gallery_ids),
                len(catalog.query_ids))  # fmt: skip
    logger.info("[2/8] baseline and encoder v1 (training schedule %r, %d epochs)", size.train, size.v1_epochs)
    pixels = ensure_pixels(store, catalog)
    pixels_index = ensure_index(store, catalog, pixels, factory=size.factory, queries=size.eval_queries)
    v1 = ensure_trained(store, catalog, name="cnn", config=train_config(size.train, size.v1_epochs))
    v1_index = ensure_index(store, catalog, v1, factory=size.factory, queries=size.eval_queries)
    arms = {"pixels": Arm("control", pixels, pixels_index)}
    arms["v1"] = Arm("treatment", v1, v1_index)
    write_platform(settings.experiments_dir, arms["pixels"], size.k)

    logger.info("[3-5/8] experiment 1: %s vs %s", pixels, v1)
    plan1 = TrafficPlan(users=size.users, days=size.days, pre_days=size.pre_days, seed=1)
    start1 = SIM_START + timedelta(days=size.pre_days)
    exp1_name = f"enc-{v1.name}{v1.version}-vs-{pixels.name}{pixels.version}"
    exp1 = _run_experiment(settings, backend, store, catalog, name=exp1_name, description=f"{v1} vs raw pixels",
                           control=arms["pixels"], treatment=arms["v1"], start=start1, plan=plan1, size=size,
                           source=source)  # fmt: skip
    set_status(settings.experiments_dir, exp1_name, "stopped")

    logger.info("[6/8] click pairs of %s", exp1_name)
    pairs = export_experiment_pairs(settings, exp1_name, source=source)

    logger.info("[7/8] encoder v2: retrained from %s with the click pairs", v1)
    v2 = ensure_trained(store, catalog, name="cnn", config=train_config(size.train, size.v2_epochs), parent=v1,
                        pairs_path=pairs)  # fmt: skip
    v2_index = ensure_index(store, catalog, v2, factory=size.factory, queries=size.eval_queries)

    logger.info("[8/8] experiment 2: %s vs %s", v1, v2)
    plan2 = TrafficPlan(users=size.users, days=size.days, pre_days=0, seed=2)
    start2 = start1 + timedelta(days=size.days)
    exp2_name = f"enc-{v2.name}{v2.version}-vs-{v1.name}{v1.version}"
    exp2 = _run_experiment(settings, backend, store, catalog, name=exp2_name, description=f"{v2} (click pairs) vs {v1}",
                           control=Arm("control", v1, v1_index), treatment=Arm("treatment", v2, v2_index),
                           start=start2, plan=plan2, size=size, source=source)  # fmt: skip
    set_status(settings.experiments_dir, exp2_name, "stopped")
    offline = {str(ref): offline_metrics(store, index) for ref, index in
               ((pixels, pixels_index), (v1, v1_index), (v2, v2_index))}  # fmt: skip
    return DemoSummary(offline=offline, experiments=[exp1, exp2], pairs=pairs, v2=v2)


def size_note(size: DemoSize) -> str:
    """What the demo's schedule is, stated in its output (shorter than the full CPU training config)."""
    catalog = f"a {size.per_class}-per-class Fashion-MNIST subset" if size.per_class else "all of Fashion-MNIST"
    return (f"demo size {size.name!r} on {catalog}: encoders trained with the {size.train!r} schedule for "
            f"{size.v1_epochs} "
            f"(v1) / {size.v2_epochs} (v2) epochs (the full CPU config trains longer: `vsx train --config cpu`); "
            f"{size.users} simulated users over {size.pre_days}+{size.days} days per experiment; "
            f"offline eval on {size.eval_queries} seeded test queries. {json.dumps(asdict(size))}")  # fmt: skip
