"""Self-supervised objectives of `textclf pretrain` over a network's per-token states.

- `mlm` (every encoder): masked-token prediction as in BERT: a share of the real tokens is chosen, 80% of
  them replaced by [MASK], 10% by a random token, 10% kept, and each chosen token is predicted from its
  position's state. The input at a chosen position never shows the answer, so a bidirectional RNN, whose
  state at a position has read that position in both directions, cannot copy it.
- `lm` (rnn, lstm, gru; one layer): the forward and backward language models of ELMo and ULMFiT: the
  forward direction's state at t predicts token t + 1, the backward one's predicts token t - 1, from the
  unmasked text. Stacked bidirectional layers mix the directions (layer 2 reads both of layer 1's), so
  each direction would see the token it predicts: one layer only.

The output layer is tied to the token embedding (its vectors are the output weights), so pretraining adds
few parameters besides the encoder's, and fine-tuning keeps the embedding and the encoder only.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from textclf.data.tokenizer import SPECIAL_TOKENS
from textclf.model.network import NetworkConfig, TextNetwork

OBJECTIVES = ("mlm", "lm")
MASK_RATE = 0.15


class ContextNetwork(TextNetwork):
    """A TextNetwork without a head: token ids -> embedding -> encoder -> per-token states. Its weights have
    the names a classifier's embedding and encoder have, so a classifier starts from them as they are."""

    def __init__(self, config: NetworkConfig):
        super().__init__(replace(config, num_classes=1))  # a head of one output, dropped at once
        self.config = config
        self.head = None


class TokenPredictor(nn.Module):
    """States (N, D) -> scores over the vocabulary (N, V): a projection to the embedding width, GELU and
    LayerNorm, then the embedding's vectors as output weights (tied) plus a bias per token."""

    def __init__(self, state_dim: int, embedding_dim: int, vocab_size: int):
        super().__init__()
        self.transform = nn.Sequential(nn.Linear(state_dim, embedding_dim), nn.GELU(), nn.LayerNorm(embedding_dim))
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, states: torch.Tensor, token_vectors: torch.Tensor) -> torch.Tensor:
        return self.transform(states) @ token_vectors.T + self.bias


def mask_tokens(ids: torch.Tensor, lengths: torch.Tensor, mask_id: int, vocab_size: int, rate: float = MASK_RATE,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) ids -> (inputs with the chosen tokens hidden, (B, T) bool: the chosen positions). At least one
    token of every non-empty text is chosen, so every batch has something to predict."""
    b, t = ids.shape
    real = torch.arange(t, device=ids.device)[None, :] < lengths[:, None]
    draw = torch.rand((b, t), generator=generator, device=ids.device)
    chosen = (draw < rate) & real
    # a text with none chosen gets its position of smallest draw among the real ones
    smallest = draw.masked_fill(~real, 2.0).argmin(dim=1)
    none = ~chosen.any(dim=1) & (lengths > 0)
    chosen[none, smallest[none]] = True
    how = torch.rand((b, t), generator=generator, device=ids.device)
    inputs = ids.clone()
    inputs[chosen & (how < 0.8)] = mask_id
    swap = chosen & (how >= 0.8) & (how < 0.9)
    random_ids = torch.randint(len(SPECIAL_TOKENS), vocab_size, (b, t), generator=generator, device=ids.device)
    inputs[swap] = random_ids[swap]
    return inputs, chosen


def masked_token_loss(network: ContextNetwork, predictor: TokenPredictor, ids: torch.Tensor, lengths: torch.Tensor,
                      mask_id: int, rate: float = MASK_RATE, generator: torch.Generator | None = None):
    """(summed cross-entropy, correct predictions, predicted tokens) of the masked-token objective."""
    inputs, chosen = mask_tokens(ids, lengths, mask_id, network.config.vocab_size, rate, generator)
    states, _ = network.states(inputs, lengths)  # (B, T, D)
    return _scored(predictor, network, states[chosen], ids[chosen])


def language_model_loss(network: ContextNetwork, predictor: TokenPredictor, ids: torch.Tensor, lengths: torch.Tensor):
    """(summed cross-entropy, correct, predicted tokens) of the forward and backward language models: the
    forward half of each state predicts the next token, the backward half the previous one."""
    states, mask = network.states(ids, lengths)  # (B, T, 2H): forward half, then backward half (text order)
    h = states.shape[-1] // 2
    ahead = mask[:, 1:] & mask[:, :-1]  # positions t with a token t + 1
    forward = torch.cat([states[:, :-1, :h], torch.zeros_like(states[:, :-1, h:])], dim=-1)[ahead]
    backward = torch.cat([torch.zeros_like(states[:, 1:, :h]), states[:, 1:, h:]], dim=-1)[ahead]
    predicted = torch.cat([forward, backward])
    targets = torch.cat([ids[:, 1:][ahead], ids[:, :-1][ahead]])
    return _scored(predictor, network, predicted, targets)


def perplexity(loss: float) -> float:
    """exp of a mean cross-entropy per token (capped: an untrained model's would overflow)."""
    return math.exp(min(float(loss), 50.0))


SCORED_ROWS = 2048  # held-out positions scored at once: (rows, vocabulary) scores, 250 MB at a 30k vocabulary


def _scored(predictor: TokenPredictor, network: ContextNetwork, states: torch.Tensor, targets: torch.Tensor,
            rows: int = SCORED_ROWS):
    """Without gradients (held-out passes: 4x the training batch, every position under `lm`) the scores are
    made `rows` positions at a time, so memory does not grow with the batch times the vocabulary."""
    step = max(len(states), 1) if torch.is_grad_enabled() else rows
    loss, correct = states.new_zeros((), dtype=torch.float32), targets.new_zeros(())
    for start in range(0, max(len(states), 1), step):
        scores = predictor(states[start:start + step], network.embedding.embed.weight)  # (n, V)
        part = targets[start:start + step]
        loss = loss + F.cross_entropy(scores.float(), part, reduction="sum")
        correct = correct + (scores.argmax(-1) == part).sum()
    return loss, correct, targets.numel()
