"""The contrastive training loop: views, forward, NT-Xent, AdamW with warmup and cosine decay."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from search_core.encoders.module import TrainableEncoder
from search_core.training.batches import Batch, BatchSampler
from search_core.training.config import TrainConfig
from search_core.training.data import mine_neighbours
from search_core.training.embedding_pca import PCA_SAMPLE, fit_embedding_pca
from search_core.training.matrix_ntxent_loss import MatrixNTXentLoss
from search_core.training.views import augmented_views, warmup_cosine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    epoch_losses: list[float]
    seconds: float
    views_per_second: float
    """Augmented views through forward and backward per second of optimisation steps (refreshes excluded)."""

    def record(self) -> dict[str, object]:
        """What an encoder manifest's `training` keeps of a run."""
        return {
            "seconds": round(self.seconds, 1),
            "views_per_second": round(self.views_per_second, 1),
            "epoch_losses": [round(loss, 5) for loss in self.epoch_losses],
        }


def projection_head(features: int, out: int | None, hidden: int = 512) -> nn.Module:
    """SimCLR's training-only MLP (Chen et al. 2020): the loss sees its output, search uses the features before it."""
    if out is None:
        return nn.Identity()
    hidden = min(hidden, features)
    return nn.Sequential(
        nn.Linear(features, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out)
    )


def fit(
    module: TrainableEncoder,
    images: torch.Tensor,
    config: TrainConfig,
    neighbours: torch.Tensor | None,
    generator: torch.Generator,
) -> FitResult:
    """Train `module` in place for `config.epochs` epochs; `neighbours` are the initial mined positives."""
    device = torch.device(config.device)
    head = projection_head(module.embedding.in_features, config.projection_dim)
    module.to(device).to(memory_format=torch.channels_last)
    head.to(device)
    features = torch.compile(module.features) if config.compile else module.features
    sampler = BatchSampler(len(images), config.batch_size, neighbour_prob=config.neighbour_prob, generator=generator)
    sampler.neighbours = neighbours
    params = [*module.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    total_steps = config.epochs * len(sampler)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(total_steps, config.warmup_fraction))
    step = _Step(features, head, optimizer, scheduler, MatrixNTXentLoss(config.temperature), config, generator)
    started, step_seconds, views, losses = time.perf_counter(), 0.0, 0, []
    for epoch in range(config.epochs):
        if epoch and config.neighbour_refresh and epoch % config.neighbour_refresh == 0 and config.neighbour_prob > 0:
            gallery = refit_embedding(module, images, device, generator)
            sampler.neighbours = mine_neighbours(gallery, config.neighbours)
        module.train()
        head.train()
        total = 0.0
        desc = f"epoch {epoch + 1}/{config.epochs}"
        bar = tqdm(sampler.epoch(), total=len(sampler), desc=desc, unit="batch", mininterval=1.0)
        for batch in bar:
            tick = time.perf_counter()
            loss = step(images[batch.rows], batch, module.input_size)
            step_seconds += time.perf_counter() - tick
            total += loss
            views += len(batch.rows)
            bar.set_postfix(loss=f"{loss:.3f}", img_s=f"{views / step_seconds:.0f}")
        losses.append(total / len(sampler))
        logger.info("epoch %d/%d: mean loss %.4f", epoch + 1, config.epochs, losses[-1])
    refit_embedding(module, images, device, generator)
    module.eval()
    return FitResult(losses, time.perf_counter() - started, views / max(step_seconds, 1e-9))


@dataclass
class _Step:
    """One optimisation step: views of the batch's images, forward through features and head, loss, update."""

    features: Callable[[torch.Tensor], torch.Tensor]
    head: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loss_fn: MatrixNTXentLoss
    config: TrainConfig
    generator: torch.Generator

    def __call__(self, images: torch.Tensor, batch: Batch, input_size: int) -> float:
        device = torch.device(self.config.device)
        x = augmented_views(images, self.config.augment, self.generator, input_size, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.config.autocast_bf16):
            z = self.head(self.features(x))
        loss = self.loss_fn(z, batch.labels.to(device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return loss.item()


def refit_embedding(
    module: TrainableEncoder, images: torch.Tensor, device: torch.device, generator: torch.Generator
) -> np.ndarray:
    """Set `module.embedding` to the PCA of the gallery's features; return the L2-normalised gallery embeddings."""
    features = run_rows(module.features, images, module.input_size, device)
    sample = torch.randperm(len(features), generator=generator)[:PCA_SAMPLE].numpy()
    fit_embedding_pca(module, features[np.sort(sample)])
    with torch.inference_mode():
        embedded = module.embedding.to(device)(torch.from_numpy(features).to(device))
        return F.normalize(embedded, dim=1).cpu().numpy()


def run_rows(
    fn: nn.Module, images: torch.Tensor, input_size: int, device: torch.device, batch_size: int = 1024
) -> np.ndarray:
    """`fn` (eval mode, no grad) over stored uint8 images, upsampled to `input_size` when stored smaller."""
    was_training = fn.training
    fn.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device).float().div_(255.0)
            if x.shape[-1] != input_size:
                x = F.interpolate(x, size=input_size, mode="bilinear", align_corners=False)
            out.append(fn(x.contiguous(memory_format=torch.channels_last)).float().cpu().numpy())
    fn.train(was_training)
    return np.concatenate(out)
