"""The fine-tuning loop on click groups: views, the search layer, SupCon, AdamW with two learning rates."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import torch
from pytorch_metric_learning.losses import SupConLoss
from pytorch_metric_learning.reducers import DoNothingReducer
from tqdm import tqdm

from search_core.encoders.module import TrainableEncoder
from search_core.training.config import FineTuneConfig
from search_core.training.group_batches import GroupBatch, GroupSampler
from search_core.training.group_whitening import fold_into_linear, within_group_whitening
from search_core.training.loop import FitResult, run_rows
from search_core.training.views import augmented_views, warmup_cosine

logger = logging.getLogger(__name__)


def fit_groups(
    module: TrainableEncoder,
    images: torch.Tensor,
    groups: Sequence[torch.Tensor],
    config: FineTuneConfig,
    generator: torch.Generator,
) -> FitResult:
    """Fine-tune `module` in place on `groups` (rows of the uint8 training `images`); see `FineTuneConfig`."""
    device = torch.device(config.device)
    module.to(device).to(memory_format=torch.channels_last)
    sampler = GroupSampler(
        groups,
        len(images),
        groups_per_batch=config.groups_per_batch,
        per_group=config.per_group,
        anchors=config.anchors,
        anchor_weight=config.anchor_weight,
        generator=generator,
    )
    optimizer = torch.optim.AdamW(
        [
            {"params": module.features.parameters(), "lr": config.lr_backbone},
            {"params": module.embedding.parameters(), "lr": config.lr_head},
        ],
        weight_decay=config.weight_decay,
    )
    total_steps = config.epochs * len(sampler)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(total_steps, config.warmup_fraction))
    loss_fn = SupConLoss(temperature=config.temperature, reducer=DoNothingReducer())
    started, step_seconds, views, losses = time.perf_counter(), 0.0, 0, []
    module.train()
    for epoch in range(config.epochs):
        total = 0.0
        bar = tqdm(sampler.epoch(), total=len(sampler), desc=f"fine-tune {epoch + 1}/{config.epochs}", unit="batch",
                   mininterval=1.0)  # fmt: skip
        for batch in bar:
            tick = time.perf_counter()
            x = augmented_views(images[batch.rows], config.augment, generator, module.input_size, device)
            loss = _weighted_loss(loss_fn, module(x), batch, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step_seconds += time.perf_counter() - tick
            total += loss.item()
            views += len(batch.rows)
            bar.set_postfix(loss=f"{loss.item():.3f}", img_s=f"{views / step_seconds:.0f}")
        losses.append(total / len(sampler))
        logger.info("fine-tune epoch %d/%d: mean loss %.4f", epoch + 1, config.epochs, losses[-1])
    module.eval()
    if config.projection == "whitened":
        whiten_by_groups(module, images, groups, config.whitening_shrinkage, device)
    return FitResult(losses, time.perf_counter() - started, views / max(step_seconds, 1e-9))


def _weighted_loss(loss_fn: SupConLoss, z: torch.Tensor, batch: GroupBatch, device: torch.device) -> torch.Tensor:
    """SupCon's per-anchor terms, averaged with the batch's anchor weights."""
    terms = loss_fn(z.float(), batch.labels.to(device))["loss"]["losses"]
    if not torch.is_tensor(terms) or terms.ndim == 0:  # no positive or no negative pair in the batch
        return z.sum() * 0.0
    weights = batch.weights.to(device)
    return (terms * weights).sum() / weights.sum()


def whiten_by_groups(
    module: TrainableEncoder,
    images: torch.Tensor,
    groups: Sequence[torch.Tensor],
    shrinkage: float,
    device: torch.device,
) -> None:
    """Fold the groups' within-group whitening (centred on the training images' mean) into `module.embedding`."""
    outputs = run_rows(module, images, module.input_size, device)
    whitening = within_group_whitening(outputs, [g.numpy() for g in groups], shrinkage)
    fold_into_linear(module.embedding, whitening, outputs.mean(axis=0, dtype=np.float64))
