"""A small real catalog folder for tests: the first `per_class` Fashion-MNIST training images of each class."""

from __future__ import annotations

from pathlib import Path

from search_core.catalog import load_catalog


def write_fashion_folder(root: Path, per_class: int) -> Path:
    """`root/<class>/<n>.png`; about a tenth of the files become queries (the folder catalog's holdout)."""
    fmnist = load_catalog("fashion-mnist")
    candidates = fmnist.gallery_ids[: per_class * 60]
    labels = fmnist.labels_for(candidates)
    for label, name in enumerate(fmnist.class_names):
        folder = root / name.replace("/", "-").replace(" ", "_")
        folder.mkdir(parents=True)
        chosen = [i for i, lab in zip(candidates, labels, strict=True) if lab == label][:per_class]
        for n, image_id in enumerate(chosen):
            (folder / f"{n:03d}.png").write_bytes(fmnist.png(image_id))
    return root
