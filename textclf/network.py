"""The network: token ids -> embedding -> encoder -> pooled vector -> dropout -> head -> logits.

`NetworkParts` builds the three parts from the hyperparameters and runs them. It is mixed into the
Lightning module that trains the network (`textclf.model.TextClassifier`) and into `TextNetwork`, a
plain `nn.Module` that predicts from a checkpoint (`textclf.checkpoint.load_network`) without
importing Lightning: `import lightning` takes ~3.5 s of the ~6 s that `textclf predict` spent
starting. Both have the same parts under the same names, so one state dict fits both.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from textclf.dropout import Dropout
from textclf.embedding import TokenEmbedding
from textclf.encoders import build_encoder

CHECKPOINT_KEY = "textclf"  # the archive part of a checkpoint: tokenizer, labels, preprocessing
CHECKPOINT_FORMAT = 1
PARTS = ("embedding", "encoder", "head")


class NetworkParts:
    """embedding, encoder and head as attributes of an `nn.Module`, and the forward pass over them."""

    embedding: TokenEmbedding
    encoder: nn.Module
    head: nn.Sequential

    def build_network(self, hp) -> None:
        """The parts sized by `hp` (hyperparameters with attribute access: vocabulary, classes, encoder options)."""
        self.embedding = TokenEmbedding(hp.num_embeddings, hp.embedding_dim, hp.embedding_dropout)
        self.encoder = build_encoder(
            hp.encoder, hp.embedding_dim, hidden_size=hp.hidden_size, num_layers=hp.num_layers,
            bidirectional=hp.bidirectional, dropout=hp.dropout, pooling=hp.pooling, init=hp.init, packed=hp.packed,
            side_by_side=hp.side_by_side,
            forget_bias=hp.forget_bias, nonlinearity=hp.nonlinearity, num_heads=hp.num_heads, ff_dim=hp.ff_dim,
            positions=hp.positions, max_positions=hp.max_positions or 512,
        )
        d = self.encoder.output_dim
        layers: list[nn.Module] = [Dropout(hp.dropout)]
        if hp.head_hidden:
            layers += [nn.Linear(d, hp.head_hidden), nn.GELU(), Dropout(hp.dropout)]
            d = hp.head_hidden
        self.head = nn.Sequential(*layers, nn.Linear(d, hp.num_classes))

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # input_ids (B, T), lengths (B,) -> logits (B, C)
        lengths = lengths.clamp(min=1)  # a text whose tokens all normalise away still gets one slot
        mask = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :] < lengths[:, None]  # (B, T)
        x = self.embedding(input_ids)  # (B, T, E)
        pooled = self.encoder(x, lengths, mask)  # (B, D)
        return self.head(pooled)  # (B, C)

    def take_archive(self, archive: Mapping | None) -> None:
        """The tokenizer JSON, preprocessing and data source from a checkpoint's archive (CHECKPOINT_KEY)."""
        archive = archive or {}
        self.tokenizer_json: str | None = archive.get("tokenizer")
        self.preprocessing: dict = archive.get("preprocessing", {})
        self.data_source: dict = archive.get("data", {})

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters of each part and in total."""
        counts = {name: sum(p.numel() for p in getattr(self, name).parameters()) for name in PARTS}
        counts["total"] = sum(counts.values())
        return counts


class HyperParameters(dict):
    """A dict whose keys read as attributes too (`hp.encoder`), as a Lightning module's `hparams`."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class TextNetwork(NetworkParts, nn.Module):
    """A trained network with its checkpoint's archive (tokenizer JSON, preprocessing, data source), for
    prediction: what `TextClassifier` holds, without Lightning, metrics or the optimiser."""

    def __init__(self, hparams: Mapping, archive: Mapping | None = None):
        super().__init__()
        self.hparams = HyperParameters(hparams)
        self.build_network(self.hparams)
        self.take_archive(archive)

    def load_parts(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """The weights of the parts from a TextClassifier's state dict (its loss weights left out); every
        weight of the parts must be there."""
        self.load_state_dict({k: v for k, v in state_dict.items() if k.split(".", 1)[0] in PARTS})
