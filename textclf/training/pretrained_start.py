"""Where a classifier's weights start, besides from nothing: a Hugging Face model (the pretrained encoder)
or a `textclf pretrain` run (textclf.model.pretrained_run), both named by --model.pretrained; which options
go with which; and ULMFiT's gradual unfreezing for a run's layers.
"""

from __future__ import annotations

import re

from torch import nn

from textclf.data.tokenizer import PAD_ID, GivenTokenizer
from textclf.errors import TextclfError
from textclf.model.pretrained_run import check_sizes, is_pretraining_run, read_pretraining_run

SCRATCH_ENCODER_OPTIONS = ("word_dropout", "bigrams", "pretrained_vectors")


def check_pretrained(encoder: str | None, pretrained: str | None, *, embedding_dim: int | None = None,
                     choices: dict | None = None, **options) -> str:
    """The encoder (a pretraining run's own; --model.pretrained otherwise implies the pretrained encoder;
    none means gru), with the options that do not go with it refused in one line."""
    if pretrained and encoder != "pretrained" and is_pretraining_run(pretrained):
        return _check_run(encoder, pretrained, embedding_dim, choices or {}, options)
    if encoder is None:
        encoder = "pretrained" if pretrained else "gru"
    if options.get("gradual_unfreezing"):
        raise TextclfError("--model.gradual_unfreezing applies to a textclf pretrain run (--model.pretrained RUN_DIR): drop it")
    if pretrained and encoder != "pretrained":
        raise TextclfError(f"--model.pretrained {pretrained} fine-tunes a Hugging Face model, the pretrained encoder (it "
                           f"is not a textclf pretrain run directory): drop --model.encoder {encoder}, or --model.pretrained")
    if encoder == "pretrained":
        if not pretrained:
            raise TextclfError("--model.encoder pretrained needs --model.pretrained NAME_OR_FOLDER: a Hugging Face hub "
                               "id or a folder with config.json, the weights and tokenizer.json")
        _refuse_scratch_options(options, "a pretrained model (it brings its own embeddings)")
    elif options["freeze_pretrained"] or options["layer_decay"] != 1.0:
        flag = "freeze_pretrained" if options["freeze_pretrained"] else "layer_decay"
        raise TextclfError(f"--model.{flag} applies to a pretrained model (--model.pretrained): drop it")
    return encoder


def _check_run(encoder: str | None, path: str, embedding_dim: int | None, choices: dict, options: dict) -> str:
    run = read_pretraining_run(path)
    own = run.network.encoder
    if encoder not in (None, own):
        raise TextclfError(f"--model.pretrained {path} is a pretrained {own} encoder: drop --model.encoder {encoder} "
                           "(the encoder comes from the run)")
    if options["layer_decay"] != 1.0:
        raise TextclfError("--model.layer_decay applies to a Hugging Face model: for a pretraining run use "
                           "--model.pretrained_lr or --model.gradual_unfreezing")
    for key in ("bigrams", "pretrained_vectors"):
        if options[key] not in (0, None):
            raise TextclfError(f"--model.{key} does not go with a pretraining run (it brings its embedding): drop it")
    check_sizes(run, embedding_dim, choices)
    return own


def _refuse_scratch_options(options: dict, what: str) -> None:
    for key in SCRATCH_ENCODER_OPTIONS:
        if options[key] not in (0, None):  # set away from its default (0.0, 0, None)
            raise TextclfError(f"--model.{key} applies to the encoders trained from scratch, not to {what}: drop it")


def run_tokenizer(path: str) -> GivenTokenizer:
    """A pretraining run's tokenizer, as the tokenizer the classifier brings (no special tokens around a text)."""
    run = read_pretraining_run(path)
    return GivenTokenizer(run.archive.tokenizer_json, [], [], PAD_ID, run.max_length, f"the pretraining run {path}")


# -- gradual unfreezing ---------------------------------------------------------------------------------

_LAYER = re.compile(r"^network\.encoder\.(?:layers|blocks)\.(\d+)\.")


def layer_of(name: str, num_layers: int) -> int | None:
    """A parameter's place in a pretrained network, counted from the bottom: -1 the embedding (and the
    Transformer's positions), 0..num_layers-1 the encoder's layers (the final norm with the top one), None a
    new part (pooling, head) that always trains."""
    if name.startswith("network.embedding.") or name == "network.encoder.positions":
        return -1
    if match := _LAYER.match(name):
        return int(match.group(1))
    if name.startswith("network.encoder.norm."):
        return num_layers - 1
    return None


def unfreeze(module: nn.Module, epoch: int, num_layers: int) -> list[str]:
    """ULMFiT's gradual unfreezing at the start of `epoch` (from 0): the new parts train from the first
    epoch, the top encoder layer from the second, one layer more each epoch, then the embedding. Returns
    the parts still frozen."""
    frozen = set()
    for name, p in module.named_parameters():
        layer = layer_of(name, num_layers)
        trains = layer is None or epoch >= num_layers - layer
        p.requires_grad_(trains)
        if not trains:
            frozen.add("embedding" if layer == -1 else f"layer {layer + 1}")
    return sorted(frozen)
