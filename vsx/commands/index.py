"""`vsx index build ENCODER@V --factory HNSW32`: embed the catalog's gallery and publish a Faiss index artifact.
`vsx index update INDEX@V --add FOLDER_OR_LIST --remove IDS`: the next version with images added and removed."""

from __future__ import annotations

from pathlib import Path

import typer

from search_core.artifacts import ArtifactStore
from search_core.catalog import load_catalog
from vsx.settings import get_settings

PARAM_HELP = "Query parameter KEY=VALUE (efSearch, nprobe, k_factor, refine); repeatable."


def parse_params(items: list[str]) -> dict[str, int | float]:
    """`["nprobe=16", "k_factor=1.5"]` → `{"nprobe": 16, "k_factor": 1.5}`; names are checked by the index."""
    params: dict[str, int | float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        number = _number(value)
        if not sep or not key.strip() or number is None:
            raise typer.BadParameter(f"{item!r} is not KEY=NUMBER (e.g. nprobe=16)", param_hint="--param")
        params[key.strip()] = number
    return params


def _number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return None


def register(app: typer.Typer) -> None:
    index_app = typer.Typer(help="Faiss index artifacts.", no_args_is_help=True)
    app.add_typer(index_app, name="index")

    @index_app.command("build")
    def build_cmd(
        encoder: str = typer.Argument(..., metavar="ENCODER@V", help="Encoder artifact that embeds the gallery."),
        factory: str = typer.Option("HNSW32", help="Faiss factory string: Flat, HNSW32, IVF1024,PQ16, IVF256,Flat…"),
        name: str | None = typer.Option(None, help="Index artifact name (default: <encoder>-<factory>)."),
        catalog: str | None = typer.Option(None, help="Catalog spec (default: the encoder's catalog)."),
        param: list[str] = typer.Option([], "--param", help="Default " + PARAM_HELP),
        train_sample: int = typer.Option(100_000, min=1, help="Vectors sampled (seeded) to train IVF/PQ/SQ."),
        seed: int = typer.Option(0, help="Seed of the training sample and of the recall queries."),
    ) -> None:
        """Build the next version of an index artifact; prints its ref and ANN recall@10 vs exact search."""
        from search_core.index_artifact import build_index_artifact

        store = ArtifactStore(get_settings().artifacts_dir)
        params = parse_params(param)
        spec = catalog or store.manifest("encoder", encoder).catalog
        manifest = build_index_artifact(
            store,
            encoder_ref=encoder,
            catalog=load_catalog(spec),
            factory=factory,
            name=name,
            params=params,
            train_sample=train_sample,
            seed=seed,
        )
        typer.echo(
            f"index {manifest.ref}: {manifest.factory} over {manifest.training['vectors']} vectors of "
            f"{manifest.encoder} (dim {manifest.dim}), built in {manifest.training['build_seconds']:.1f} s, "
            f"ANN recall@10 {manifest.metrics['ann_recall@10']:.4f}"
        )
        typer.echo(str(store.path("index", manifest.ref)))

    @index_app.command("update")
    def update_cmd(
        index: str = typer.Argument(..., metavar="INDEX@V", help="The newest version of its chain."),
        add: Path | None = typer.Option(
            None,
            metavar="FOLDER_OR_LIST",
            help="Images to add: a folder (ids = paths inside it, class = first folder) or a list file of "
            "PATH or PATH<TAB>CLASS lines.",
        ),
        remove: list[str] = typer.Option([], help="Image ids to remove, comma-separated; repeatable."),
    ) -> None:
        """Write the next index version: only the new images are embedded; a running server takes it on
        POST /v1/admin/reload."""
        from search_core.index_update import update_index_artifact

        settings = get_settings()
        ids = [i.strip() for item in remove for i in item.split(",") if i.strip()]
        store = ArtifactStore(settings.artifacts_dir)
        manifest = update_index_artifact(store, index, settings.catalog_additions_dir, add=add, remove=ids)
        update = manifest.update
        assert update is not None  # written by a catalog update
        typer.echo(
            f"index {manifest.ref}: {update.parent} + {update.added} added - {update.removed} removed, "
            f"{manifest.training.get('vectors')} vectors"
        )
        typer.echo(str(store.path("index", manifest.ref)))
