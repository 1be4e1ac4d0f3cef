"""The query pool of an experiment comparing click-trained encoders: training images none of them was taught."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import torch

from search_core.artifacts import ArtifactStore
from search_core.catalog import ArrayCatalog, load_catalog
from search_core.training import build_pixels_encoder, fine_tune_encoder, train_encoder
from tests.search_core.test_training import TINY, TINY_FINE_TUNE
from vsx.pipelines.online import unseen_traffic


def _pairs(path: Path, pairs: list[tuple[str, str]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps({"query_image_id": q, "result_image_id": r}) + b"\n" for q, r in pairs))
    return path


def test_traffic_leaves_out_what_any_encoder_or_its_ancestors_were_taught(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    fmnist = load_catalog("fashion-mnist")
    ids = fmnist.gallery_ids[:60]
    catalog = ArrayCatalog("tiny", ids, fmnist.images(ids), fmnist.labels_for(ids), fmnist.class_names,
                           np.arange(60) >= 50, np.arange(60) >= 45)  # fmt: skip
    train = catalog.train_ids
    store = ArtifactStore(tmp_path)
    build_pixels_encoder(store, catalog=catalog)
    train_encoder(store, name="cnn", catalog=catalog, config=TINY)
    first = _pairs(tmp_path / "a.jsonl", [(train[0], train[1]), (train[2], train[3])])
    fine_tune_encoder(store, name="cnn", catalog=catalog, config=TINY_FINE_TUNE, parent="cnn@1", pairs_path=first)
    second = _pairs(tmp_path / "b.jsonl", [(train[4], train[5])])
    fine_tune_encoder(store, name="cnn", catalog=catalog, config=TINY_FINE_TUNE, parent="cnn@2", pairs_path=second)
    assert unseen_traffic(store, catalog, ["pixels@1", "cnn@1"]) == train  # nothing taught by clicks
    assert unseen_traffic(store, catalog, ["cnn@1", "cnn@2"]) == train[4:]
    assert unseen_traffic(store, catalog, ["cnn@3"]) == train[6:]  # cnn@3 learnt cnn@2's groups too
