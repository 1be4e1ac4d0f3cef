"""What goes into each self-supervised training batch: anchors with a positive.

A batch of `batch_size` anchors (twice as many views): training images in a fresh random order each epoch, each with a
second view that is the same image (SimCLR) or, with probability `neighbour_prob`, one of its mined
nearest neighbours (NNCLR-style, Dwibedi et al. 2021: a neighbour is a different photo of most likely
the same kind of thing, a positive no augmentation can make). Each anchor is one label for
`MatrixNTXentLoss`; everything else in the batch is a negative. (Click groups have their own sampler:
`group_batches`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Batch:
    """Row numbers (into the training images) of the views to make, and their labels."""

    rows: torch.Tensor
    labels: torch.Tensor


class BatchSampler:
    """Plans the batches of one epoch over `n_anchors` training images (rows `0 .. n_anchors - 1`)."""

    def __init__(self, n_anchors: int, batch_size: int, *, neighbour_prob: float, generator: torch.Generator) -> None:
        self.n_anchors = n_anchors
        self.anchors_per_batch = min(batch_size, n_anchors)
        self.neighbour_prob = neighbour_prob
        self.generator = generator
        self.neighbours: torch.Tensor | None = None

    def __len__(self) -> int:
        """Batches per epoch (the last partial batch is dropped: BatchNorm and the loss want full batches)."""
        return max(self.n_anchors // self.anchors_per_batch, 1)

    def epoch(self) -> Iterator[Batch]:
        order = torch.randperm(self.n_anchors, generator=self.generator)
        for step in range(len(self)):
            anchors = order[step * self.anchors_per_batch : (step + 1) * self.anchors_per_batch]
            yield self._batch(anchors)

    def _batch(self, anchors: torch.Tensor) -> Batch:
        n = len(anchors)
        positives = anchors
        if self.neighbours is not None and self.neighbour_prob > 0:
            k = self.neighbours.shape[1]
            picked = self.neighbours[anchors, torch.randint(k, (n,), generator=self.generator)]
            use = torch.rand(n, generator=self.generator) < self.neighbour_prob
            positives = torch.where(use, picked, anchors)
        return Batch(torch.cat([anchors, positives]), torch.arange(n).repeat(2))
