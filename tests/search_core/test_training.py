"""Contrastive training: the loss against pytorch-metric-learning, augmentations, batches, and tiny real runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import orjson
import pytest
import torch
from pytorch_metric_learning.losses import NTXentLoss

from search_core.artifacts import ArtifactStore
from search_core.catalog import ArrayCatalog, load_catalog
from search_core.encoders import load_encoder
from search_core.errors import TrainingError, UnknownEncoderError
from search_core.pairs import ClickPair
from search_core.training import (
    TRAIN_CONFIGS,
    AugmentConfig,
    TrainConfig,
    WeightedNTXentLoss,
    augment,
    build_pixels_encoder,
    train_encoder,
)
from search_core.training.batches import BatchSampler
from search_core.training.data import mine_neighbours, prepare_data

TINY = TrainConfig(
    encoder_kwargs={"width": 4, "pool": 2},
    dim=8,
    epochs=1,
    batch_size=16,
    projection_dim=8,
    neighbours=2,
    neighbour_refresh=1,
    threads=1,
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_loss_equals_pytorch_metric_learning_ntxent() -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(24, 8, generator=g)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 9, 10, 11, 11])
    expected = NTXentLoss(temperature=0.2)(z, labels)
    torch.testing.assert_close(WeightedNTXentLoss(0.2)(z, labels), expected)
    torch.testing.assert_close(WeightedNTXentLoss(0.2)(z, labels, torch.full((24,), 3.0)), expected)


def test_weights_shift_the_loss_towards_heavy_anchors() -> None:
    z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [1.0, 0.2]])
    labels = torch.tensor([0, 0, 1, 1])  # pair 0 agrees, pair 1 does not
    loss = WeightedNTXentLoss(0.5)
    light, heavy = torch.tensor([1.0, 1, 0.1, 0.1]), torch.tensor([0.1, 0.1, 1, 1])
    assert loss(z, labels, light) < loss(z, labels) < loss(z, labels, heavy)
    assert loss(z, torch.zeros(4, dtype=torch.long)).item() == 0.0  # no negatives: nothing to contrast


def test_augment_keeps_shape_and_range_and_is_seeded() -> None:
    x = torch.rand(6, 1, 28, 28)
    first = augment(x, AugmentConfig(), torch.Generator().manual_seed(1))
    again = augment(x, AugmentConfig(), torch.Generator().manual_seed(1))
    other = augment(x, AugmentConfig(), torch.Generator().manual_seed(2))
    assert first.shape == x.shape and first.min() >= 0.0 and first.max() <= 1.0
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)
    identity = AugmentConfig(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), hflip=0.0, rotate_degrees=0.0,
                             brightness=0.0, contrast=0.0)  # fmt: skip
    torch.testing.assert_close(augment(x, identity, torch.Generator()), x, atol=1e-5, rtol=0)


def test_batches_mix_anchors_neighbours_and_weighted_pairs() -> None:
    from search_core.training.batches import PairTable

    pairs = PairTable(torch.tensor([100, 101]), torch.tensor([200, 201]), torch.tensor([0.9, 0.1]))
    sampler = BatchSampler(40, 16, pairs=pairs, pair_fraction=0.25, pair_weight=2.0, neighbour_prob=1.0,
                           generator=torch.Generator().manual_seed(0))  # fmt: skip
    sampler.neighbours = (torch.arange(40) + 1).remainder(40)[:, None]
    assert (sampler.anchors_per_batch, sampler.n_pairs, len(sampler)) == (12, 4, 3)
    batches = list(sampler.epoch())
    batch = batches[0]
    anchors, positives = batch.rows[:12], batch.rows[12:24]
    assert torch.equal(positives, (anchors + 1).remainder(40))  # every positive is the mined neighbour
    assert torch.equal(batch.labels[:24], torch.arange(12).repeat(2))
    assert torch.equal(batch.labels[24:], torch.arange(12, 16).repeat(2))
    assert batch.weights[:24].eq(1).all() and batch.weights[24:].eq(2).all()
    assert set(batch.rows[24:28].tolist()) <= {100, 101}
    drawn = torch.cat([b.rows[24:28] for _ in range(50) for b in sampler.epoch()])
    assert 0.8 < (drawn == 100).float().mean() < 0.97  # proportional to weight 0.9


def test_mined_neighbours_exclude_the_image_itself() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 3]] + 0.01
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = mine_neighbours(vectors, 2)
    assert found.shape == (5, 2)
    assert all(row not in found[row].tolist() for row in range(5))
    assert found[0, 0] == 1 and found[1, 0] == 0  # duplicates find each other first


@pytest.fixture(scope="module")
def tiny_catalog() -> ArrayCatalog:
    """120 Fashion-MNIST training images (100 gallery, 20 queries)."""
    fmnist = load_catalog("fashion-mnist")
    ids = fmnist.gallery_ids[:120]
    return ArrayCatalog("tiny", ids, fmnist.images(ids), fmnist.labels_for(ids), fmnist.class_names,
                        np.arange(120) >= 100)  # fmt: skip


def test_pairs_are_resolved_to_rows(tiny_catalog: ArrayCatalog) -> None:
    q, g = tiny_catalog.query_ids, tiny_catalog.gallery_ids
    pairs = [ClickPair(q[0], g[1], 1.0), ClickPair(q[0], g[1], 2.0), ClickPair(g[2], g[3], 0.0),
             ClickPair("elsewhere", g[0], 1.0)]  # fmt: skip
    data = prepare_data(tiny_catalog, pairs, 28, 1)
    assert (data.n_anchors, len(data.images), data.pairs_used, data.pairs_skipped) == (100, 101, 3, 1)
    assert data.pairs is not None and len(data.pairs) == 1  # duplicates summed, zero weight dropped
    assert (data.pairs.query_rows.item(), data.pairs.result_rows.item()) == (100, 1)
    torch.testing.assert_close(data.images[100, 0], torch.from_numpy(tiny_catalog.image(q[0])))


def _pairs_file(path: Path, catalog: ArrayCatalog) -> Path:
    labels = catalog.labels_for(catalog.gallery_ids)
    rows = [{"query_image_id": catalog.gallery_ids[i], "result_image_id": catalog.gallery_ids[j], "weight": 1.0}
            for i in range(20) for j in range(100) if labels[i] == labels[j] and i != j]  # fmt: skip
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_train_then_fine_tune_with_pairs(tmp_path: Path, tiny_catalog: ArrayCatalog) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    first = train_encoder(store, name="cnn", catalog=tiny_catalog, config=TINY)
    assert (str(first.ref), first.parent_version, first.pairs, first.catalog, first.dim) == (
        "cnn@1",
        None,
        None,
        "tiny",
        8,
    )
    assert first.training["config"]["epochs"] == 1 and len(first.training["epoch_losses"]) == 1
    assert set(first.files) == {"model.pt"}
    pairs = _pairs_file(tmp_path / "pairs.jsonl", tiny_catalog)
    second = train_encoder(store, name="cnn", catalog=tiny_catalog, config=TINY, parent="cnn@1", pairs_path=pairs)
    assert (second.version, second.parent_version, second.training["parent"]) == (2, 1, "cnn@1")
    assert second.pairs is not None and second.pairs.count == len(pairs.read_text().splitlines())
    assert second.training["pairs_used"] == second.pairs.count
    embeddings = load_encoder(store, "cnn@2").embed(tiny_catalog.images(tiny_catalog.query_ids))
    assert embeddings.shape == (20, 8) and np.isfinite(embeddings).all()


def test_training_is_reproducible(tmp_path: Path, tiny_catalog: ArrayCatalog) -> None:
    store = ArtifactStore(tmp_path)
    first = train_encoder(store, name="a", catalog=tiny_catalog, config=TINY)
    second = train_encoder(store, name="b", catalog=tiny_catalog, config=TINY)
    assert first.files == second.files


def test_pixels_encoder_artifact(tmp_path: Path, tiny_catalog: ArrayCatalog) -> None:
    store = ArtifactStore(tmp_path)
    raw = build_pixels_encoder(store, catalog=tiny_catalog)
    pca = build_pixels_encoder(store, name="pixels-pca", catalog=tiny_catalog, pca_dim=16)
    assert (raw.dim, pca.dim, str(pca.ref)) == (784, 16, "pixels-pca@1")
    image = tiny_catalog.image(tiny_catalog.ids[0])
    raw_vector = load_encoder(store, raw.ref).embed([image])[0]
    np.testing.assert_allclose(raw_vector, image.ravel() / np.linalg.norm(image.ravel()), rtol=1e-5)
    assert load_encoder(store, pca.ref).embed([image]).shape == (1, 16)


def test_bad_training_requests(tmp_path: Path, tiny_catalog: ArrayCatalog) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(UnknownEncoderError, match="known: pixels, resnet18"):
        train_encoder(store, name="x", catalog=tiny_catalog, config=dataclasses.replace(TINY, encoder="resnet9"))
    with pytest.raises(TrainingError, match="build_pixels_encoder"):
        train_encoder(store, name="x", catalog=tiny_catalog, config=dataclasses.replace(TINY, encoder="pixels"))
    build_pixels_encoder(store, catalog=tiny_catalog)
    with pytest.raises(TrainingError, match="nothing to fine-tune"):
        train_encoder(store, name="x", catalog=tiny_catalog, config=TINY, parent="pixels@1")


def test_presets() -> None:
    assert set(TRAIN_CONFIGS) == {"cpu", "quick", "gpu"}
    assert TRAIN_CONFIGS["gpu"].device == "cuda" and TRAIN_CONFIGS["gpu"].autocast_bf16
    assert TRAIN_CONFIGS["quick"].epochs < TRAIN_CONFIGS["cpu"].epochs


@pytest.mark.slow
def test_short_real_training_learns(tmp_path: Path) -> None:
    """5 000 Fashion-MNIST images, 3 short epochs: the loss falls and same-class neighbours are far above chance."""
    fmnist = load_catalog("fashion-mnist")
    ids = fmnist.gallery_ids[:5000] + fmnist.query_ids[:500]
    catalog = ArrayCatalog("subset", ids, fmnist.images(ids), fmnist.labels_for(ids), fmnist.class_names,
                           np.arange(len(ids)) >= 5000)  # fmt: skip
    config = dataclasses.replace(TRAIN_CONFIGS["quick"], epochs=3, batch_size=256)
    manifest = train_encoder(ArtifactStore(tmp_path), name="cnn", catalog=catalog, config=config)
    losses = manifest.training["epoch_losses"]
    assert losses[-1] < losses[0]
    encoder = load_encoder(ArtifactStore(tmp_path), manifest.ref)
    gallery, queries = (
        encoder.embed(catalog.images(catalog.gallery_ids)),
        encoder.embed(catalog.images(catalog.query_ids)),
    )
    top = np.argsort(-queries @ gallery.T, axis=1)[:, :10]
    relevant = catalog.labels_for(catalog.gallery_ids)[top] == catalog.labels_for(catalog.query_ids)[:, None]
    assert relevant.mean() > 0.6  # chance is 0.1
