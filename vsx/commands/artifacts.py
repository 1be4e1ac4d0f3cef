"""`vsx artifacts list|show`: encoder and index artifacts with their lineage and offline metrics."""

from __future__ import annotations

import typer
from rich.table import Table

from search_core.artifacts import KINDS, ArtifactKind, ArtifactStore, Manifest
from vsx.commands.output import JsonOption, console, print_json
from vsx.settings import get_settings

KEY_METRICS = ("precision@10", "mrr@10", "ndcg@10", "ann_recall@10")


def lineage(manifest: Manifest) -> str:
    """Where an artifact came from: an encoder's parent (`name@v`), an index's encoder (and the version a catalog
    update was written from, with what it added and removed)."""
    if manifest.kind == "index":
        update = manifest.update
        changes = f" (update of {update.parent}: +{update.added} -{update.removed})" if update else ""
        return (manifest.encoder or "-") + changes
    parent = manifest.training.get("parent")
    if parent:
        return str(parent)
    return f"{manifest.name}@{manifest.parent_version}" if manifest.parent_version else "-"


def key_metrics(manifest: Manifest, manifests: list[Manifest]) -> str:
    """Headline metrics (evaluations with query parameters carry a `[...]` suffix and are left out).

    Offline metrics are measured on an index, so an encoder without its own shows those of the
    newest evaluated index built with it.
    """
    source = manifest
    if manifest.kind == "encoder" and not manifest.metrics:
        evaluated = [m for m in manifests if m.kind == "index" and m.encoder == str(manifest.ref) and m.metrics]
        source = max(evaluated, key=lambda m: m.created_at, default=manifest)
    shown = [f"{name} {source.metrics[name]:.4f}" for name in KEY_METRICS if name in source.metrics]
    via = f" (index {source.ref})" if source is not manifest else ""
    return ", ".join(shown) + via if shown else "-"


def _summary(manifest: Manifest) -> dict[str, object]:
    """One artifact as `artifacts list --json` shows it."""
    return {
        "ref": str(manifest.ref),
        "kind": manifest.kind,
        "name": manifest.name,
        "version": manifest.version,
        "parent": lineage(manifest) if lineage(manifest) != "-" else None,
        "pairs": manifest.pairs.count if manifest.pairs else None,
        "metrics": manifest.metrics,
        "created_at": manifest.created_at.isoformat(),
    }


def _kind(value: str) -> ArtifactKind:
    for kind in KINDS:
        if value == kind:
            return kind
    raise typer.BadParameter(f"{value!r} is not one of {', '.join(KINDS)}", param_hint="--kind")


def register(app: typer.Typer) -> None:
    artifacts_app = typer.Typer(help="Encoder and index artifacts (name@version).", no_args_is_help=True)
    app.add_typer(artifacts_app, name="artifacts")

    @artifacts_app.command("list")
    def list_cmd(
        kind: str | None = typer.Option(None, help=f"Only this kind: {' or '.join(KINDS)}."),
        as_json: bool = JsonOption,
    ) -> None:
        """One row per artifact: ref, kind, parent (an index: its encoder), click pairs used, metrics, created."""
        settings = get_settings()
        every = ArtifactStore(settings.artifacts_dir).list()
        manifests = [m for m in every if kind is None or m.kind == _kind(kind)]
        if as_json:
            print_json([_summary(m) for m in manifests])
            return
        if not manifests:
            typer.echo(
                f"no {kind or 'artifact'}s yet in {settings.artifacts_dir} ({settings.moved_by('artifacts_dir')}); "
                "`vsx demo` or `vsx train` makes some"
            )
            return
        table = Table("artifact", "kind", "parent", "pairs", "metrics", "created (UTC)")
        for m in manifests:
            pairs = str(m.pairs.count) if m.pairs else "-"
            created = f"{m.created_at:%Y-%m-%d %H:%M}"
            table.add_row(str(m.ref), m.kind, lineage(m), pairs, key_metrics(m, every), created)
        console().print(table)

    @artifacts_app.command("show")
    def show_cmd(
        ref: str = typer.Argument(..., metavar="NAME@V", help="The artifact, e.g. cnn@2."),
        kind: str = typer.Option("encoder", help=f"{' or '.join(KINDS)}."),
    ) -> None:
        """The manifest as JSON, after checking every file's sha256."""
        manifest = ArtifactStore(get_settings().artifacts_dir).manifest(_kind(kind), ref)
        typer.echo(manifest.model_dump_json(indent=2))
