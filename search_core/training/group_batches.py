"""What goes into each fine-tuning batch: whole click groups, plus a few augmentation-only anchors.

Every label of a batch is either one group (its members are each other's positives, never negatives)
or one anchor image (two views of it). Groups are drawn without replacement within a batch, with
probability proportional to their size, so over an epoch every grouped image is seen about once
whatever the mix of group sizes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GroupBatch:
    """Row numbers (into the training images) of the views to make, their labels and loss weights."""

    rows: torch.Tensor
    labels: torch.Tensor
    weights: torch.Tensor


class GroupSampler:
    """Plans the batches of one epoch over `groups` (each a tensor of training-image rows, ≥ 2 of them)."""

    def __init__(
        self,
        groups: Sequence[torch.Tensor],
        n_rows: int,
        *,
        groups_per_batch: int,
        per_group: int,
        anchors: int,
        anchor_weight: float,
        generator: torch.Generator,
    ) -> None:
        if not groups:
            raise ValueError("a group sampler needs at least one group")
        self.groups = list(groups)
        self.n_rows = n_rows
        self.groups_per_batch = min(groups_per_batch, len(self.groups))
        # few, large groups (communities): keep the batch's image budget by taking more images of each
        self.per_group = max(per_group, groups_per_batch * per_group // self.groups_per_batch)
        self.anchors = min(anchors, n_rows)
        self.anchor_weight = anchor_weight
        self.generator = generator
        self.sizes = torch.tensor([len(g) for g in self.groups], dtype=torch.float64)

    def __len__(self) -> int:
        """Batches per epoch: enough for every grouped image to be drawn about once."""
        return max(math.ceil(float(self.sizes.sum()) / (self.groups_per_batch * self.per_group)), 1)

    def epoch(self) -> Iterator[GroupBatch]:
        for _ in range(len(self)):
            yield self._batch()

    def _batch(self) -> GroupBatch:
        chosen = torch.multinomial(self.sizes, self.groups_per_batch, replacement=False, generator=self.generator)
        rows = []
        for g in chosen.tolist():
            members = self.groups[g]
            if len(members) >= self.per_group:
                picked = torch.randperm(len(members), generator=self.generator)[: self.per_group]
            else:
                picked = torch.randint(len(members), (self.per_group,), generator=self.generator)
            rows.append(members[picked])
        labels = [torch.arange(self.groups_per_batch).repeat_interleave(self.per_group)]
        weights = [torch.ones(self.groups_per_batch * self.per_group)]
        if self.anchors:
            anchors = torch.randperm(self.n_rows, generator=self.generator)[: self.anchors]
            # an anchor that is also a member of a drawn group joins that group rather than being its negative
            same = anchors[:, None] == torch.cat(rows)[None, :]
            anchor_labels = torch.where(
                same.any(dim=1), labels[0][same.int().argmax(dim=1)], self.groups_per_batch + torch.arange(self.anchors)
            )
            rows += [anchors, anchors]
            labels += [anchor_labels, anchor_labels]
            weights.append(torch.full((2 * self.anchors,), self.anchor_weight))
        return GroupBatch(torch.cat(rows), torch.cat(labels), torch.cat(weights))
