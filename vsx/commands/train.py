"""`vsx train`: self-supervised training of an encoder, a fine-tune on click groups, or the pixels baseline.

vsx train --encoder small_cnn --config cpu --name cnn [--epochs N] [--from NAME@V]
vsx train --from NAME@V --pairs FILE [--epochs N]      (fine-tune on the click groups of FILE)
vsx train --encoder pixels --name pixels [--pca 64]
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from search_core.artifacts import ArtifactStore, Manifest
from search_core.catalog import FASHION_MNIST, load_catalog
from search_core.errors import TrainingError
from vsx.commands.help_values import ENCODER_NAMES, TRAIN_PRESETS
from vsx.settings import get_settings


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        encoder: str | None = typer.Option(
            None,
            help=f"Architecture: {', '.join(ENCODER_NAMES)} (default: the preset's, or the parent's).",
        ),
        config: str = typer.Option(
            "cpu",
            help=f"Preset: {', '.join(TRAIN_PRESETS)} (cpu: the CPU recipe; wide: it at twice the width; "
            "quick: the demo's; gpu: CUDA).",
        ),
        name: str | None = typer.Option(None, help="Artifact name (default: the parent's name, else the encoder's)."),
        epochs: int | None = typer.Option(None, min=1, help="Override the preset's number of epochs."),
        pairs: Path | None = typer.Option(
            None, help="Click pairs (JSONL or Parquet): fine-tune --from on their click groups (needs --from)."
        ),
        parent: str | None = typer.Option(None, "--from", metavar="ENCODER@V", help="Fine-tune this encoder."),
        catalog: str | None = typer.Option(None, help=f"Catalog spec (default: the parent's, else {FASHION_MNIST})."),
        pca: int | None = typer.Option(None, min=1, help="pixels only: reduce to this many principal components."),
        weights: Path | None = typer.Option(None, help="torchvision encoders: local pretrained weights file."),
        seed: int | None = typer.Option(None, help="Override the preset's seed."),
    ) -> None:
        """Train the next version of an encoder artifact and print its ref and training summary."""
        if pairs is not None and parent is None:
            raise TrainingError("--pairs fine-tunes an encoder: name it with --from NAME@V")
        from search_core.training import (
            FineTuneConfig,
            build_pixels_encoder,
            fine_tune_encoder,
            train_config,
            train_encoder,
        )

        store = ArtifactStore(get_settings().artifacts_dir)
        parent_manifest = store.manifest("encoder", parent) if parent else None
        spec = catalog or (parent_manifest.catalog if parent_manifest else FASHION_MNIST)
        if encoder == "pixels":
            if parent or pairs:
                raise TrainingError("the pixels encoder is not trained: --from and --pairs do not apply")
            manifest = build_pixels_encoder(store, name=name or "pixels", catalog=load_catalog(spec), pca_dim=pca)
            typer.echo(f"encoder {manifest.ref}: raw pixels{f' → PCA {pca}' if pca else ''}, dim {manifest.dim}")
            typer.echo(str(store.path("encoder", manifest.ref)))
            return
        if pca is not None:
            raise TrainingError("--pca applies to --encoder pixels only")
        if pairs is not None and parent_manifest is not None:
            fine_tune = FineTuneConfig()
            fine_tune = dataclasses.replace(
                fine_tune, epochs=epochs or fine_tune.epochs, seed=fine_tune.seed if seed is None else seed
            )
            manifest = fine_tune_encoder(store, name=name or parent_manifest.name, catalog=load_catalog(spec),
                                         config=fine_tune, parent=parent_manifest.ref, pairs_path=pairs)  # fmt: skip
            typer.echo(_summary(manifest))
            typer.echo(str(store.path("encoder", manifest.ref)))
            return
        preset = train_config(config)
        architecture = encoder or (
            parent_manifest.training["architecture"]["name"] if parent_manifest else preset.encoder
        )
        kwargs = dict(preset.encoder_kwargs) if architecture == preset.encoder else {}  # the preset's are for its own
        if weights is not None:
            kwargs["weights"] = str(weights)
        settings = dataclasses.replace(
            preset,
            encoder=architecture,
            encoder_kwargs=kwargs,
            epochs=epochs or preset.epochs,
            seed=preset.seed if seed is None else seed,
        )
        manifest = train_encoder(
            store,
            name=name or (parent_manifest.name if parent_manifest else settings.encoder),
            catalog=load_catalog(spec),
            config=settings,
            parent=parent_manifest.ref if parent_manifest else None,
        )
        typer.echo(_summary(manifest))
        typer.echo(str(store.path("encoder", manifest.ref)))


def _summary(manifest: Manifest) -> str:
    training = manifest.training
    lineage = f"from {training['parent']}" if training.get("parent") else "from scratch"
    pairs = ""
    if manifest.pairs:
        groups = training["click_groups"]
        pairs = (f", {training['pairs_used']} click pairs ({training['pairs_held_out']} held out) in "
                 f"{groups['groups']} groups of {groups['images']} images")  # fmt: skip
    validation = manifest.metrics.get("validation_precision@10")
    return (
        f"encoder {manifest.ref}: {training['architecture']['name']} dim {manifest.dim}, {lineage}{pairs}, "
        f"{training['config']['epochs']} epoch(s) in {training['seconds']:.0f} s "
        f"({training['views_per_second']:.0f} views/s), final loss {training['epoch_losses'][-1]:.3f}"
        f"{'' if validation is None else f', validation P@10 {validation:.4f}'}"
    )
