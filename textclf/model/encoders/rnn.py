"""Recurrent encoders: vanilla RNN, LSTM and GRU, one wrapper over torch's fused kernels.

Padding never changes an output. Each direction is its own unidirectional kernel: the forward one
reads the padded batch as it is (padding sits after the last real token, so it cannot reach a real
position), the backward one reads every sequence reversed within its own length (padding again at
the end). With length-bucketed batches padding is a small share of the slots, so the kernels run on
the padded batch; the `packed_rnn` speed switch runs them on PackedSequences instead (exact too).
On a CPU the two directions may run on two threads (textclf.model.speed.threaded_directions).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from textclf.model.encoders.options import check_choice
from textclf.model.pooling import MASKED_POOLINGS, ORDER_FREE_POOLINGS, MaskedPooling
from textclf.model.speed import enabled, threaded_directions
from textclf.model.speed.fast_dropout import Dropout

INITS = ("default", "xavier", "orthogonal")


class RecurrentEncoder(nn.Module):
    """A stack of (bi)directional `cell` layers, pooled. Subclasses name the cell and their own options."""

    cell: type[nn.RNNBase]
    poolings = ("last", *MASKED_POOLINGS)

    def __init__(self, input_dim: int, hidden_size: int, num_layers: int, bidirectional: bool, dropout: float,
                 pooling: str, init: str, cell_options: dict | None = None):
        super().__init__()
        check_choice(pooling, self.poolings, "pooling")
        check_choice(init, INITS, "init")
        self.directions = 2 if bidirectional else 1
        self.hidden_size = hidden_size
        # layers[i][d]: layer i, direction d (0 forward, 1 backward)
        self.layers = nn.ModuleList(
            nn.ModuleList(
                self.cell(input_dim if i == 0 else hidden_size * self.directions, hidden_size, batch_first=True,
                          **(cell_options or {}))
                for _ in range(self.directions)
            )
            for i in range(num_layers)
        )
        self.layer_dropout = Dropout(dropout if num_layers > 1 else 0.0)  # between stacked layers
        self.pooling = pooling
        self.output_dim = hidden_size * self.directions
        if pooling != "last":
            self.pool = MaskedPooling(pooling, self.output_dim)
        self.init_weights(init)

    def direction_rnns(self) -> list[nn.RNNBase]:
        """The unidirectional torch RNN modules, layer by layer, forward before backward."""
        return [rnn for layer in self.layers for rnn in layer]

    @property
    def gates(self) -> int:
        """Weight blocks per layer: 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n), 1 for a vanilla RNN."""
        return self.layers[0][0].weight_hh_l0.shape[0] // self.hidden_size

    @torch.no_grad()
    def init_weights(self, init: str) -> None:
        """`default`: PyTorch's. `xavier`: xavier input and recurrent weights; `orthogonal`: each gate's
        recurrent block orthogonal, xavier input weights; both with zero biases."""
        if init == "default":
            return
        h = self.hidden_size
        for rnn in self.direction_rnns():
            for name, p in rnn.named_parameters():
                if name.startswith("bias"):
                    p.zero_()
                elif name.startswith("weight_hh") and init == "orthogonal":
                    for g in range(self.gates):
                        nn.init.orthogonal_(p[g * h:(g + 1) * h])
                else:
                    for g in range(self.gates):
                        nn.init.xavier_uniform_(p[g * h:(g + 1) * h])

    def states(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, E) -> every position's state (B, T, directions * H), the backward half in text order, and
        the mask."""
        return self._layers(x, lengths, mask, pool_last=False), mask

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x (B, T, E), lengths (B,), mask (B, T) -> (B, directions * H)
        if self.pooling in ORDER_FREE_POOLINGS:
            return self._layers(x, lengths, mask, pool_last=True)
        return self.pool(self._layers(x, lengths, mask, pool_last=False), mask)

    def _layers(self, x: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor, pool_last: bool) -> torch.Tensor:
        """The stacked layers over x (B, T, E): the last layer's states (B, T, dirs * H), or with `pool_last`
        (an order-free pooling) each direction of the last layer pooled in its own reading order (B, dirs * H):
        the same vector as pooling the states, without putting the backward ones back in order."""
        b, t, _ = x.shape
        # (B * T,): the row of the flattened batch that the backward direction reads at each position
        reverse = (backward_positions(lengths, t) + t * torch.arange(b, device=x.device)[:, None]).reshape(-1)
        for i, layer in enumerate(self.layers):
            if i:
                x = self.layer_dropout(x)
            inputs = [x, _rows(x, reverse)][:self.directions]  # what each direction reads, in its order
            if i == len(self.layers) - 1 and pool_last:
                pool = lambda states: self._pool_direction(states, lengths, mask)  # noqa: E731
                return torch.cat(self._run_directions(layer, inputs, lengths, then=pool), dim=-1)  # (B, dirs * H)
            outs = self._run_directions(layer, inputs, lengths)  # (B, T, H) each, in its own reading order
            x = torch.cat([outs[0], *(_rows(o, reverse) for o in outs[1:])], dim=-1)  # (B, T, dirs * H)
        return x

    def _run_directions(self, layer: nn.ModuleList, inputs: list[torch.Tensor], lengths: torch.Tensor,
                        then: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Each direction's kernel over its input, followed by `then` (e.g. pooling) in the same thread."""
        def run(rnn: nn.RNNBase, x: torch.Tensor) -> torch.Tensor:
            out = self._kernel(rnn, x, lengths)
            return then(out) if then else out

        if len(inputs) == 2 and threaded_directions.worth_threading(inputs[0]):
            return list(threaded_directions.run_pair(layer[0], layer[1], run, *inputs))
        return [run(rnn, x) for rnn, x in zip(layer, inputs)]

    @staticmethod
    def _kernel(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One direction over (B, T, D) -> its outputs (B, T, H) in the order it read them."""
        if not enabled("packed_rnn"):
            return rnn(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        return pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=x.shape[1])[0]

    def _pool_direction(self, states: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
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
    """(B, T, D) -> (B, T, D) with positions taken from the flattened rows `index` (B * T,): a gather
    of whole rows, whose backward is a cheap index_add."""
    b, t, d = x.shape
    return x.reshape(b * t, d).index_select(0, index).view(b, t, d)


class RNNEncoder(RecurrentEncoder):
    """Vanilla (Elman) RNN."""

    cell = nn.RNN

    def __init__(self, input_dim: int, hidden_size: int = 128, num_layers: int = 1, bidirectional: bool = True,
                 dropout: float = 0.0, pooling: str = "max", init: str = "default", nonlinearity: str = "tanh"):
        check_choice(nonlinearity, ("tanh", "relu"), "nonlinearity")
        super().__init__(input_dim, hidden_size, num_layers, bidirectional, dropout, pooling, init,
                         cell_options={"nonlinearity": nonlinearity})


class GRUEncoder(RecurrentEncoder):
    cell = nn.GRU

    def __init__(self, input_dim: int, hidden_size: int = 128, num_layers: int = 1, bidirectional: bool = True,
                 dropout: float = 0.0, pooling: str = "max", init: str = "default"):
        super().__init__(input_dim, hidden_size, num_layers, bidirectional, dropout, pooling, init)


class LSTMEncoder(RecurrentEncoder):
    cell = nn.LSTM

    def __init__(self, input_dim: int, hidden_size: int = 128, num_layers: int = 1, bidirectional: bool = True,
                 dropout: float = 0.0, pooling: str = "max", init: str = "default", forget_bias: float = 1.0):
        """`forget_bias`: the forget gate's bias on every layer and direction (Jozefowicz et al. 2015: 1.0)."""
        super().__init__(input_dim, hidden_size, num_layers, bidirectional, dropout, pooling, init)
        h = hidden_size
        with torch.no_grad():
            for rnn in self.direction_rnns():
                rnn.bias_ih_l0[h:2 * h] = forget_bias
                rnn.bias_hh_l0[h:2 * h] = 0.0  # the two biases add up; keep the sum at forget_bias
