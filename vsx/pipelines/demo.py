"""`vsx demo`: the whole loop in one command, on embedded defaults (or real services with `--services`).

1. catalog (Fashion-MNIST) → 2. pixels baseline + encoder v1 (self-supervised) with indexes, offline eval →
3. experiment 1 (pixels control vs v1) written as YAML, validated, simulated through the real serving app,
analysed (results.json + HTML report) → 4. v2: v1 fine-tuned on the click groups of experiment 1 → 5.
experiment 2 (v1 vs v2) → 6. the same two ranker pairs as interleaving experiments (so the summary can say
how many users each design needs), and raw pixels against PCA-16 pixels → 7. v3: v2 fine-tuned on the
pooled clicks of every experiment so far → 8. v3 against v2, interleaved → 9. an encoder sweep: one A/B
experiment with v3 as control against v2, v1, raw pixels and two PCA-reduced pixel encoders, so the
offline-to-online history has points across a range of quality, and a client-side layout change that hurts
clicks on android only (the simulator's effect), whose segments flag it → 10. the history page (offline Δ
against online Δ) → summary.

Click pairs never carry a test or validation image into training (the export drops and counts them), and an
experiment that compares encoders fine-tuned on clicks draws its queries only from images none of them was
taught with (`trained_images`), so its result measures generalisation, not memorised pairs.

The experiments run back to back in simulated time, each over the whole `retrieval` layer, and each is
stopped when its traffic is done, as a team would. Re-running reuses what is valid: artifacts whose
hashes verify and whose inputs (config, parent, pairs hash) are unchanged, and experiments whose traffic
was already simulated (a marker file per experiment records the simulation summary next to the
experiment's YAML checksum). Simulated time is fixed, so two runs on one machine produce the same events.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analysis import MetricResult, Results
from analysis.sensitivity import users_for_power
from dashboards import render_history
from search_core.artifacts import ArtifactRef, ArtifactStore
from search_core.catalog import Catalog, load_catalog
from search_core.training import FineTuneConfig, train_config
from vsx.pipelines.artifacts import (
    ensure_fine_tuned,
    ensure_index,
    ensure_pixels,
    ensure_trained,
    offline_metrics,
    validation_metrics_of,
)
from vsx.pipelines.catalog_subset import fashion_subset_folder
from vsx.pipelines.click_model import ClickModel, TrafficPlan
from vsx.pipelines.experiment_files import Arm, set_status, validated, write_experiment, write_platform
from vsx.pipelines.online import ingest, run_traffic, unseen_traffic
from vsx.pipelines.reporting import export_pooled_pairs, report_experiment
from vsx.pipelines.serving import Backend, simulation_config
from vsx.settings import Settings

logger = logging.getLogger(__name__)
progress = logging.getLogger("vsx.progress")
"""The demo's step lines ("[3/10] …"): `vsx` shows this logger at INFO even when other logs are at WARNING."""

SIM_START = datetime(2026, 1, 5, tzinfo=UTC)
LAYOUT_ANDROID_EFFECT = 0.5
"""How attractive results are to android users under the layout experiment's treatment (a synthetic effect)."""


@dataclass(frozen=True)
class DemoSize:
    """How much work each step does. `full` is `make demo`, `quick` the run tests use, `large` the outcome run: the
    `wide` training config (the CPU recipe at twice the width), all 10k test queries and more users in every
    experiment (times and results: BENCHMARKS.md, "The loop"). Its indexes are HNSW like the others': exact search
    over raw pixels is too slow for its traffic; exact scores come from `benchmarks/loop_seeds.py`."""

    name: str
    train: str
    v1_epochs: int
    v2_epochs: int
    """Epochs of v2's click fine-tune from v1: more than v3's, as its clicks are fewer (BENCHMARKS.md, "The loop")."""
    v3_epochs: int
    """Epochs of v3's click fine-tune from v2."""
    users: int
    """Simulated users of each A/B experiment but the first (v2 against v1, the layout test)."""
    v1_users: int
    """Simulated users of experiment 1, v1 against raw pixels: the traffic whose clicks teach v2, so sized for the
    click pairs v2 needs (BENCHMARKS.md, "The loop")."""
    il_users: int
    """Simulated users of each interleaving experiment but v2 against v1."""
    v2_il_users: int
    """Simulated users of the interleaving experiment v2 against v1, the loop's online test: sized for p < 0.01 at
    90 % power on the preference expected from v2's offline gain over v1, which a pilot then exceeded
    (BENCHMARKS.md, "The loop")."""
    sweep_users: int
    """Simulated users of the encoder sweep (split over its five variants)."""
    days: int
    pre_days: int
    eval_queries: int
    """Seeded test queries of the offline evaluation; 0 = all of them."""
    factory: str = "HNSW32"
    k: int = 10
    per_class: int | None = None
    """Use a Fashion-MNIST subset folder of this many images per class instead of all 70k (quick runs)."""
    sweep_pca: tuple[int, ...] = (16, 4)
    """PCA dimensions of the reduced pixel encoders in the sweep (weaker rankers by construction)."""


SIZES = {
    "large": DemoSize("large", train="wide", v1_epochs=6, v2_epochs=12, v3_epochs=4, users=5000, v1_users=40000,
                      il_users=10000, v2_il_users=40000, sweep_users=5000, days=5, pre_days=2, eval_queries=0),
    "full": DemoSize("full", train="quick", v1_epochs=1, v2_epochs=12, v3_epochs=4, users=1000, v1_users=20000,
                     il_users=400, v2_il_users=10000, sweep_users=1000, days=5, pre_days=2, eval_queries=2000),
    "quick": DemoSize("quick", train="quick", v1_epochs=2, v2_epochs=4, v3_epochs=4, users=150, v1_users=150,
                      il_users=60, v2_il_users=60, sweep_users=100, days=3, pre_days=1, eval_queries=300,
                      per_class=300),
}  # fmt: skip


@dataclass(frozen=True)
class ExperimentOutcome:
    name: str
    kind: str
    """"ab" or "interleaving"."""
    encoders: dict[str, str]
    """Variant name → encoder reference, control first."""
    events: int
    report: Path
    results: Results

    def headline(self, variant: str) -> MetricResult | None:
        """The primary metric's row the decision rests on (CTR, CUPED when both arms have history; the
        interleaving preference)."""
        return self.results.preferred_row(self.results.primary_metric, variant)


@dataclass(frozen=True)
class Sensitivity:
    """Users each design needs for 80 % power on the difference between two rankers, from the demo's own runs."""

    control: str
    treatment: str
    ab_users: float | None
    interleaving_users: float | None
    ab_detected: bool
    interleaving_detected: bool
    """Whether each design detected the difference (the analysis's `significant`). A users-needed number from a
    design that did not rests on an estimate of the difference that is mostly noise."""
    same_direction: bool
    """Whether both designs saw the treatment move the same way; if not, at least one saw noise, and the two
    users-needed numbers describe different differences."""

    @property
    def ratio(self) -> float | None:
        """A/B users over interleaving users, only where both designs detected the difference the same way: from
        undetected differences the ratio would compare two noise draws."""
        both_detected = self.ab_detected and self.interleaving_detected
        if both_detected and self.same_direction and self.ab_users and self.interleaving_users:
            return self.ab_users / self.interleaving_users
        return None


@dataclass(frozen=True)
class DemoSummary:
    offline: dict[str, dict[str, float]]
    """Per encoder: test-query metrics of its index, and validation metrics (`validation_…`) of its training."""
    experiments: list[ExperimentOutcome]
    sensitivity: list[Sensitivity]
    pairs: list[Path]
    """The click pairs v2 and v3 were fine-tuned on."""
    versions: list[ArtifactRef]
    """v1, v2, v3."""
    history: Path


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class _Runner:
    """Runs the demo's experiments one after another in simulated time."""

    settings: Settings
    backend: Backend
    store: ArtifactStore
    catalog: Catalog
    size: DemoSize
    source: str
    clock: datetime
    runs: int = 0

    def run(self, name: str, description: str, arms: Sequence[Arm], *, users: int, kind: str = "ab",
            pre_days: int = 0, model: ClickModel | None = None) -> ExperimentOutcome:  # fmt: skip
        """Write + validate the YAML, simulate traffic unless done before, analyse, report, stop the experiment.

        Queries come from the training images that none of the arms' encoders was fine-tuned on."""
        self.runs += 1
        plan = TrafficPlan(users=users, days=self.size.days, pre_days=pre_days, seed=self.runs)
        start, end = self.clock + timedelta(days=pre_days), self.clock + timedelta(days=pre_days + plan.days)
        folder = self.settings.experiments_dir
        path = write_experiment(folder, name=name, description=description, arms=arms, start=start, end=end,
                                experiment_type=kind, k=self.size.k, planned_users=users)  # fmt: skip
        validated(folder, self.store)
        marker = self.settings.data_dir / "demo" / f"{name}.simulated.json"
        checksum = _checksum(path)
        done = json.loads(marker.read_text()) if marker.exists() else {}
        if done.get("yaml_sha256") == checksum:
            progress.info("experiment %s: traffic already simulated (%d events), reusing", name, done["events"])
            events = done["events"]
        else:
            config = simulation_config(self.settings, self.backend, self.catalog, folder)
            traffic = unseen_traffic(self.store, self.catalog, [a.encoder for a in arms])
            progress.info("experiment %s: queries from %d training images (%d taught to its encoders left out)",
                          name, len(traffic), len(self.catalog.train_ids) - len(traffic))  # fmt: skip
            summary = run_traffic(config, self.catalog, plan=plan, start=self.clock, model=model, traffic_ids=traffic)
            events = summary.events
            if not self.backend.embedded:
                ingest(self.backend.kafka, self.backend.clickhouse, events)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"yaml_sha256": checksum, "events": events, "searches": summary.searches,
                                          "clicks": summary.clicks, "users": summary.users,
                                          "query_pool": len(traffic)}))  # fmt: skip
        set_status(folder, name, "stopped")
        results, report = report_experiment(self.settings, name, source=self.source)
        progress.info("experiment %s analysed: %s", name, report)
        self.clock = end
        return ExperimentOutcome(name, kind, {a.name: str(a.encoder) for a in arms}, events, report, results)


def _sensitivity(ab: ExperimentOutcome, interleaving: ExperimentOutcome) -> Sensitivity:
    """Users for 80 % power from an A/B experiment and an interleaving experiment of the same two rankers."""
    ab_row, il_row = ab.headline("treatment"), interleaving.headline("treatment")
    effects = [row.abs_lift for row in (ab_row, il_row) if row is not None and row.abs_lift is not None]
    return Sensitivity(
        control=ab.encoders["control"],
        treatment=ab.encoders["treatment"],
        ab_users=users_for_power(ab_row) if ab_row else None,
        interleaving_users=users_for_power(il_row) if il_row else None,
        ab_detected=ab_row is not None and ab_row.significant,
        interleaving_detected=il_row is not None and il_row.significant,
        same_direction=len(effects) == 2 and effects[0] * effects[1] > 0,
    )


def demo_arm(store: ArtifactStore, catalog: Catalog, size: DemoSize, name: str, encoder: ArtifactRef) -> Arm:
    """A variant serving `encoder` with the demo's index of it (built and evaluated offline if missing)."""
    return Arm(name, encoder, ensure_index(store, catalog, encoder, factory=size.factory, queries=size.eval_queries))


def first_arms(store: ArtifactStore, catalog: Catalog, size: DemoSize) -> tuple[Arm, Arm]:
    """Step 2: the raw-pixel baseline and encoder v1 with their indexes, as control and treatment of experiment 1.

    `examples/experiments/` serves these artifacts by name (tests/vsx/test_examples.py validates them).
    """
    pixels = ensure_pixels(store, catalog)
    v1 = ensure_trained(store, catalog, name="cnn", config=replace(train_config(size.train), epochs=size.v1_epochs))
    return demo_arm(store, catalog, size, "control", pixels), demo_arm(store, catalog, size, "treatment", v1)


def run_demo(
    settings: Settings, size: DemoSize, backend: Backend, source: str, catalog_spec: str = "fashion-mnist"
) -> DemoSummary:
    """Steps 1–10 of the module docstring; the command prints the summary."""
    store = ArtifactStore(settings.artifacts_dir)
    if size.per_class and catalog_spec == "fashion-mnist":
        catalog_spec = str(fashion_subset_folder(settings.data_dir / f"fmnist-{size.per_class}", size.per_class))
    catalog = load_catalog(catalog_spec)
    progress.info("[1/10] catalog %s: %d gallery (%d held out for validation), %d query images", catalog.name,
                  len(catalog.gallery_ids), len(catalog.validation_ids), len(catalog.query_ids))  # fmt: skip
    held_out = set(catalog.query_ids) | set(catalog.validation_ids)

    def arm(name: str, encoder: ArtifactRef) -> Arm:
        return demo_arm(store, catalog, size, name, encoder)

    def fine_tuned(
        parent: ArtifactRef, experiments: Sequence[ExperimentOutcome], out_name: str, epochs: int
    ) -> tuple[ArtifactRef, Path]:
        pairs, _ = export_pooled_pairs(settings, [e.name for e in experiments], held_out_images=held_out,
                                       source=source, out_name=out_name)  # fmt: skip
        return ensure_fine_tuned(store, catalog, name=parent.name, config=FineTuneConfig(epochs=epochs), parent=parent,
                                 pairs_path=pairs), pairs  # fmt: skip

    progress.info("[2/10] baseline and encoder v1 (training schedule %r, %d epochs)", size.train, size.v1_epochs)
    control, treatment = first_arms(store, catalog, size)
    pixels, v1 = control.encoder, treatment.encoder
    write_platform(settings.experiments_dir, control, size.k)
    runner = _Runner(settings, backend, store, catalog, size, source, SIM_START)

    progress.info("[3/10] experiment 1 (A/B): %s vs %s", pixels, v1)
    v1_vs_pixels = [control, treatment]
    exp1 = runner.run(f"enc-{v1.name}{v1.version}-vs-{pixels.name}{pixels.version}", f"{v1} vs raw pixels",
                      v1_vs_pixels, users=size.v1_users, pre_days=size.pre_days)  # fmt: skip

    progress.info("[4/10] encoder v2: %s fine-tuned on the click groups of %s", v1, exp1.name)
    v2, v2_pairs = fine_tuned(v1, [exp1], f"for-v2-{exp1.name}", size.v2_epochs)

    progress.info("[5/10] experiment 2 (A/B): %s vs %s", v1, v2)
    v2_vs_v1 = [arm("control", v1), arm("treatment", v2)]
    exp2 = runner.run(f"enc-{v2.name}{v2.version}-vs-{v1.name}{v1.version}", f"{v2} (click groups) vs {v1}",
                      v2_vs_v1, users=size.users)  # fmt: skip

    progress.info("[6/10] the same ranker pairs interleaved, and raw pixels against a PCA-reduced version")
    il1 = runner.run(f"il-{v1.name}{v1.version}-vs-{pixels.name}{pixels.version}", f"{v1} vs raw pixels, interleaved",
                     v1_vs_pixels, users=size.il_users, kind="interleaving")  # fmt: skip
    il2 = runner.run(f"il-{v2.name}{v2.version}-vs-{v1.name}{v1.version}", f"{v2} vs {v1}, interleaved", v2_vs_v1,
                     users=size.v2_il_users, kind="interleaving")  # fmt: skip
    reduced = {d: arm(f"pca{d}", ensure_pixels(store, catalog, name=f"pixels-pca{d}", pca_dim=d))
               for d in size.sweep_pca}  # fmt: skip
    weaker = reduced[size.sweep_pca[0]]
    il3 = runner.run(f"il-{weaker.encoder.name}-vs-{pixels.name}", f"{weaker.encoder} vs raw pixels, interleaved",
                     [control, Arm("treatment", weaker.encoder, weaker.index)], users=size.il_users,
                     kind="interleaving")  # fmt: skip

    so_far = [exp1, exp2, il1, il2, il3]
    progress.info("[7/10] encoder v3: %s fine-tuned on the pooled clicks of %d experiments", v2, len(so_far))
    v3, v3_pairs = fine_tuned(v2, so_far, f"for-v3-{len(so_far)}-experiments", size.v3_epochs)

    progress.info("[8/10] %s vs %s, interleaved", v2, v3)
    v3_vs_v2 = [arm("control", v2), arm("treatment", v3)]
    il4 = runner.run(f"il-{v3.name}{v3.version}-vs-{v2.name}{v2.version}", f"{v3} vs {v2}, interleaved", v3_vs_v2,
                     users=size.il_users, kind="interleaving")  # fmt: skip

    progress.info("[9/10] encoder sweep: %s against weaker encoders", v3)
    sweep_arms = [arm("control", v3), arm("v2", v2), arm("v1", v1), arm("pixels", pixels), *reduced.values()]
    sweep = runner.run(f"sweep-{v3.name}{v3.version}", f"{v3} against v2, v1, raw pixels and PCA-reduced pixels",
                       sweep_arms, users=size.sweep_users)  # fmt: skip

    progress.info("[9/10] a client-side layout change that hurts clicks on android only (segments flag it)")
    hard_to_tap = ClickModel(variant_effects=(("treatment", "android", LAYOUT_ANDROID_EFFECT),))
    layout = runner.run("layout-android", f"new result layout on {v3}; its cards are hard to tap on android",
                        [arm("control", v3), arm("treatment", v3)], users=size.users, model=hard_to_tap)  # fmt: skip

    progress.info("[10/10] offline-to-online history")
    history = render_history(settings.reports_dir, None)
    offline = {str(a.encoder): {**offline_metrics(store, a.index), **validation_metrics_of(store, a.encoder)}
               for a in sweep_arms}  # fmt: skip
    return DemoSummary(
        offline=offline,
        experiments=[exp1, exp2, il1, il2, il3, il4, sweep, layout],
        sensitivity=[_sensitivity(exp1, il1), _sensitivity(exp2, il2)],
        pairs=[v2_pairs, v3_pairs],
        versions=[v1, v2, v3],
        history=history,
    )


def size_note(size: DemoSize) -> str:
    """What the demo's schedule is, stated in its output."""
    catalog = f"a {size.per_class}-per-class Fashion-MNIST subset" if size.per_class else "all of Fashion-MNIST"
    return (f"demo size {size.name!r} on {catalog}: encoders trained with the {size.train!r} schedule for "
            f"{size.v1_epochs} epoch(s) (v1), "
            f"v2 and v3 fine-tuned on click groups for {size.v2_epochs} and {size.v3_epochs} epochs; "
            f"{size.v1_users} simulated users in experiment 1 (their clicks teach v2) and {size.users} in each "
            f"other A/B experiment over {size.pre_days}+{size.days} days, "
            f"{size.il_users} per interleaving experiment ({size.v2_il_users} for v2 against v1) and "
            f"{size.sweep_users} in the encoder sweep; "
            f"offline eval on {size.eval_queries or 'all'} seeded test queries with a {size.factory} index. "
            f"{json.dumps(asdict(size))}")  # fmt: skip
