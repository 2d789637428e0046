"""Analytic forward FLOPs per token of each encoder (a multiply-add counts 2), for the benchmark's
"share of the hardware's fp32 GEMM rate". Element-wise work (gate nonlinearities, norms, softmax)
is left out: the matrix products dominate and are what the GEMM rate measures."""

from __future__ import annotations

from textclf.model.network import NetworkConfig


def rnn_flops_per_token(input_dim: int, hidden: int, gates: int, num_layers: int = 1, bidirectional: bool = True) -> int:
    """Each layer and direction: gates x (input and recurrent matrix-vector products)."""
    dirs = 2 if bidirectional else 1
    total, d_in = 0, input_dim
    for _ in range(num_layers):
        total += dirs * 2 * gates * hidden * (d_in + hidden)
        d_in = dirs * hidden
    return total


def transformer_flops_per_token(dim: int, ff_dim: int, num_layers: int, seq_len: int) -> int:
    """Per layer: QKV (3 d^2) and output (d^2) projections, feed-forward (2 d ff), and attention scores
    plus weighted sum (2 T d), all as multiply-adds."""
    per_layer = 2 * (3 * dim * dim + dim * dim + 2 * dim * ff_dim + 2 * seq_len * dim)
    return num_layers * per_layer


GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def encoder_flops_per_token(config: NetworkConfig, seq_len: int) -> int:
    """Forward FLOPs per token of the encoder of a network config."""
    opts = config.encoder_options
    if config.encoder in GATES:
        return rnn_flops_per_token(config.embedding_dim, opts["hidden_size"], GATES[config.encoder], opts["num_layers"],
                                   opts["bidirectional"])
    if config.encoder == "transformer":
        return transformer_flops_per_token(config.embedding_dim, opts["ff_dim"], opts["num_layers"], seq_len)
    return 0  # bag: a masked mean, no matrix products


def train_flops_per_token(config: NetworkConfig, seq_len: int) -> int:
    """Forward + backward: backward costs about twice the forward (gradients for inputs and weights)."""
    return 3 * encoder_flops_per_token(config, seq_len)
