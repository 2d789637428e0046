"""Encoders: embedded tokens (B, T, E) + lengths -> one pooled vector (B, output_dim).

`ENCODERS` at the bottom maps config names to classes; adding an encoder is one class and one entry,
and the parametrized tests pick it up. The head is sized from `output_dim`, never recomputed elsewhere.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textclf.directions import can_run_side_by_side, run_directions
from textclf.dropout import Dropout
from textclf.errors import TextclfError
from textclf.pooling import MASKED_POOLINGS, ORDER_FREE_POOLINGS, MaskedPooling

INITS = ("default", "xavier", "orthogonal")


def _check_choice(value, choices, option: str):
    if value not in choices:
        raise TextclfError(f"unknown --model.{option} {value!r} for this encoder: choose one of {', '.join(choices)}")


class BagEncoder(nn.Module):
    """No context at all: the pooled embeddings. The baseline that measures what context adds."""

    poolings = MASKED_POOLINGS
    default_pooling = "mean"

    def __init__(self, input_dim: int, pooling: str | None = None, **_):
        super().__init__()
        pooling = pooling or self.default_pooling
        _check_choice(pooling, self.poolings, "pooling")
        self.pool = MaskedPooling(pooling, input_dim)
        self.output_dim = input_dim

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.pool(x, mask)  # (B, T, E) -> (B, E)


class RNNEncoder(nn.Module):
    """One wrapper over torch's fused RNN/LSTM/GRU kernels; subclasses only name the cell.

    Padding never changes an output. Each direction is its own unidirectional kernel: the forward one
    reads the padded batch as it is (padding sits after the last real token, so it cannot reach a real
    position), the backward one reads every sequence reversed within its own length (padding again at
    the end). With length-bucketed batches padding is ~2% of the slots, and this runs the kernels on
    contiguous tensors; `packed=True` runs them on PackedSequences instead, which is exact too but was
    measured slower on CPU (bench/throughput.py). On a CPU with 2+ threads the two directions of a
    layer run side by side, one thread each (textclf/directions.py); `side_by_side=False` runs them
    in turn.
    """

    cell: type[nn.RNNBase] = nn.RNN
    poolings = ("last", *MASKED_POOLINGS)
    # SST-2 BiGRU, 3 seeds (docs/reports/pooling): validation accuracy attention 80.9 ± 0.8, max 80.5 ± 1.1,
    # mean 80.1 ± 1.3, last 79.3 ± 0.5; max kept: attention's lead is within the seed spread, and max is cheaper
    default_pooling = "max"

    def __init__(
        self,
        input_dim: int,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.0,
        pooling: str | None = None,
        init: str = "default",
        forget_bias: float | None = None,
        nonlinearity: str = "tanh",
        packed: bool = False,
        side_by_side: bool = True,
        **_,
    ):
        super().__init__()
        pooling = pooling or self.default_pooling
        _check_choice(pooling, self.poolings, "pooling")
        _check_choice(init, INITS, "init")
        kwargs = {}
        if self.cell is nn.RNN:
            _check_choice(nonlinearity, ("tanh", "relu"), "nonlinearity")
            kwargs["nonlinearity"] = nonlinearity
        self.directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        # layers[i][d]: layer i, direction d (0 forward, 1 backward)
        self.layers = nn.ModuleList(
            nn.ModuleList(
                self.cell(input_dim if i == 0 else hidden_size * self.directions, hidden_size, batch_first=True, **kwargs)
                for _ in range(self.directions)
            )
            for i in range(num_layers)
        )
        self.between = Dropout(dropout if num_layers > 1 else 0.0)
        self.pooling = pooling
        self.packed = packed
        self.side_by_side = side_by_side
        self.output_dim = hidden_size * self.directions
        if pooling != "last":
            self.pool = MaskedPooling(pooling, self.output_dim)
        self.reset_recurrent(init, forget_bias)

    def kernels(self) -> list[nn.RNNBase]:
        return [rnn for layer in self.layers for rnn in layer]

    @property
    def gates(self) -> int:
        """Weight blocks per layer: 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n), 1 for a vanilla RNN."""
        return self.layers[0][0].weight_hh_l0.shape[0] // self.hidden_size

    @torch.no_grad()
    def reset_recurrent(self, init: str, forget_bias: float | None) -> None:
        """`xavier`: xavier input and recurrent weights; `orthogonal`: each gate's recurrent block
        orthogonal, xavier input weights; both with zero biases. `forget_bias` (LSTM) is set last."""
        h = self.hidden_size
        for rnn in self.kernels():
            for name, p in rnn.named_parameters():
                if init == "default":
                    break
                if name.startswith("bias"):
                    p.zero_()
                elif name.startswith("weight_hh") and init == "orthogonal":
                    for g in range(self.gates):
                        nn.init.orthogonal_(p[g * h:(g + 1) * h])
                else:
                    for g in range(self.gates):
                        nn.init.xavier_uniform_(p[g * h:(g + 1) * h])
            if forget_bias is not None and self.cell is nn.LSTM:
                for name, p in rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        p[h:2 * h] = forget_bias
                    elif name.startswith("bias_hh"):
                        p[h:2 * h] = 0.0  # the two biases add up; keep the sum at forget_bias

    def _run(self, rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor,
             pool: bool) -> torch.Tensor:
        """One direction over (B, T, D) -> its outputs (B, T, H) in the order it read them, or pooled (B, H)."""
        if not self.packed:
            out = rnn(x)[0]
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out = pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=x.shape[1])[0]
        return self._pool(out, lengths, mask) if pool else out

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        # (B * T,): row of the flattened batch that position t reads when each sequence is read backwards
        # within its length; whole rows, so the backward pass is a cheap index_add
        reverse = (backward_positions(lengths, t) + t * torch.arange(b, device=x.device)[:, None]).reshape(-1)
        for i, layer in enumerate(self.layers):
            if i:
                x = self.between(x)
            # The last layer is pooled direction by direction when the pooling does not depend on the order
            # of the positions (max, mean, the final state): the backward outputs are pooled as they come,
            # never put back in reading order, and the two directions are never concatenated at full
            # length. Side by side, each thread pools its own direction. (1,000 IMDB reviews, BiRNN model
            # time 0.70 -> 0.60 s, BiGRU 1.57 -> 1.08 s.) Attention pooling scores the whole state.
            pooled = i == len(self.layers) - 1 and self.pooling in ORDER_FREE_POOLINGS
            run = partial(self._run, lengths=lengths, mask=mask, pool=pooled)
            if self.directions == 1:
                outs = [run(layer[0], x)]  # (B, T, H), or (B, H) pooled
            else:
                x_back = _rows(x, reverse)
                if self.side_by_side and can_run_side_by_side(x):
                    fwd, back = run_directions(layer[0], layer[1], run, x, x_back)
                else:
                    fwd, back = run(layer[0], x), run(layer[1], x_back)
                outs = [fwd, back if pooled else _rows(back, reverse)]  # in reading order unless pooled
            if pooled:
                return torch.cat(outs, dim=-1)  # (B, dirs * H)
            x = torch.cat(outs, dim=-1)  # (B, T, dirs * H)
        return self.pool(x, mask)

    def _pool(self, states: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, H) outputs of one direction, in the order it read them -> (B, H). `last`: the state
        after the last real token read (for the backward direction: after reading back to position 0)."""
        if self.pooling == "last":
            last = (lengths - 1)[:, None, None].expand(states.shape[0], 1, states.shape[2])
            return states.gather(1, last)[:, 0]
        return self.pool(states, mask)


def backward_positions(lengths: torch.Tensor, t: int) -> torch.Tensor:
    """(B, T) positions the backward direction reads at each step: every sequence from its last real
    token to its first, padding left in place after it."""
    pos = torch.arange(t, device=lengths.device)[None, :]
    return torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)


def _rows(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, T, D) -> (B, T, D) with positions taken from the flattened rows `index` (B * T,)."""
    b, t, d = x.shape
    return x.reshape(b * t, d).index_select(0, index).view(b, t, d)


class GRUEncoder(RNNEncoder):
    cell = nn.GRU


class LSTMEncoder(RNNEncoder):
    cell = nn.LSTM


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
    """Transformer encoder over the embeddings (width = embedding_dim), with a key-padding mask."""

    poolings = ("cls", *MASKED_POOLINGS)
    # `predict --compile` (textclf.predict.compile_encoder): IMDB model time for 1,000 reviews 1.31 -> 0.96 s
    compilable = True
    # texts per `predict` batch (textclf.predict.BATCH_SIZE for the others): as one stream per core
    # (textclf.streams), 1,000 IMDB reviews 863 / 776 / 588 texts/s at 32 / 64 / 128; a bench run
    # (`--phases infer --encoders transformer`) 795 texts/s at 32 as streams against 643 at 64 in turn
    predict_batch_size = 32
    # SST-2 validation accuracy, 2 layers, 8 epochs: attention 0.797, mean 0.780, max 0.767
    default_pooling = "attention"

    def __init__(
        self,
        input_dim: int,
        num_layers: int = 2,
        num_heads: int = 4,
        ff_dim: int = 256,
        dropout: float = 0.1,
        pooling: str | None = None,
        positions: str = "learned",
        max_positions: int = 512,
        **_,
    ):
        super().__init__()
        pooling = pooling or self.default_pooling
        _check_choice(pooling, self.poolings, "pooling")
        _check_choice(positions, ("learned", "sinusoidal"), "positions")
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

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
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
        x = self.norm(x)
        if self.pooling == "cls":
            return x[:, 0]
        return self.pool(x, mask)


# The registry: config name -> encoder class.
ENCODERS: dict[str, type[nn.Module]] = {
    "bag": BagEncoder,
    "rnn": RNNEncoder,
    "lstm": LSTMEncoder,
    "gru": GRUEncoder,
    "transformer": TransformerEncoder,
}


def build_encoder(name: str, input_dim: int, **options) -> nn.Module:
    """Instantiate a registered encoder; an unknown name is an error listing the known ones."""
    if name not in ENCODERS:
        raise TextclfError(f"unknown encoder {name!r}: choose one of {', '.join(ENCODERS)} (--model.encoder)")
    return ENCODERS[name](input_dim, **options)
