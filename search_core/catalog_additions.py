"""Images added to a catalog after it was loaded: where their files live, and the catalog that includes them.

A catalog spec (`fashion-mnist`, an image folder) is read-only input; images that arrive later through a
catalog update (`vsx index update --add`, `POST /v1/admin/catalog`) are kept in an additions folder of
their own, `<data_dir>/catalog/<catalog key>/`:

- `images/<sha256>.png`: each added image as PNG, named by the sha256 of the PNG bytes (content-addressed:
  the same image added twice is stored once, and a file never changes once written);
- `additions.jsonl`: one line per added image, `{"id", "sha256", "label"}`, appended (and fsynced) after
  the image file is in place, so a crash leaves at most an unreferenced file.

`ExtendedCatalog` is the base catalog plus these images (all in the gallery split; labels are indexes into
the base catalog's class names, -1 unknown). Ids are permanent: adding an id the catalog already has is
accepted only with the same pixels (a retried request, or indexing a catalog image an index lacks), and
removing an image from an index leaves its pixels here, since logged events and old index versions still
name it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from config_files.atomic import write_atomic
from search_core.catalog import Catalog
from search_core.errors import CatalogError, ImageConflictError, UnknownClassError
from search_core.images import FILE_SUFFIXES, encode_png, read_image

logger = logging.getLogger(__name__)

LOG_FILE = "additions.jsonl"
IMAGES_DIR = "images"


@dataclass(frozen=True)
class NewImage:
    """An image to add: its id, decoded pixels (uint8 HxW or HxWx3) and class index (-1 unknown)."""

    image_id: str
    pixels: np.ndarray
    label: int = -1


@dataclass(frozen=True)
class AddedImage:
    """One line of `additions.jsonl`."""

    image_id: str
    sha256: str
    label: int


def additions_dir(root: Path, catalog_spec: str) -> Path:
    """`<root>/<readable part of the spec>-<8 hex of its sha1>`: one folder per catalog, whatever its spec."""
    slug = re.sub(r"[^a-z0-9]+", "-", Path(catalog_spec).name.lower()).strip("-") or "catalog"
    return Path(root) / f"{slug}-{hashlib.sha1(catalog_spec.encode()).hexdigest()[:8]}"


class CatalogAdditions:
    """The additions folder of one catalog (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def entries(self) -> list[AddedImage]:
        """Every added image in the order added (a later line for the same id, impossible by `add`, is ignored)."""
        path = self.folder / LOG_FILE
        if not path.exists():
            return []
        seen: dict[str, AddedImage] = {}
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                entry = AddedImage(str(row["id"]), str(row["sha256"]), int(row["label"]))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise CatalogError(f"{path}:{number}: not an additions line ({exc})") from None
            seen.setdefault(entry.image_id, entry)
        return list(seen.values())

    def image_path(self, sha256: str) -> Path:
        return self.folder / IMAGES_DIR / f"{sha256}.png"

    def add(self, catalog: Catalog, images: Sequence[NewImage]) -> list[NewImage]:
        """Store the images the catalog does not have yet; returns those (the others have the same pixels).

        Raises `ImageConflictError`, before writing anything, for an id the catalog holds with other pixels.
        """
        fresh = [image for image in images if not _same_as_catalog(catalog, image)]
        if not fresh:
            return []
        (self.folder / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
        lines = []
        for image in fresh:
            png = encode_png(image.pixels)
            sha = hashlib.sha256(png).hexdigest()
            path = self.image_path(sha)
            if not path.exists():
                write_atomic(path, png)
            lines.append(orjson.dumps({"id": image.image_id, "sha256": sha, "label": image.label}) + b"\n")
        with (self.folder / LOG_FILE).open("ab") as fh:
            fh.write(b"".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
        logger.info("catalog additions %s: %d new image(s)", self.folder, len(fresh))
        return fresh


def read_new_images(source: Path, catalog: Catalog) -> list[NewImage]:
    """Images to add from a folder or a list file, decoded (`InvalidImageError` names the first bad file).

    A folder: every JPEG/PNG/WebP file under it, id = its path relative to the folder (as a folder catalog
    names files), label = its first folder when that is one of the catalog's class names. A list file: one
    image per line, `PATH` or `PATH<TAB>CLASS`, paths relative to the list's folder, id = the path as written.
    """
    classes = {name: label for label, name in enumerate(catalog.class_names)}
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES)
        named = [(p.relative_to(source).as_posix(), p) for p in files]
        labelled = [(i, p, classes.get(i.split("/")[0], -1) if "/" in i else -1) for i, p in named]
    elif source.is_file():
        labelled = []
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            path, _, class_name = line.strip().partition("\t")
            if class_name and class_name not in classes:
                raise UnknownClassError(f"{source}:{number}: unknown class {class_name!r}")
            labelled.append((path, source.parent / path, classes.get(class_name, -1)))
    else:
        raise CatalogError(f"{source} is neither a folder of images nor a list file")
    if not labelled:
        raise CatalogError(f"no JPEG, PNG or WebP images in {source}")
    return [NewImage(image_id, read_image(path), label) for image_id, path, label in labelled]


def _same_as_catalog(catalog: Catalog, image: NewImage) -> bool:
    """False for an id the catalog lacks; True when it holds the id with these pixels; a conflict otherwise."""
    if image.image_id not in catalog:
        return False
    if np.array_equal(catalog.image(image.image_id), image.pixels):
        return True
    raise ImageConflictError(
        f"image {image.image_id!r} is already in catalog {catalog.name!r} with other pixels; ids are permanent, "
        "add it under a new id"
    )


class ExtendedCatalog(Catalog):
    """A base catalog plus the images of its additions folder (in the gallery split)."""

    def __init__(self, base: Catalog, additions: CatalogAdditions) -> None:
        entries = [e for e in additions.entries() if e.image_id not in base]
        labels = np.array([e.label for e in entries], dtype=np.int64)
        base_queries = np.zeros(len(base), dtype=bool)
        base_queries[base.positions(base.query_ids)] = True
        super().__init__(
            base.name,
            [*base.ids, *(e.image_id for e in entries)],
            np.concatenate([base.labels_for(base.ids), labels]),
            list(base.class_names),
            np.concatenate([base_queries, np.zeros(len(entries), dtype=bool)]),
            base.grey,
            base.image_size,
        )
        self.base = base
        self.skipped = base.skipped
        self._files = [additions.image_path(e.sha256) for e in entries]

    def _load(self, positions: np.ndarray) -> np.ndarray | list[np.ndarray]:
        n_base = len(self.base)
        if len(positions) and positions.max() < n_base:
            return self.base._load(positions)
        images = [
            self.base._load(np.array([p]))[0] if p < n_base else read_image(self._files[p - n_base])
            for p in positions.tolist()
        ]
        if images and all(im.shape == images[0].shape for im in images):
            return np.stack(images)
        return images


def extend_catalog(base: Catalog, additions: CatalogAdditions) -> Catalog:
    """`base` itself when nothing was added (no copy of its id lists), else an `ExtendedCatalog`."""
    return ExtendedCatalog(base, additions) if additions.entries() else base
