"""A pre-norm Transformer encoder over the embeddings (width = embedding_dim), with a key-padding mask."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from textclf.errors import TextclfError
from textclf.model.encoders.options import check_choice
from textclf.model.pooling import MASKED_POOLINGS, MaskedPooling
from textclf.model.speed.fast_dropout import Dropout

POSITIONS = ("learned", "sinusoidal")


def sinusoidal_positions(n: int, dim: int) -> torch.Tensor:
    """The fixed sin/cos position table of Vaswani et al. (n, dim)."""
    pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(n, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


class SelfAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, dropout: float):
        super().__init__()
        if dim % num_heads:
            raise TextclfError(f"--model.embedding_dim {dim} must be divisible by --model.num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)  # 3 x (B, nh, T, hs)
        # key_mask (B, 1, 1, T): no position attends to padding
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, t, d))  # (B, T, D)


class TransformerBlock(nn.Module):
    """Pre-norm: x + attn(norm(x)), then + ff(norm(x))."""

    def __init__(self, dim: int, num_heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, num_heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_dim), nn.GELU(), nn.Linear(ff_dim, dim))
        self.drop = Dropout(dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), key_mask))
        return x + self.drop(self.ff(self.norm2(x)))


class TransformerEncoder(nn.Module):
    """`num_layers` blocks over the embeddings plus positions, then a final norm and the pooling.
    `max_positions` unset: the data's max_length (set when the network is built)."""

    poolings = ("cls", *MASKED_POOLINGS)
    compilable = True  # `predict --compile`: norms, activations and residual adds fuse around the matrix products
    predict_batch_size = 32  # texts per prediction batch (others: textclf.serve.classifier.BATCH_SIZE); measured

    def __init__(self, input_dim: int, num_layers: int = 1, num_heads: int = 4, ff_dim: int = 256,
                 dropout: float = 0.1, pooling: str = "attention", positions: str = "learned",
                 max_positions: int = 512):
        super().__init__()
        check_choice(pooling, self.poolings, "pooling")
        check_choice(positions, POSITIONS, "positions")
        self.pooling = pooling
        n = max_positions + 1  # room for the [CLS] slot
        if positions == "learned":
            self.positions = nn.Parameter(torch.randn(n, input_dim) * 0.02)
        else:
            self.register_buffer("positions", sinusoidal_positions(n, input_dim), persistent=False)
        if pooling == "cls":
            self.cls = nn.Parameter(torch.randn(1, 1, input_dim) * 0.02)
        else:
            self.pool = MaskedPooling(pooling, input_dim)
        self.blocks = nn.ModuleList(TransformerBlock(input_dim, num_heads, ff_dim, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(input_dim)
        self.max_positions = max_positions
        self.output_dim = input_dim

    def _blocks(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x (B, T, E), mask (B, T) -> (B, T', E): with `cls` pooling, T' = 1 + T, the [CLS] slot first
        b, t, _ = x.shape
        if t > self.max_positions:
            raise TextclfError(f"a text of {t} tokens is longer than the model's {self.max_positions} positions: lower --data.max_length")
        if self.pooling == "cls":
            x = torch.cat([self.cls.expand(b, 1, -1), x], dim=1)  # (B, 1 + T, E)
            mask = torch.cat([mask.new_ones(b, 1), mask], dim=1)
        x = x + self.positions[: x.shape[1]]
        key_mask = mask[:, None, None, :]  # (B, 1, 1, T')
        for block in self.blocks:
            x = block(x, key_mask)
        return self.norm(x)

    def states(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, E) -> each token's state (B, T, E) (without the [CLS] slot) and the mask."""
        out = self._blocks(x, mask)
        return (out[:, 1:] if self.pooling == "cls" else out), mask

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x (B, T, E), mask (B, T) -> (B, E)
        x = self._blocks(x, mask)
        if self.pooling == "cls":
            return x[:, 0]
        return self.pool(x, mask)
