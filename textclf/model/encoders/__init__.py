"""Encoders: embedded tokens (B, T, E), lengths (B,), mask (B, T) -> one pooled vector (B, output_dim).

`ENCODERS` maps config names to classes; adding an encoder is one class and one entry here, and the
parametrized tests pick it up. Each class takes `input_dim` and its own keyword options, no others;
the head is sized from its `output_dim`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

from torch import nn

from textclf.errors import TextclfError
from textclf.model.encoders.bag import BagEncoder
from textclf.model.encoders.pretrained import PretrainedEncoder
from textclf.model.encoders.rnn import GRUEncoder, LSTMEncoder, RecurrentEncoder, RNNEncoder
from textclf.model.encoders.transformer import TransformerEncoder

ENCODERS: dict[str, type[nn.Module]] = {
    "bag": BagEncoder,
    "rnn": RNNEncoder,
    "lstm": LSTMEncoder,
    "gru": GRUEncoder,
    "transformer": TransformerEncoder,
    "pretrained": PretrainedEncoder,  # a Hugging Face model: --model.pretrained names it
}
# Encoders trained from nothing (every one but those that need weights from elsewhere)
FROM_SCRATCH = tuple(name for name, cls in ENCODERS.items() if not getattr(cls, "brings_embedding", False))

__all__ = ["ENCODERS", "FROM_SCRATCH", "DERIVED_OPTIONS", "PretrainedEncoder", "RecurrentEncoder", "build_encoder", "encoder_class", "encoder_options", "foreign_options", "option_names",
           "resolve_options"]


def encoder_class(name: str) -> type[nn.Module]:
    """The registered class of `name`; an unknown name is an error listing the known ones."""
    if name not in ENCODERS:
        raise TextclfError(f"unknown encoder {name!r}: choose one of {', '.join(ENCODERS)} (--model.encoder)")
    return ENCODERS[name]


NETWORK_ARGUMENTS = ("input_dim", "dropout")  # set by the network (its width and dropout), not encoder options
# options that come with the weights (a pretrained model's architecture and origin), never flags
DERIVED_OPTIONS = ("architecture", "source")


def encoder_options(name: str) -> dict[str, object]:
    """The options the encoder takes, with their defaults (its constructor's keywords, less the network's)."""
    params = inspect.signature(encoder_class(name)).parameters
    return {key: p.default for key, p in params.items() if key not in NETWORK_ARGUMENTS}


def option_names() -> set[str]:
    """Every option of any encoder that a user sets (--model.NAME)."""
    return {key for name in ENCODERS for key in encoder_options(name) if key not in DERIVED_OPTIONS}


def foreign_options(name: str) -> set[str]:
    """Options of other encoders that `name` does not take."""
    return option_names() - set(encoder_options(name))


def resolve_options(name: str, given: Mapping[str, object]) -> dict[str, object]:
    """Every option of the encoder: those in `given` (None: unset), the defaults for the rest. A given
    option that the encoder does not take is a one-line error naming the ones it does."""
    accepted = encoder_options(name)
    chosen = {key: value for key, value in given.items() if value is not None}
    wrong = [key for key in chosen if key not in accepted]
    if wrong:
        raise TextclfError(f"--model.{wrong[0]} does not apply to the {name} encoder: drop it "
                           f"(the {name} encoder takes {', '.join(accepted)})")
    return {**accepted, **chosen}


def build_encoder(name: str, input_dim: int, dropout: float = 0.0, **options) -> nn.Module:
    """An encoder of `name` with `options` (checked by `resolve_options`); `dropout` goes to those that take it."""
    cls = encoder_class(name)
    network = {"dropout": dropout} if "dropout" in inspect.signature(cls).parameters else {}
    return cls(input_dim, **network, **resolve_options(name, options))
