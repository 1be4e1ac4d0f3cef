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
from search_core.training import (
    TRAIN_CONFIGS,
    AugmentConfig,
    FineTuneConfig,
    MatrixNTXentLoss,
    TrainConfig,
    augment,
    build_pixels_encoder,
    fine_tune_encoder,
    train_encoder,
    trained_images,
)
from search_core.training.batches import BatchSampler
from search_core.training.data import mine_neighbours
from search_core.training.group_batches import GroupSampler
from search_core.training.group_whitening import fold_into_linear, within_group_whitening

TINY_FINE_TUNE = FineTuneConfig(epochs=2, groups_per_batch=4, per_group=2, anchors=4, threads=1)
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
    torch.testing.assert_close(MatrixNTXentLoss(0.2)(z, labels), expected)


def test_a_batch_without_negatives_has_nothing_to_contrast() -> None:
    z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [1.0, 0.2]])
    assert MatrixNTXentLoss(0.5)(z, torch.zeros(4, dtype=torch.long)).item() == 0.0


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


def test_batches_pair_anchors_with_themselves_or_their_neighbours() -> None:
    sampler = BatchSampler(40, 12, neighbour_prob=1.0, generator=torch.Generator().manual_seed(0))
    sampler.neighbours = (torch.arange(40) + 1).remainder(40)[:, None]
    assert (sampler.anchors_per_batch, len(sampler)) == (12, 3)
    batch = next(iter(sampler.epoch()))
    anchors, positives = batch.rows[:12], batch.rows[12:]
    assert torch.equal(positives, (anchors + 1).remainder(40))  # every positive is the mined neighbour
    assert torch.equal(batch.labels, torch.arange(12).repeat(2))
    sampler.neighbour_prob = 0.0
    batch = next(iter(sampler.epoch()))
    assert torch.equal(batch.rows[:12], batch.rows[12:])  # SimCLR: two views of the same image


def test_group_batches_keep_groups_together_and_weigh_anchors_lightly() -> None:
    groups = [torch.tensor([0, 1, 2, 3, 4]), torch.tensor([10, 11]), torch.tensor([20, 21, 22])]
    sampler = GroupSampler(groups, 100, groups_per_batch=2, per_group=4, anchors=5, anchor_weight=0.25,
                           generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert len(sampler) == 2  # 10 grouped images, 8 group slots a batch
    for batch in sampler.epoch():
        group_rows, group_labels = batch.rows[:8], batch.labels[:8]
        for label in group_labels.unique():
            members = {int(r) for r in group_rows[group_labels == label]}
            assert any(members <= set(g.tolist()) for g in groups)  # one label = one group's images
        assert set(group_labels.tolist()) == {0, 1} and batch.weights[:8].eq(1).all()
        anchors, again = batch.rows[8:13], batch.rows[13:]
        assert torch.equal(anchors, again) and batch.weights[8:].eq(0.25).all()
        for row, label in zip(anchors.tolist(), batch.labels[8:13].tolist(), strict=True):
            shared = group_rows == row  # an anchor drawn from a batch group is that group's member, not its negative
            assert label == (int(group_labels[shared][0]) if shared.any() else label) and (shared.any() or label >= 2)
    few = GroupSampler(groups[:1], 100, groups_per_batch=96, per_group=4, anchors=0, anchor_weight=0.0,
                       generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert (few.groups_per_batch, few.per_group) == (1, 384)  # few groups: the image budget is kept


def test_within_group_whitening_flattens_the_spread_inside_groups() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(30, 4)) * np.array([1.0, 1.0, 1.0, 1.0])
    noise = rng.normal(size=(30, 5, 4)) * np.array([5.0, 0.1, 0.1, 0.1])  # groups vary along axis 0 only
    outputs = (centres[:, None, :] + noise).reshape(-1, 4)
    groups = [np.arange(g * 5, g * 5 + 5) for g in range(30)]
    whitening = within_group_whitening(outputs, groups, shrinkage=0.0)
    whitened = outputs @ whitening.T
    spread = np.concatenate([whitened[g] - whitened[g].mean(axis=0) for g in groups])
    np.testing.assert_allclose(np.cov(spread.T) * (len(spread) - 1) / (len(spread) - 30), np.eye(4), atol=1e-8)
    layer = torch.nn.Linear(3, 4)
    x = torch.randn(6, 3)
    mean = rng.normal(size=4)
    expected = (layer(x).detach().numpy() - mean) @ whitening.T
    fold_into_linear(layer, whitening, mean)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-4, atol=1e-4)


def test_mined_neighbours_exclude_the_image_itself() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 3]] + 0.01
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = mine_neighbours(vectors, 2)
    assert found.shape == (5, 2)
    assert all(row not in found[row].tolist() for row in range(5))
    assert found[0, 0] == 1 and found[1, 0] == 0  # duplicates find each other first


@pytest.fixture(scope="module")
def tiny_catalog() -> ArrayCatalog:
    """140 Fashion-MNIST training images: 100 to train on, 20 validation, 20 queries."""
    fmnist = load_catalog("fashion-mnist")
    ids = fmnist.gallery_ids[:140]
    return ArrayCatalog("tiny", ids, fmnist.images(ids), fmnist.labels_for(ids), fmnist.class_names,
                        np.arange(140) >= 120, np.arange(140) >= 100)  # fmt: skip


def _pairs_file(path: Path, catalog: ArrayCatalog) -> Path:
    """Same-class pairs among the first 30 training images, plus one pair per held-out split."""
    train = catalog.train_ids
    labels = catalog.labels_for(train)
    rows = [{"query_image_id": train[i], "result_image_id": train[j], "weight": 1.0, "experiment": "exp1", "clicks": 2}
            for i in range(30) for j in range(i + 1, 30) if labels[i] == labels[j]]  # fmt: skip
    rows += [{"query_image_id": catalog.query_ids[0], "result_image_id": train[0], "experiment": "exp2"},
             {"query_image_id": train[1], "result_image_id": catalog.validation_ids[0], "experiment": "exp2"},
             {"query_image_id": train[1], "result_image_id": "elsewhere", "experiment": "exp2"}]  # fmt: skip
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_train_then_fine_tune_on_click_groups(tmp_path: Path, tiny_catalog: ArrayCatalog) -> None:
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
    assert first.training["gallery_images"] == 100  # validation and query images never train
    assert set(first.files) == {"model.pt"} and 0 < first.metrics["validation_precision@10"] <= 1
    pairs = _pairs_file(tmp_path / "pairs.jsonl", tiny_catalog)
    second = fine_tune_encoder(store, name="cnn", catalog=tiny_catalog, config=TINY_FINE_TUNE, parent="cnn@1",
                               pairs_path=pairs)  # fmt: skip
    training = second.training
    n_pairs = len(pairs.read_text().splitlines())
    assert (second.version, second.parent_version, training["parent"]) == (2, 1, "cnn@1")
    assert second.pairs is not None and second.pairs.count == n_pairs
    assert (training["pairs_used"], training["pairs_held_out"], training["pairs_skipped"]) == (n_pairs - 3, 2, 1)
    groups = training["click_groups"]
    assert groups["experiments"] == {"exp1": {"pairs": n_pairs - 3, "clicks": 2 * (n_pairs - 3)}}
    assert set(second.files) == {"model.pt", "click_groups.json"} and "validation_precision@10" in second.metrics
    taught = trained_images(store, second.ref)
    assert len(taught) == groups["images"] and taught <= set(tiny_catalog.train_ids[:30])
    assert trained_images(store, first.ref) == set()
    embeddings = load_encoder(store, "cnn@2").embed(tiny_catalog.images(tiny_catalog.query_ids))
    assert embeddings.shape == (20, 8) and np.isfinite(embeddings).all()
    whitened = fine_tune_encoder(store, name="cnn", catalog=tiny_catalog, parent="cnn@2", pairs_path=pairs,
                                 config=dataclasses.replace(TINY_FINE_TUNE, projection="whitened"))  # fmt: skip
    assert trained_images(store, whitened.ref) == taught  # the lineage's images, through the parent
    assert np.isfinite(load_encoder(store, whitened.ref).embed(tiny_catalog.images(tiny_catalog.query_ids))).all()


def test_fine_tune_without_usable_pairs_is_refused(tmp_path: Path, tiny_catalog: ArrayCatalog) -> None:
    store = ArtifactStore(tmp_path)
    train_encoder(store, name="cnn", catalog=tiny_catalog, config=TINY)
    pairs = tmp_path / "held.jsonl"
    pairs.write_bytes(orjson.dumps({"query_image_id": tiny_catalog.query_ids[0],
                                    "result_image_id": tiny_catalog.train_ids[0]}) + b"\n")  # fmt: skip
    with pytest.raises(TrainingError, match="no click pairs between training images .* 1 touching query or valid"):
        fine_tune_encoder(store, name="cnn", catalog=tiny_catalog, config=TINY_FINE_TUNE, parent="cnn@1",
                          pairs_path=pairs)  # fmt: skip
    with pytest.raises(TrainingError, match="nothing to fine-tune"):
        build_pixels_encoder(store, catalog=tiny_catalog)
        fine_tune_encoder(store, name="x", catalog=tiny_catalog, config=TINY_FINE_TUNE, parent="pixels@1",
                          pairs_path=_pairs_file(tmp_path / "p.jsonl", tiny_catalog))  # fmt: skip


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
    assert set(TRAIN_CONFIGS) == {"cpu", "quick", "gpu", "wide"}
    assert TRAIN_CONFIGS["wide"].encoder_kwargs["width"] == 2 * TRAIN_CONFIGS["cpu"].encoder_kwargs["width"]
    assert TRAIN_CONFIGS["gpu"].device == "cuda" and TRAIN_CONFIGS["gpu"].autocast_bf16
    assert TRAIN_CONFIGS["quick"].epochs < TRAIN_CONFIGS["cpu"].epochs
    with pytest.raises(TrainingError, match="unknown projection 'pca'; known: learned, whitened"):
        FineTuneConfig(projection="pca")


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
