"""A sequence of states -> one vector, ignoring padding. `last` and `cls` need the encoder's own state
and are done inside the RNN and Transformer encoders; the rest live here."""

from __future__ import annotations

import torch
from torch import nn

from textclf.model.speed import enabled, fast_pooling

MASKED_POOLINGS = ("mean", "max", "attention")
# Poolings whose result does not change when a sequence's positions are reordered.
ORDER_FREE_POOLINGS = ("last", "mean", "max")


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D) states, (B, T) mask True at real tokens -> (B, D) mean over the real tokens."""
    m = mask.unsqueeze(-1)  # (B, T, 1)
    return states.mul(m).sum(1) / m.sum(1).clamp(min=1)


def masked_max(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D) states, (B, T) mask -> (B, D) maximum over the real tokens."""
    return states.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


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
        if self.kind in ("mean", "max"):
            fast = enabled("fast_pooling") and states.device.type == "cpu"
            if self.kind == "mean":
                return (fast_pooling.masked_mean if fast else masked_mean)(states, mask)
            return (fast_pooling.masked_max if fast else masked_max)(states, mask)
        scores = self.query(torch.tanh(self.proj(states))).masked_fill(~mask.unsqueeze(-1), float("-inf"))  # (B, T, 1)
        weights = torch.softmax(scores, dim=1)
        return (weights * states).sum(1)
