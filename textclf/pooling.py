"""Sequence of states -> one vector, ignoring padding. `last` and `cls` need the encoder's own state
and are done inside the RNN and Transformer encoders; the rest live here."""

from __future__ import annotations

import torch
from torch import nn

MASKED_POOLINGS = ("mean", "max", "attention")


class MaskedPooling(nn.Module):
    """`mean`, `max` or `attention` (a learned query scoring each state) over the unpadded positions."""

    def __init__(self, kind: str, dim: int):
        super().__init__()
        if kind not in MASKED_POOLINGS:
            raise ValueError(f"unknown pooling {kind!r}")
        self.kind = kind
        if kind == "attention":
            self.proj = nn.Linear(dim, dim)
            self.query = nn.Linear(dim, 1, bias=False)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # states (B, T, D), mask (B, T) True at real tokens -> (B, D)
        m = mask.unsqueeze(-1)  # (B, T, 1)
        if self.kind == "mean":
            return (states * m).sum(1) / m.sum(1).clamp(min=1)
        if self.kind == "max":
            return states.masked_fill(~m, float("-inf")).max(1).values
        scores = self.query(torch.tanh(self.proj(states))).masked_fill(~m, float("-inf"))  # (B, T, 1)
        weights = torch.softmax(scores, dim=1)
        return (weights * states).sum(1)
