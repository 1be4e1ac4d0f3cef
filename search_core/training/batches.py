"""What goes into each training batch: anchors with a positive, plus click pairs.

A batch of `batch_size` slots holds
- anchors: gallery images in a fresh random order each epoch, each with a second view that is the same
  image (SimCLR) or, with probability `neighbour_prob`, one of its mined nearest neighbours
  (NNCLR-style, Dwibedi et al. 2021: a neighbour is a different photo of most likely the same kind
  of thing, a positive no augmentation can make);
- click pairs (when a pairs file is given, `pair_fraction` of the slots): (query, clicked result)
  drawn with probability proportional to their weight, one view each, sharing a label.
Each anchor or pair is one label for `WeightedNTXentLoss`; everything else in the batch is a negative.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Batch:
    """Row numbers (into the training images) of the views to make, their labels and loss weights."""

    rows: torch.Tensor
    labels: torch.Tensor
    weights: torch.Tensor


@dataclass(frozen=True)
class PairTable:
    """Click pairs resolved to training-image rows; `probabilities` ∝ summed weight of each distinct pair."""

    query_rows: torch.Tensor
    result_rows: torch.Tensor
    probabilities: torch.Tensor

    def __len__(self) -> int:
        return len(self.query_rows)


class BatchSampler:
    """Plans the batches of one epoch over `n_anchors` gallery images (rows `0 .. n_anchors - 1`)."""

    def __init__(
        self,
        n_anchors: int,
        batch_size: int,
        *,
        pairs: PairTable | None,
        pair_fraction: float,
        pair_weight: float,
        neighbour_prob: float,
        generator: torch.Generator,
    ) -> None:
        self.n_anchors = n_anchors
        self.pairs = pairs if pairs is not None and len(pairs) else None
        self.n_pairs = round(batch_size * pair_fraction) if self.pairs else 0
        self.anchors_per_batch = min(batch_size - self.n_pairs, n_anchors)
        self.pair_weight = pair_weight
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
        rows, labels = [anchors, positives], [torch.arange(n), torch.arange(n)]
        weights = [torch.ones(2 * n)]
        if self.pairs is not None and self.n_pairs:
            pairs = self.pairs
            drawn = torch.multinomial(pairs.probabilities, self.n_pairs, replacement=True, generator=self.generator)
            pair_labels = n + torch.arange(self.n_pairs)
            rows += [pairs.query_rows[drawn], pairs.result_rows[drawn]]
            labels += [pair_labels, pair_labels]
            weights.append(torch.full((2 * self.n_pairs,), self.pair_weight))
        return Batch(torch.cat(rows), torch.cat(labels), torch.cat(weights))
