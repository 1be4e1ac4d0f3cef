"""NT-Xent (InfoNCE) with label-defined positives, in matrix form, for self-supervised training.

Same loss as pytorch-metric-learning's `NTXentLoss` with labels (tested equal): every ordered pair
(a, p) of distinct embeddings sharing a label is a positive; its term is
`-log(exp(s_ap / t) / (exp(s_ap / t) + sum_n exp(s_an / t)))` over the anchor's negatives n (other
labels), with cosine similarity s; terms are averaged. PML builds a (positive pairs x negative pairs)
matrix, O(N^3) memory and time: 2-10 s per batch of 512 on two cores, against ~5 ms here, hence this
O(N^2) version. (Fine-tunes on click groups use PML's `SupConLoss`, which is O(N^2) already.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MatrixNTXentLoss(nn.Module):
    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """`embeddings (N, D)`, `labels (N,)` ints → scalar loss."""
        z = F.normalize(embeddings.float(), dim=1)
        sim = z @ z.T / self.temperature
        same = labels[:, None] == labels[None, :]
        positive = same & ~torch.eye(len(z), dtype=torch.bool, device=z.device)
        negatives = torch.logsumexp(sim.masked_fill(same, -torch.inf), dim=1, keepdim=True)  # -inf: no negatives
        terms = torch.logaddexp(sim, negatives) - sim  # -log softmax of the positive against the negatives
        return terms[positive].mean()
