"""The bag of embeddings: no context at all, the baseline that measures what context adds."""

from __future__ import annotations

import torch
from torch import nn

from textclf.model.encoders.options import check_choice
from textclf.model.pooling import MASKED_POOLINGS, MaskedPooling


class BagEncoder(nn.Module):
    """The token vectors pooled as they are."""

    poolings = MASKED_POOLINGS

    def __init__(self, input_dim: int, pooling: str = "mean"):
        super().__init__()
        check_choice(pooling, self.poolings, "pooling")
        self.pool = MaskedPooling(pooling, input_dim)
        self.output_dim = input_dim

    def states(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The token vectors themselves: no context."""
        return x, mask

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.pool(x, mask)  # (B, T, E) -> (B, E)
