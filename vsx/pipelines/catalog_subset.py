"""A small Fashion-MNIST catalog as an image folder, for `vsx demo --quick` and tests.

`root/<class>/<n>.png` with the first `per_class` training images of each class; the folder catalog
then holds out a seeded tenth as queries (see `search_core.catalog.load_folder`). Written once: an
existing folder with the right number of files is reused.
"""

from __future__ import annotations

from pathlib import Path

from search_core.catalog import load_catalog


def fashion_subset_folder(root: Path, per_class: int) -> Path:
    """Materialise (or reuse) the subset folder and return it; usable as a catalog spec."""
    expected = per_class * 10
    if root.is_dir() and sum(1 for _ in root.glob("*/*.png")) == expected:
        return root
    fmnist = load_catalog("fashion-mnist")
    labels = fmnist.labels_for(fmnist.gallery_ids)
    counts = dict.fromkeys(range(len(fmnist.class_names)), 0)
    for image_id, label in zip(fmnist.gallery_ids, labels, strict=True):
        if counts[int(label)] >= per_class:
            continue
        folder = root / fmnist.class_names[int(label)].replace("/", "-").replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{counts[int(label)]:04d}.png").write_bytes(fmnist.png(image_id))
        counts[int(label)] += 1
        if all(c >= per_class for c in counts.values()):
            break
    return root
