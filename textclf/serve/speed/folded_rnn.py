"""CPU inference of a one-layer RNN, LSTM or GRU classifier as one loop over time, with the embedding folded in.

torch's CPU kernels for a layer project every input vector (x W_ih + b) in one matrix product, then
run the recurrence with a few unfused element-wise ops per step, one direction after the other.
For prediction the input projection of a token depends on its id alone, so here it is computed
once per vocabulary entry when the model is loaded: a table (directions x vocabulary, gates x
hidden) replaces the embedding and the projection, and each step gathers its rows. Both directions
advance in one batched matrix product per step; rows are sorted by length so that the active ones
are a prefix that shrinks as texts end (as a PackedSequence does, without packing); the pooling
(max, mean or the final state) is kept as a running value, so the states are never stored.

Results equal the model's own forward
up to float rounding (tests/test_folded_rnn.py, which also fails if torch's gate layout changes);
figures in bench/README.md. CPU and fp32 only: on a GPU cuDNN's kernels are the
fast path, and bf16 autocast and int8 LSTM/GRU run the model itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from textclf.model.encoders import RecurrentEncoder
from textclf.model.encoders.rnn import backward_positions
from textclf.model.pooling import ORDER_FREE_POOLINGS

# The table holds (directions x vocabulary) rows of (gates x hidden) float32s: it grows with vocabulary
# and hidden size. Above this size the model keeps its own forward.
MAX_TABLE_BYTES = 512 * 2**20
# Texts per forward pass: each step is a few small ops whose fixed cost larger batches share. A BiLSTM
# runs batches of 256 in parallel threads (textclf.serve.speed.batch_threads); the GRU and vanilla RNN
# gain nothing from threads and run 512 in turn. Both measured (bench/README.md).
BATCH_SIZE, LSTM_BATCH_SIZE = 512, 256
FOLDABLE = (nn.RNN, nn.GRU, nn.LSTM)


def can_fold(model: nn.Module) -> bool:
    """Whether `model` (a TextNetwork) is a one-layer RNN, LSTM or GRU with an order-free pooling,
    plain torch cells (not int8-quantized; a vanilla RNN has no int8 kernel and stays plain) and a
    table small enough to fold."""
    enc = getattr(model, "encoder", None)
    if model.embedding is None or model.embedding.bigrams is not None:  # no table of token inputs to fold
        return False
    if not isinstance(enc, RecurrentEncoder) or len(enc.layers) != 1 or enc.pooling not in ORDER_FREE_POOLINGS:
        return False
    if any(type(rnn) not in FOLDABLE for rnn in enc.direction_rnns()):
        return False
    vocab = model.embedding.embed.num_embeddings
    return enc.directions * vocab * enc.gates * enc.hidden_size * 4 <= MAX_TABLE_BYTES


class FoldedRNN(nn.Module):
    """(input_ids (B, T), lengths (B,)) -> logits (B, C), as `model(input_ids, lengths)` in eval mode;
    `pooled` gives the vector the head sees, as `model.pooled`."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if not can_fold(model):
            raise ValueError("FoldedRNN needs a one-layer RNN, LSTM or GRU classifier with last, mean or max pooling")
        enc = model.encoder
        kernels = enc.direction_rnns()
        h, self.gru, self.lstm = enc.hidden_size, isinstance(kernels[0], nn.GRU), isinstance(kernels[0], nn.LSTM)
        self.hidden_size, self.pooling, self.head = h, enc.pooling, model.head
        self.relu = getattr(kernels[0], "nonlinearity", "tanh") == "relu"
        # how `predict` runs it, measured: see BATCH_SIZE
        self.batch_size, self.batch_threaded = (LSTM_BATCH_SIZE, True) if self.lstm else (BATCH_SIZE, False)
        self.vocab = model.embedding.embed.num_embeddings
        with torch.no_grad():
            emb = model.embedding.embed.weight
            tables, hidden_bias, w_hh = [], [], []
            for rnn in kernels:
                b_in, b_hid = rnn.bias_ih_l0.clone(), rnn.bias_hh_l0.clone()
                if self.gru:  # r and z add both biases; n's hidden bias sits inside r * (h W_hn + b_hn)
                    b_in[:2 * h] += b_hid[:2 * h]
                    b_hid[:2 * h] = 0
                else:
                    b_in += b_hid
                # LSTM gates i, f, g, o reordered to i, f, o, g: one sigmoid and one tanh per step
                cols = torch.cat([torch.arange(2 * h), torch.arange(3 * h, 4 * h), torch.arange(2 * h, 3 * h)]) \
                    if self.lstm else torch.arange(b_in.numel())
                tables.append(torch.addmm(b_in, emb, rnn.weight_ih_l0.t())[:, cols])  # (V, G*H): each token's input gates
                hidden_bias.append(b_hid[cols])
                w_hh.append(rnn.weight_hh_l0.t()[:, cols])
            self.register_buffer("table", torch.cat(tables).contiguous())  # (dirs * V, G*H), direction d at d * V
            self.register_buffer("w_hh", torch.stack(w_hh).contiguous())  # (dirs, H, G*H)
            self.register_buffer("b_hh", torch.stack(hidden_bias)[:, None, :].contiguous())  # (dirs, 1, G*H)

    @property
    def directions(self) -> int:
        return self.w_hh.shape[0]

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(input_ids, lengths))

    def pooled(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) ids, (B,) lengths -> (B, D): the pooled vector, as the model's `pooled`."""
        lengths = lengths.clamp(min=1)
        order = torch.argsort(lengths, descending=True, stable=True)
        ids, lengths = input_ids[order], lengths[order]
        steps = int(lengths[0])
        ids = ids[:, :steps]
        # (T, dirs, B): the token id each direction reads at step t, offset by d * V into the table
        reads = [ids]
        if self.directions == 2:
            reads.append(ids.gather(1, backward_positions(lengths, steps)) + self.vocab)
        reads = torch.stack(reads).permute(2, 0, 1).contiguous()
        pos = torch.arange(steps, device=ids.device)
        active = (lengths[None, :] > pos[:, None]).sum(1).tolist()  # rows still reading at each step
        pooled = self._recur(reads, active)
        if self.pooling == "mean":
            pooled = pooled / lengths[:, None].to(pooled.dtype)
        out = torch.empty_like(pooled)
        out[order] = pooled  # back in input order
        return out

    def _recur(self, reads: torch.Tensor, active: list[int]) -> torch.Tensor:
        """The recurrence over (T, dirs, B) table rows -> pooled (B, dirs * H); rows sorted by length."""
        dirs, b, hid = reads.shape[1], reads.shape[2], self.hidden_size
        h = self.table.new_zeros(dirs, b, hid)
        c = torch.zeros_like(h) if self.lstm else None
        if self.pooling == "max":
            acc = torch.full_like(h, float("-inf"))
        elif self.pooling == "mean":
            acc = torch.zeros_like(h)
        for t, n in enumerate(active):
            gates = F.embedding(reads[t, :, :n], self.table)  # (dirs, n, G*H): x W_ih + biases
            prev = h[:, :n]
            if self.gru:
                hidden = torch.baddbmm(self.b_hh, prev, self.w_hh)  # (dirs, n, 3H)
                rz = gates[..., :2 * hid].add_(hidden[..., :2 * hid]).sigmoid_()
                cand = torch.addcmul(gates[..., 2 * hid:], rz[..., :hid], hidden[..., 2 * hid:]).tanh_()
                new = torch.lerp(cand, prev, rz[..., hid:])  # (1 - z) * n + z * h
            elif self.lstm:
                g = gates.baddbmm_(prev, self.w_hh)  # (dirs, n, 4H): i, f, o, g; in place, no copy of the gates
                g[..., :3 * hid].sigmoid_()
                g[..., 3 * hid:].tanh_()
                cell = c[:, :n]
                cell.mul_(g[..., hid:2 * hid]).addcmul_(g[..., :hid], g[..., 3 * hid:])  # c = f c + i g
                new = torch.tanh(cell).mul_(g[..., 2 * hid:3 * hid])  # h = o tanh(c)
            else:
                new = gates.baddbmm_(prev, self.w_hh)
                new = new.relu_() if self.relu else new.tanh_()
            prev.copy_(new)  # rows past their text's end keep their final state
            if self.pooling == "max":
                view = acc[:, :n]
                torch.maximum(view, new, out=view)
            elif self.pooling == "mean":
                acc[:, :n] += new
        result = h if self.pooling == "last" else acc
        return result.permute(1, 0, 2).reshape(b, dirs * hid)  # forward | backward, as the encoder concatenates
