"""The network: token ids -> embedding -> encoder -> pooled vector -> dropout -> head -> logits.

`NetworkConfig` holds everything that sizes it, as plain values saved in every checkpoint, so a
checkpoint rebuilds the network without any data. `TextNetwork` is a plain `nn.Module`: the Lightning
module trains one (textclf.training.module), prediction loads one without importing Lightning.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from textclf.model.embedding import TokenEmbedding
from textclf.model.encoders import build_encoder, encoder_class
from textclf.model.speed.fast_dropout import Dropout

PARTS = ("embedding", "encoder", "head")


@dataclass
class NetworkConfig:
    """Everything that sizes a network; the defaults are the default recipe's (docs/recipe.md), which
    `textclf train`'s options take from here."""

    encoder: str  # a name of textclf.model.encoders.ENCODERS
    vocab_size: int  # embedding rows: the tokenizer's vocabulary
    num_classes: int  # head outputs
    embedding_dim: int = 128  # token vector size (also the Transformer's width)
    embedding_dropout: float = 0.2  # on token vectors
    dropout: float = 0.4  # on the pooled vector, in the head, and inside encoders that take it
    head_hidden: int = 0  # width of one hidden layer in the head; 0: a linear head
    word_dropout: float = 0.0  # share of tokens replaced by [UNK] while training
    bigrams: int = 0  # buckets of hashed bigram vectors added to the token vectors; 0: none
    encoder_options: dict = field(default_factory=dict)  # every option of the encoder (resolve_options)

    def to_dict(self) -> dict:
        return asdict(self)


class TextNetwork(nn.Module):
    """(input_ids (B, T), lengths (B,)) -> logits (B, C). An encoder that brings its own token embeddings
    (a pretrained model) reads the ids itself; the network then has no `embedding`."""

    def __init__(self, config: NetworkConfig):
        super().__init__()
        self.config = config
        brings_embedding = getattr(encoder_class(config.encoder), "brings_embedding", False)
        self.embedding = None if brings_embedding else TokenEmbedding(
            config.vocab_size, config.embedding_dim, config.embedding_dropout, config.word_dropout, config.bigrams)
        self.encoder = build_encoder(config.encoder, config.embedding_dim, dropout=config.dropout,
                                     **config.encoder_options)
        d = self.encoder.output_dim
        layers: list[nn.Module] = [Dropout(config.dropout)]
        if config.head_hidden:
            layers += [nn.Linear(d, config.head_hidden), nn.GELU(), Dropout(config.dropout)]
            d = config.head_hidden
        self.head = nn.Sequential(*layers, nn.Linear(d, config.num_classes))

    def _inputs(self, input_ids: torch.Tensor, lengths: torch.Tensor):
        lengths = lengths.clamp(min=1)  # a text whose tokens all normalise away still gets one slot
        mask = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :] < lengths[:, None]  # (B, T)
        x = input_ids if self.embedding is None else self.embedding(input_ids)  # (B, T) ids or (B, T, E)
        return x, lengths, mask

    def pooled(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) ids, (B,) lengths -> (B, D): the vector the head sees."""
        return self.encoder(*self._inputs(input_ids, lengths))  # (B, D)

    def states(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) ids, (B,) lengths -> one state per token (B, T', D) and their mask (B, T'), before pooling
        (what a token-level objective reads)."""
        return self.encoder.states(*self._inputs(input_ids, lengths))

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(input_ids, lengths))  # (B, C)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of each part and in total."""
        counts = {name: sum(p.numel() for p in getattr(self, name).parameters()) if getattr(self, name) is not None else 0
                  for name in PARTS}
        counts["total"] = sum(counts.values())
        return counts
