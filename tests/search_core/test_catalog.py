"""Catalogs: Fashion-MNIST from its IDX files (and corrupt copies of them) and folders of image files."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from search_core.catalog import FASHION_MNIST_DIR, load_catalog, load_fashion_mnist, read_idx
from search_core.errors import CatalogError, UnknownImageError
from search_core.images import decode_image

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 10_000_000}


@pytest.fixture(scope="module")
def fmnist():
    return load_catalog("fashion-mnist")


def test_fashion_mnist_splits_ids_and_labels(fmnist) -> None:
    assert (len(fmnist.gallery_ids), len(fmnist.query_ids), len(fmnist)) == (60_000, 10_000, 70_000)
    assert fmnist.gallery_ids[123] == "fmnist-train-000123"
    assert fmnist.query_ids[123] == "fmnist-test-000123"
    assert fmnist.class_names[0] == "T-shirt/top" and len(fmnist.class_names) == 10
    assert fmnist.label("fmnist-train-000000") == 9  # the first training image is an ankle boot
    assert fmnist.labels_for(["fmnist-train-000000", "fmnist-test-000000"]).tolist() == [9, 9]
    assert np.bincount(fmnist.labels_for(fmnist.gallery_ids)).tolist() == [6000] * 10
    assert fmnist.grey and fmnist.image_size == 28


def test_fashion_mnist_holds_out_a_validation_split(fmnist) -> None:
    validation, train = set(fmnist.validation_ids), set(fmnist.train_ids)
    assert (len(validation), len(train)) == (5_000, 55_000)
    assert validation | train == set(fmnist.gallery_ids) and not validation & train
    assert all(i.startswith("fmnist-train-") for i in validation)  # never a test image
    assert np.bincount(fmnist.labels_for(fmnist.validation_ids)).min() > 400  # every class is validated
    assert fmnist.validation_ids == load_catalog("fashion-mnist").validation_ids  # the same split every load
    assert fmnist.train_ids == [i for i in fmnist.gallery_ids if i not in validation]  # gallery order


def test_fashion_mnist_images_and_png(fmnist) -> None:
    image = fmnist.image("fmnist-test-000042")
    assert image.shape == (28, 28) and image.dtype == np.uint8
    stacked = fmnist.images(["fmnist-test-000042", "fmnist-train-000001"])
    assert stacked.shape == (2, 28, 28)
    np.testing.assert_array_equal(stacked[0], image)
    np.testing.assert_array_equal(decode_image(fmnist.png("fmnist-test-000042"), **LIMITS), image)


def test_unknown_id_is_a_lookup_error(fmnist) -> None:
    assert "fmnist-train-000001" in fmnist and "fmnist-train-999999" not in fmnist
    with pytest.raises(UnknownImageError, match="fmnist-train-999999"):
        fmnist.image("fmnist-train-999999")
    with pytest.raises(LookupError):
        fmnist.labels_for(["fmnist-test-000001", "nope"])
    with pytest.raises(UnknownImageError, match="'nope' is not in the catalog"):
        fmnist.label("nope")


def test_truncated_idx_file_is_a_clear_error(tmp_path: Path) -> None:
    name = "train-images-idx3-ubyte.gz"
    (tmp_path / name).write_bytes((FASHION_MNIST_DIR / name).read_bytes()[:100_000])
    with pytest.raises(CatalogError, match=f"corrupt IDX file .*{name}: gzip"):
        load_fashion_mnist(tmp_path)


def test_idx_files_that_disagree_are_an_error(tmp_path: Path) -> None:
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(FASHION_MNIST_DIR / name, tmp_path / name)
    labels = np.zeros(59_999, dtype=np.uint8)
    header = b"\x00\x00\x08\x01" + len(labels).to_bytes(4, "big")
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header + labels.tobytes()))
    with pytest.raises(CatalogError, match="60000 images but 59999 labels"):
        load_fashion_mnist(tmp_path)


def test_idx_with_wrong_header_or_length_is_a_clear_error(tmp_path: Path) -> None:
    wrong_magic = tmp_path / "magic.gz"
    wrong_magic.write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + b"abc"))
    with pytest.raises(CatalogError, match="not an IDX header"):
        read_idx(wrong_magic, ndim=1)
    short = tmp_path / "short.gz"
    short.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc"))
    with pytest.raises(CatalogError, match=r"header says \(5,\), data has 3 bytes"):
        read_idx(short, ndim=1)


def test_missing_dataset_and_unknown_spec(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="not found"):
        load_fashion_mnist(tmp_path)
    with pytest.raises(CatalogError, match="neither 'fashion-mnist' nor an existing folder"):
        load_catalog(str(tmp_path / "nowhere"))


def _save(path: Path, image: Image.Image, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two classes in three formats, grey and colour, several sizes, plus two broken files and a text file."""
    root = tmp_path / "shop"
    rng = np.random.default_rng(0)
    for n in range(12):
        _save(root / "shoes" / f"s{n}.png", Image.fromarray(rng.integers(0, 255, (20, 30), dtype=np.uint8)), "PNG")
        _save(root / "bags" / f"b{n}.jpg", Image.new("RGB", (16 + n, 16), (n * 20, 40, 90)), "JPEG")
    _save(root / "bags" / "b.webp", Image.new("RGB", (8, 8), (1, 2, 3)), "WEBP")
    (root / "bags" / "fake.jpg").write_text("definitely not a jpeg")
    good = (root / "shoes" / "s0.png").read_bytes()
    (root / "shoes" / "cut.png").write_bytes(good[: len(good) // 2])
    (root / "README.txt").write_text("ignored: not an image suffix")
    return root


def test_folder_catalog_ids_labels_and_skips(folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="search_core.catalog"):
        catalog = load_catalog(str(folder))
    assert catalog.name == str(folder.resolve())
    assert len(catalog) == 25 and "bags/b3.jpg" in catalog and "shoes/s11.png" in catalog
    assert catalog.class_names == ["bags", "shoes"]
    assert catalog.label("bags/b.webp") == 0 and catalog.label("shoes/s2.png") == 1
    assert sorted(rel for rel, _ in catalog.skipped) == ["bags/fake.jpg", "shoes/cut.png"]
    per_file = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipping")]
    assert len(per_file) == 2 and any("fake.jpg: not a JPEG, PNG or WebP" in m for m in per_file)
    assert not catalog.grey and catalog.image_size is None
    assert catalog.image("shoes/s1.png").shape == (20, 30)
    assert catalog.image("bags/b1.jpg").shape == (16, 17, 3)
    assert isinstance(catalog.images(["shoes/s1.png", "bags/b1.jpg"]), list)
    assert catalog.images(["shoes/s1.png", "shoes/s2.png"]).shape == (2, 20, 30)


def test_folder_split_is_a_stable_disjoint_holdout(folder: Path) -> None:
    catalog = load_catalog(str(folder))
    assert catalog.query_ids and set(catalog.query_ids).isdisjoint(catalog.gallery_ids)
    assert sorted(catalog.query_ids + catalog.gallery_ids) == sorted(catalog.ids)
    assert set(catalog.validation_ids) <= set(catalog.gallery_ids)
    assert sorted(catalog.validation_ids + catalog.train_ids) == sorted(catalog.gallery_ids)
    _save(folder / "shoes" / "new.png", Image.new("L", (20, 30)), "PNG")
    grown = load_catalog(str(folder))
    assert set(catalog.query_ids) <= set(grown.query_ids)  # adding a file moves no existing image
    assert set(catalog.gallery_ids) <= set(grown.gallery_ids)
    assert set(catalog.validation_ids) <= set(grown.validation_ids)


def test_folder_validation_is_about_a_twelfth_of_the_gallery(tmp_path: Path) -> None:
    for n in range(600):
        _save(tmp_path / "c" / f"{n}.png", Image.new("L", (8, 8), n % 256), "PNG")
    catalog = load_catalog(str(tmp_path))
    assert 30 <= len(catalog.validation_ids) <= 70 and not set(catalog.validation_ids) & set(catalog.query_ids)


def test_folder_without_class_folders(tmp_path: Path) -> None:
    for n in range(2):
        _save(tmp_path / f"{n}.png", Image.new("L", (10, 10), n), "PNG")
    catalog = load_catalog(str(tmp_path))
    assert catalog.class_names == [] and catalog.labels_for(catalog.ids).tolist() == [-1, -1]
    assert len(catalog.query_ids) == 1  # at least one query, even when the hash picks none
    assert catalog.grey and catalog.image_size == 10


def test_folder_without_readable_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_text("nope")
    with pytest.raises(CatalogError, match="no readable JPEG, PNG or WebP images .*1 skipped"):
        load_catalog(str(tmp_path))
