"""Catalogs: the images a search engine indexes (gallery) and the images it is evaluated with (queries).

Two kinds, chosen by `load_catalog(spec)`:
- `"fashion-mnist"`: the Debian IDX files; the train split (60 000) is the gallery, the test split
  (10 000) the queries, ids `fmnist-train-000123` / `fmnist-test-000123`, labels the 10 classes.
- a folder `root/<class>/<file>` of JPEG, PNG or WebP files (class folders optional: files directly in
  `root` have label -1). Ids are relative paths with `/`. Every file is decoded once at load, so a
  corrupt or non-image file is skipped then (one warning naming file and reason, a count in
  `skipped`) rather than failing a search later. The query split is a holdout decided by a hash of
  each id (`QUERY_FRACTION` of the files): stable when files are added or removed, unlike a seeded
  shuffle, so an image never moves between gallery and queries as the folder grows.

Both kinds also hold out a **validation** split of the gallery (`validation_ids`): images that stay in
the index but never train an encoder and never appear in simulated traffic, so recipe choices (epochs,
rates, which clicks to use) are made on them and the query split is looked at only to report a number.
Fashion-MNIST holds out exactly `FASHION_MNIST_VALIDATION` training images, a folder `VALIDATION_FRACTION`
of its gallery; both choose by a salted hash of the id, so the split never changes between runs.
`train_ids` (gallery minus validation) is what training and traffic draw from.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from search_core.errors import CatalogError, ImageTooLargeError, InvalidImageError, UnknownImageError
from search_core.images import FILE_SUFFIXES, encode_png, read_image

logger = logging.getLogger(__name__)

FASHION_MNIST = "fashion-mnist"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
QUERY_FRACTION = 0.1
VALIDATION_FRACTION = 1 / 12
"""Share of a folder's gallery held out for validation (5,000 of 60,000, as Fashion-MNIST's)."""
FASHION_MNIST_VALIDATION = 5_000


class Catalog(ABC):
    """Image ids, their labels and splits, and access to their pixels.

    Subclasses only say where pixels come from (`_load`); ids, labels and splits live here.
    Images are uint8 `HxW` (grey) or `HxWx3` (RGB); `grey` is True when every image is grey, and
    `image_size` is the side of the images when all are squares of one size (else None).
    """

    def __init__(
        self,
        name: str,
        ids: list[str],
        labels: np.ndarray,
        class_names: list[str],
        query_mask: np.ndarray,
        grey: bool,
        image_size: int | None,
        validation_mask: np.ndarray | None = None,
    ) -> None:
        self.name = name
        self.ids = ids
        self.class_names = class_names
        self.grey = grey
        self.image_size = image_size
        self.skipped: list[tuple[str, str]] = []
        """(id, reason) of files left out as unreadable (folder catalogs)."""
        self._labels = labels.astype(np.int64)
        self._position = {image_id: i for i, image_id in enumerate(ids)}
        self.query_ids = [image_id for image_id, is_query in zip(ids, query_mask, strict=True) if is_query]
        self.gallery_ids = [image_id for image_id, is_query in zip(ids, query_mask, strict=True) if not is_query]
        held_out = np.zeros(len(ids), dtype=bool) if validation_mask is None else validation_mask & ~query_mask
        self.validation_ids = [image_id for image_id, held in zip(ids, held_out, strict=True) if held]
        """Gallery images held out of training and traffic (indexed, searchable, used to choose recipes)."""
        in_train = ~(query_mask | held_out)
        self.train_ids = [image_id for image_id, train in zip(ids, in_train, strict=True) if train]
        """Gallery images that train encoders and that simulated users search with."""

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._position

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self.gallery_ids)} gallery, {len(self.query_ids)} queries)"

    def positions(self, ids: Sequence[str]) -> np.ndarray:
        """Row numbers of `ids` in `self.ids`; `UnknownImageError` names the first unknown id."""
        try:
            return np.fromiter((self._position[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as exc:
            raise self._unknown(exc.args[0]) from None

    def label(self, image_id: str) -> int:
        """Class index of an image, -1 when unknown (a folder file outside class folders).

        One dict lookup, no numpy array: serving labels every result of every search, where building an
        array per call showed in the profile (BENCHMARKS.md, "Serving")."""
        try:
            return int(self._labels[self._position[image_id]])
        except KeyError:
            raise self._unknown(image_id) from None

    def _unknown(self, image_id: str) -> UnknownImageError:
        # Neither the catalog's name (a folder catalog's is its absolute path) nor all of a long id: this
        # message is what an HTTP client that sent the id reads.
        shown = repr(image_id) if len(image_id) <= 80 else f"{image_id[:60]!r}… ({len(image_id):,} characters)"
        return UnknownImageError(f"image {shown} is not in the catalog")

    def labels_for(self, ids: Sequence[str]) -> np.ndarray:
        return self._labels[self.positions(ids)]

    def image(self, image_id: str) -> np.ndarray:
        return self._load(self.positions([image_id]))[0]

    def images(self, ids: Sequence[str]) -> np.ndarray | list[np.ndarray]:
        """Pixels of `ids`: one stacked array when all have the same shape, else a list."""
        return self._load(self.positions(ids))

    def png(self, image_id: str) -> bytes:
        return encode_png(self.image(image_id))

    @abstractmethod
    def _load(self, positions: np.ndarray) -> np.ndarray | list[np.ndarray]:
        """Pixels of the images at `positions` (rows of `self.ids`)."""


class ArrayCatalog(Catalog):
    """A catalog held in memory as one `(N, H, W)` or `(N, H, W, 3)` uint8 array (Fashion-MNIST: 55 MB)."""

    def __init__(
        self,
        name: str,
        ids: list[str],
        pixels: np.ndarray,
        labels: np.ndarray,
        class_names: list[str],
        query_mask: np.ndarray,
        validation_mask: np.ndarray | None = None,
    ) -> None:
        square = pixels.shape[1] == pixels.shape[2]
        side = pixels.shape[1] if square else None
        super().__init__(name, ids, labels, class_names, query_mask, pixels.ndim == 3, side, validation_mask)
        pixels.setflags(write=False)
        self.pixels = pixels

    def _load(self, positions: np.ndarray) -> np.ndarray:
        return self.pixels[positions]


class FolderCatalog(Catalog):
    """Files under `root`, decoded on access (only their validity is checked at load)."""

    def __init__(
        self,
        root: Path,
        ids: list[str],
        labels: np.ndarray,
        class_names: list[str],
        query_mask: np.ndarray,
        grey: bool,
        image_size: int | None,
        skipped: list[tuple[str, str]],
        validation_mask: np.ndarray | None = None,
    ) -> None:
        super().__init__(str(root), ids, labels, class_names, query_mask, grey, image_size, validation_mask)
        self.root = root
        self.skipped = skipped

    def _load(self, positions: np.ndarray) -> np.ndarray | list[np.ndarray]:
        images = [read_image(self.root / self.ids[p]) for p in positions]
        if images and all(im.shape == images[0].shape for im in images):
            return np.stack(images)
        return images


def load_catalog(spec: str = FASHION_MNIST) -> Catalog:
    """`"fashion-mnist"` or the path of an image folder (see the module docstring)."""
    if spec == FASHION_MNIST:
        return load_fashion_mnist(FASHION_MNIST_DIR)
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise CatalogError(f"catalog {spec!r} is neither {FASHION_MNIST!r} nor an existing folder")
    return load_folder(root)


def load_fashion_mnist(directory: Path) -> ArrayCatalog:
    """Fashion-MNIST from its four IDX files in `directory` (decoding all 70 000 images takes ~0.5 s)."""
    train = read_idx(directory / "train-images-idx3-ubyte.gz", ndim=3)
    train_labels = read_idx(directory / "train-labels-idx1-ubyte.gz", ndim=1)
    test = read_idx(directory / "t10k-images-idx3-ubyte.gz", ndim=3)
    test_labels = read_idx(directory / "t10k-labels-idx1-ubyte.gz", ndim=1)
    for images, labels, split in ((train, train_labels, "train"), (test, test_labels, "t10k")):
        if len(images) != len(labels):
            raise CatalogError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels in {directory}")
        if labels.max(initial=0) >= len(FASHION_MNIST_CLASSES):
            raise CatalogError(f"Fashion-MNIST {split}: label {labels.max()} is not one of the 10 classes")
    ids = [f"fmnist-train-{i:06d}" for i in range(len(train))] + [f"fmnist-test-{i:06d}" for i in range(len(test))]
    query_mask = np.arange(len(ids)) >= len(train)
    position = np.where(query_mask, np.inf, _hash_position(ids, "validation/"))
    validation_mask = np.zeros(len(ids), dtype=bool)
    validation_mask[np.argsort(position, kind="stable")[: min(FASHION_MNIST_VALIDATION, len(train) // 2)]] = True
    return ArrayCatalog(
        FASHION_MNIST,
        ids,
        np.concatenate([train, test]),
        np.concatenate([train_labels, test_labels]),
        class_names=list(FASHION_MNIST_CLASSES),
        query_mask=query_mask,
        validation_mask=validation_mask,
    )


def read_idx(path: Path, *, ndim: int) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes (LeCun's MNIST format) as an array; `CatalogError` if corrupt.

    Header: two zero bytes, type code 0x08 (ubyte), number of dimensions, then one big-endian
    uint32 per dimension; the data must be exactly the product of the dimensions.
    """
    if not path.is_file():
        raise CatalogError(f"Fashion-MNIST file {path} not found (apt-get install dataset-fashion-mnist)")
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise CatalogError(f"corrupt IDX file {path}: gzip: {exc}") from None
    header = 4 + 4 * ndim
    if len(data) < header or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise CatalogError(f"corrupt IDX file {path}: not an IDX header for {ndim}-d unsigned bytes")
    shape = tuple(int.from_bytes(data[4 + 4 * d : 8 + 4 * d], "big") for d in range(ndim))
    if len(data) - header != int(np.prod(shape)):
        raise CatalogError(f"corrupt IDX file {path}: header says {shape}, data has {len(data) - header} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_folder(root: Path, *, query_fraction: float = QUERY_FRACTION) -> FolderCatalog:
    """Every JPEG/PNG/WebP file under `root` (recursively); files that do not decode are skipped and logged."""
    root = root.resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES)
    with ThreadPoolExecutor(max_workers=4) as pool:  # Pillow releases the GIL while decoding
        checks = list(pool.map(_check_file, files))
    ids, shapes, skipped = [], set(), []
    for path, (shape, reason) in zip(files, checks, strict=True):
        rel = path.relative_to(root).as_posix()
        if reason is None:
            ids.append(rel)
            shapes.add(shape)
        else:
            logger.warning("skipping %s: %s", rel, reason)
            skipped.append((rel, reason))
    if not ids:
        raise CatalogError(f"no readable JPEG, PNG or WebP images under {root} ({len(skipped)} skipped)")
    if skipped:
        logger.warning("catalog %s: skipped %d unreadable file(s) of %d", root, len(skipped), len(files))
    classes = sorted({i.split("/")[0] for i in ids if "/" in i})
    class_index = {c: k for k, c in enumerate(classes)}
    labels = np.array([class_index[i.split("/")[0]] if "/" in i else -1 for i in ids], dtype=np.int64)
    grey = all(len(shape) == 2 for shape in shapes)
    sides = {shape[0] for shape in shapes if shape[0] == shape[1]}
    image_size = sides.pop() if len(shapes) == 1 and sides else None
    query_mask = _holdout(ids, query_fraction)
    validation_mask = _hash_position(ids, "validation/") < VALIDATION_FRACTION
    return FolderCatalog(root, ids, labels, classes, query_mask, grey, image_size, skipped, validation_mask)


def _check_file(path: Path) -> tuple[tuple[int, ...], str | None]:
    """(array shape, None) for a decodable image, ((), reason) otherwise."""
    try:
        return read_image(path).shape, None
    except (InvalidImageError, ImageTooLargeError) as exc:
        return (), str(exc).removeprefix(f"{path}: ")


def _hash_position(ids: Sequence[str], salt: str = "") -> np.ndarray:
    """Each id's place in [0, 1) by the sha1 of `salt + id`: a split that never depends on the other ids."""
    return np.array([int(hashlib.sha1((salt + i).encode()).hexdigest()[:12], 16) / 16**12 for i in ids])


def _holdout(ids: list[str], fraction: float) -> np.ndarray:
    """Queries = ids whose sha1 falls below `fraction`; at least one query when there are two images or more."""
    position = _hash_position(ids)
    mask = position < fraction
    if not mask.any() and len(ids) >= 2:
        mask[int(position.argmin())] = True
    return mask
