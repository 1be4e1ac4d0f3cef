"""`vsx catalog info [--catalog SPEC]`: what a catalog holds (splits, classes, image shape, skipped files)."""

from __future__ import annotations

import numpy as np
import typer
from rich.table import Table

from search_core.catalog import load_catalog
from vsx.commands.output import CatalogOption
from vsx.commands.output import console as make_console


def register(app: typer.Typer) -> None:
    catalog_app = typer.Typer(help="Image catalogs: Fashion-MNIST or a folder of images.", no_args_is_help=True)
    app.add_typer(catalog_app, name="catalog")

    @catalog_app.command("info")
    def info_cmd(catalog: str = CatalogOption) -> None:
        """Counts per split and class, image format, and any files skipped as unreadable."""
        cat = load_catalog(catalog)
        console = make_console()
        size = f"{cat.image_size}x{cat.image_size}" if cat.image_size else "mixed sizes"
        console.print(
            f"catalog [bold]{cat.name}[/]: {len(cat)} images ({len(cat.gallery_ids)} gallery, "
            f"{len(cat.query_ids)} queries), {'grey' if cat.grey else 'colour'}, {size}",
            soft_wrap=True,
        )
        gallery, queries = cat.labels_for(cat.gallery_ids), cat.labels_for(cat.query_ids)
        table = Table("label", "class", "gallery", "queries")
        for label, name in [*enumerate(cat.class_names), (-1, "(no class folder)")]:
            counts = int(np.sum(gallery == label)), int(np.sum(queries == label))
            if label >= 0 or any(counts):
                table.add_row(str(label), name, str(counts[0]), str(counts[1]))
        console.print(table)
        if cat.skipped:
            console.print(f"skipped {len(cat.skipped)} unreadable file(s):")
            for rel, reason in cat.skipped:
                console.print(f"  {rel}: {reason}", markup=False, soft_wrap=True)
