"""Encoder registry, architectures, weights files, preprocessing and the Encoder artifact round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from search_core.artifacts import ArtifactHashMismatch, ArtifactStore
from search_core.encoders import ENCODERS, EncoderSpec, load_encoder, resize_batch, save_encoder
from search_core.encoders.pixels import PixelsEncoder
from search_core.encoders.torchvision_models import resnet18
from search_core.errors import EncoderConfigError, UnknownEncoderError, WeightsFileError


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_registry_lists_every_architecture() -> None:
    assert sorted(ENCODERS) == ["pixels", "resnet18", "resnet50", "small_cnn", "vit_b_16"]


def test_unknown_encoder_lists_the_known_ones() -> None:
    with pytest.raises(UnknownEncoderError, match="unknown encoder 'resnet9'; known: pixels, resnet18, resnet50"):
        EncoderSpec("resnet9").build()
    with pytest.raises(EncoderConfigError, match="small_cnn"):
        EncoderSpec("small_cnn", {"depth": 3}).build()


@pytest.mark.parametrize(
    ("name", "kwargs", "channels"),
    [
        ("small_cnn", {"dim": 32, "input_size": 28}, 1),
        ("small_cnn", {"dim": 32, "input_size": 48, "channels": 3}, 3),
        ("resnet18", {"dim": 32, "input_size": 32}, 3),
        ("vit_b_16", {"dim": 32, "input_size": 32}, 3),
        ("pixels", {"input_size": 8, "channels": 3}, 3),
    ],
)
def test_architectures_map_images_to_dim(name: str, kwargs: dict, channels: int) -> None:
    module = EncoderSpec(name, kwargs).build().eval()
    assert module.channels == channels
    with torch.inference_mode():
        out = module(torch.rand(2, channels, module.input_size, module.input_size))
    assert out.shape == (2, module.dim)


def test_resnet_small_input_gets_the_cifar_stem() -> None:
    assert resnet18(input_size=32).features[1].conv1.kernel_size == (3, 3)
    assert resnet18(input_size=224).features[1].conv1.kernel_size == (7, 7)


def test_vit_needs_a_multiple_of_16() -> None:
    with pytest.raises(EncoderConfigError, match="multiple of 16"):
        EncoderSpec("vit_b_16", {"input_size": 28}).build()


def test_local_weights_file_is_loaded(tmp_path: Path) -> None:
    source = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(source.state_dict(), path)
    loaded = resnet18(dim=16, weights=str(path))
    backbone = loaded.features[1]
    torch.testing.assert_close(backbone.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert loaded.embedding.out_features == 16


def test_bad_weights_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsFileError, match=r"weights file .*missing.pt not found"):
        resnet18(weights=str(tmp_path / "missing.pt"))
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsFileError, match="not a readable torch state dict"):
        resnet18(weights=str(garbage))
    other = tmp_path / "small.pt"
    torch.save(EncoderSpec("small_cnn").build().state_dict(), other)
    with pytest.raises(WeightsFileError, match="does not fit ResNet: missing"):
        resnet18(weights=str(other))


def test_raw_pixels_are_the_flattened_image() -> None:
    x = torch.rand(3, 1, 4, 4)
    torch.testing.assert_close(PixelsEncoder(input_size=4)(x), x.flatten(1))


def test_pixel_pca_matches_numpy_svd() -> None:
    x = torch.rand(200, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    module = PixelsEncoder(input_size=5, pca_dim=4)
    module.fit_pca(x)
    flat = x.flatten(1).double().numpy()
    _, _, vt = np.linalg.svd(flat - flat.mean(0), full_matrices=False)
    ours = module(x).double().numpy()
    theirs = (flat - flat.mean(0)) @ vt[:4].T
    np.testing.assert_allclose(np.abs(ours), np.abs(theirs), atol=1e-5)  # components are defined up to sign
    with pytest.raises(EncoderConfigError, match="pca_dim must be between 1 and 25"):
        PixelsEncoder(input_size=5, pca_dim=26)


def test_resize_batch_converts_colour_and_size() -> None:
    grey = np.full((2, 10, 10), 100, dtype=np.uint8)
    rgb = np.zeros((5, 7, 3), dtype=np.uint8)
    rgb[..., 1] = 200
    assert resize_batch(grey, 10, 1).shape == (2, 1, 10, 10)
    replicated = resize_batch(grey, 4, 3)
    assert replicated.shape == (2, 3, 4, 4) and replicated.unique().tolist() == [100]
    luma = resize_batch([rgb], 6, 1)
    assert luma.shape == (1, 1, 6, 6) and luma.unique().tolist() == [117]  # 0.587 * 200
    mixed = resize_batch([grey[0], rgb], 8, 3)
    assert mixed.shape == (2, 3, 8, 8) and mixed.dtype == torch.uint8


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


def _save_small_cnn(store: ArtifactStore) -> None:
    spec = EncoderSpec("small_cnn", {"dim": 16, "input_size": 28, "width": 4, "pool": 2})
    torch.manual_seed(0)
    save_encoder(store, spec.build(), spec, name="cnn", catalog="fashion-mnist", training={"note": "untrained"})


def test_encoder_round_trip_and_embeddings(store: ArtifactStore) -> None:
    _save_small_cnn(store)
    encoder = load_encoder(store, "cnn@1")
    assert (encoder.dim, encoder.channels, encoder.input_size, str(encoder.ref)) == (16, 1, 28, "cnn@1")
    assert encoder.manifest.training["architecture"]["name"] == "small_cnn"
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, (5, 28, 28), dtype=np.uint8)
    batched = encoder.embed(grey, batch_size=2)
    assert batched.shape == (5, 16) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, rtol=1e-5)
    one_by_one = np.concatenate([encoder.embed([image]) for image in grey])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    colour_any_size = [rng.integers(0, 255, (40, 31, 3), dtype=np.uint8), grey[0]]
    assert encoder.embed(colour_any_size).shape == (2, 16)
    assert encoder.embed([]).shape == (0, 16)


def test_tampered_weights_are_refused(store: ArtifactStore) -> None:
    _save_small_cnn(store)
    weights = store.path("encoder", load_encoder(store, "cnn@1").ref) / "model.pt"
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(ArtifactHashMismatch):
        load_encoder(store, "cnn@1")


def test_wide_data_uses_randomised_pca_with_the_same_subspace() -> None:
    from search_core.encoders.pca import EXACT_MAX_DIM, principal_components

    rng = np.random.default_rng(0)
    d = EXACT_MAX_DIM + 100
    basis = np.linalg.qr(rng.normal(size=(d, 4)))[0].T  # 4 strong directions plus a little noise
    data = (rng.normal(size=(600, 4)) * [50, 30, 20, 10]) @ basis + rng.normal(size=(600, d)) * 0.1 + 3.0
    torch.manual_seed(0)
    mean, components = principal_components(data, 4)
    np.testing.assert_allclose(mean, data.mean(axis=0))
    projector = components.T @ components  # same subspace as the true one, whatever the signs
    np.testing.assert_allclose(projector @ basis.T, basis.T, atol=5e-3)
