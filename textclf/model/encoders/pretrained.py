"""A pretrained Transformer from Hugging Face (BERT, RoBERTa, DistilBERT, MiniLM, ...) as an encoder.

It brings its own tokenizer and token embeddings: the network feeds it token ids, and its last hidden
states are pooled like the other encoders' states (cls, mean, max, attention). The architecture is
`transformers`' (AutoConfig/AutoModel), not written again here. A checkpoint holds the architecture
(the model's config as plain values) and the weights, so it rebuilds with no folder and no network;
`pretrained_parts` reads the weights and the tokenizer from a folder or the hub when training starts.
"""

from __future__ import annotations

import contextlib
import logging
import os

import torch
from torch import nn

from textclf.data.hub import before_hub_download
from textclf.data.tokenizer import GivenTokenizer
from textclf.errors import TextclfError
from textclf.model.encoders.options import check_choice
from textclf.model.pooling import MASKED_POOLINGS, MaskedPooling

log = logging.getLogger(__name__)

ROBERTA_LIKE = ("roberta", "xlm-roberta", "camembert")
INSTALL = "pip install 'transformers>=4.40' (or the textclf extra: pip install 'textclf[pretrained]')"


def _transformers():
    try:
        import transformers
    except ImportError as err:
        raise TextclfError(f"the pretrained encoder needs transformers: {INSTALL}") from err
    return transformers


@contextlib.contextmanager
def _quiet_transformers():
    """transformers' notices (unused pooler weights, and the like) and its "Loading weights" bar off while a
    model is built or read."""
    transformers = _transformers()
    level, bars = transformers.logging.get_verbosity(), transformers.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield transformers
    finally:
        transformers.logging.set_verbosity(level)
        if bars:
            transformers.logging.enable_progress_bar()


def _without_pooler(build, source) -> nn.Module:
    """`build(source)` (AutoModel.from_config or .from_pretrained): the model without a task head, and without
    BERT's pooler (its own `[CLS]` layer, unused here)."""
    try:
        return build(source, add_pooling_layer=False)
    except TypeError:  # models without a pooler do not take the argument
        return build(source)


class PretrainedEncoder(nn.Module):
    """Token ids (B, T), lengths (B,), mask (B, T) -> the pooled last hidden states (B, hidden)."""

    poolings = ("cls", *MASKED_POOLINGS)
    brings_embedding = True  # reads token ids, not the network's token vectors
    predict_batch_size = 32  # texts per prediction batch, as the from-scratch Transformer's

    def __init__(self, input_dim: int, pooling: str = "mean", architecture: dict | None = None, source: str = ""):
        """`architecture`: the Hugging Face config as plain values (`config.to_dict()`); `source`: the
        folder or hub id the weights came from (a record, never read again)."""
        super().__init__()
        check_choice(pooling, self.poolings, "pooling")
        if not architecture:
            raise TextclfError("the pretrained encoder needs --model.pretrained NAME_OR_FOLDER: a Hugging Face hub id "
                               "or a folder with config.json, the weights and tokenizer.json")
        with _quiet_transformers() as transformers:
            config = transformers.AutoConfig.for_model(**architecture)
            self.body = _without_pooler(transformers.AutoModel.from_config, config)
        self.source = source
        self.pooling = pooling
        self.output_dim = int(getattr(config, "hidden_size", None) or config.dim)
        if pooling != "cls":
            self.pool = MaskedPooling(pooling, self.output_dim)

    def states(self, ids: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) ids -> the last hidden states (B, T, hidden) and their mask."""
        return self.body(input_ids=ids, attention_mask=mask.long()).last_hidden_state, mask

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        states, mask = self.states(ids, lengths, mask)  # (B, T, H)
        if self.pooling == "cls":
            return states[:, 0]  # the tokenizer's first special token ([CLS], <s>)
        return self.pool(states, mask)  # (B, H)

    def layer_depth(self, name: str) -> int | None:
        """How deep a parameter of `body` sits: 0 for the embeddings, i + 1 for layer i, None above the
        layers (a final norm): for layer-wise learning-rate decay."""
        parts = name.split(".")
        for i, part in enumerate(parts[:-1]):
            if part in ("layer", "layers") and parts[i + 1].isdigit():
                return int(parts[i + 1]) + 1
        return 0 if "embeddings" in parts else None

    @property
    def num_layers(self) -> int:
        config = self.body.config
        return int(getattr(config, "num_hidden_layers", None) or config.n_layers)


def pretrained_parts(source: str) -> tuple[dict, GivenTokenizer]:
    """The architecture (plain values) and the tokenizer of a Hugging Face model: a local folder (config.json,
    weights, tokenizer files) or a hub id. A hub id without a network is a one-line error."""
    with _quiet_transformers() as transformers, _readable(source):
        config = transformers.AutoConfig.from_pretrained(source)
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, use_fast=True)
    if not getattr(tokenizer, "is_fast", False):
        raise TextclfError(f"{source} has no fast tokenizer (tokenizer.json): save one with transformers' "
                           "AutoTokenizer(...).save_pretrained(folder)")
    backend = tokenizer.backend_tokenizer
    backend.no_padding()
    backend.no_truncation()
    plain = backend.encode("a", add_special_tokens=False).ids
    wrapped = backend.encode("a", add_special_tokens=True).ids
    at = next(i for i in range(len(wrapped)) if wrapped[i:i + len(plain)] == plain)
    prefix, suffix = wrapped[:at], wrapped[at + len(plain):]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else getattr(config, "pad_token_id", None)
    if pad_id is None:
        raise TextclfError(f"{source} has no padding token: textclf pads batches; choose a model that has one")
    # RoBERTa-style models number positions from pad_id + 1: two of their position rows are never a token's
    positions = getattr(config, "max_position_embeddings", 512) - (2 if config.model_type in ROBERTA_LIKE else 0)
    limit = min(positions, tokenizer.model_max_length) if tokenizer.model_max_length < 1_000_000 else positions
    name = os.path.basename(os.path.normpath(source)) if os.path.isdir(source) else source
    given = GivenTokenizer(backend.to_str(), list(prefix), list(suffix), int(pad_id), limit - len(prefix) - len(suffix),
                           name)
    return config.to_dict(), given


def load_pretrained_weights(encoder: PretrainedEncoder, source: str) -> None:
    """Copy the pretrained weights of `source` into the encoder's body."""
    with _quiet_transformers() as transformers, _readable(source):
        model = _without_pooler(transformers.AutoModel.from_pretrained, source)
    missing, unexpected = encoder.body.load_state_dict(model.state_dict(), strict=False)
    if missing:
        raise TextclfError(f"{source}'s weights do not fit its own config ({missing[0]} missing): check the folder")
    log.info("pretrained weights: %s (%s parameters)", source, f"{sum(p.numel() for p in model.parameters()):,}")


@contextlib.contextmanager
def _readable(source: str):
    """Errors of reading a model folder or hub id as one line naming `source`."""
    try:
        if not os.path.exists(source):
            before_hub_download()
        yield
    except TextclfError:
        raise
    except (OSError, ValueError, KeyError) as err:
        text = str(err).lower()
        if not os.path.exists(source) and any(w in text for w in ("connect", "offline", "resolve", "network",
                                                                   "timed out", "internet", "hub")):
            raise TextclfError(f"could not reach the Hugging Face Hub to load {source!r}: no network; give a local "
                               "folder with config.json, the weights and tokenizer.json") from err
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TextclfError(f"cannot read the pretrained model {source}: {first[:300]}") from err
