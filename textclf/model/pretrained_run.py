"""A `textclf pretrain` run as the start of a classifier (`textclf train --model.pretrained RUN_DIR`): its
encoder and sizes, its tokenizer, and the weights of its embedding and encoder.

The run's best.ckpt is an archive whose task is `pretrain` (PRETRAIN): a network
config without classes and the tokenizer it was trained with. A classifier keeps that tokenizer (the ids
must mean what they meant), the embedding and the encoder; its pooling and head are new.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import torch

from textclf.errors import TextclfError
from textclf.model.checkpoint import CHECKPOINT_KEY, PRETRAIN, Archive, network_weights, read_checkpoint
from textclf.model.network import NetworkConfig

# encoder options that size the weights: a fine-tuned classifier takes them from the run
SIZES = ("hidden_size", "num_layers", "bidirectional", "nonlinearity", "num_heads", "ff_dim", "positions",
         "max_positions")
NEW_PARTS = ("head.", "encoder.pool.", "encoder.cls")  # what a classifier adds to a pretrained network


@dataclass
class PretrainingRun:
    path: str
    archive: Archive

    @property
    def network(self) -> NetworkConfig:
        return self.archive.network

    @property
    def max_length(self) -> int:
        """The most tokens a text may have: the Transformer's positions; a recurrent encoder has no limit."""
        return int(self.network.encoder_options.get("max_positions") or 10**9)

    def weights(self) -> dict[str, torch.Tensor]:
        """The embedding's and the encoder's weights, named as in a classifier's network."""
        ckpt = read_checkpoint(os.path.join(self.path, "best.ckpt"))
        return {k: v for k, v in network_weights(ckpt["state_dict"]).items() if not k.startswith(NEW_PARTS)}


def checkpoint_of(path: str) -> str:
    return os.path.join(path, "best.ckpt")


def is_pretraining_run(path: str | None) -> bool:
    """Whether `path` is the folder of a `textclf pretrain` run (not a Hugging Face model or a hub id)."""
    if not path or not os.path.isdir(path) or not os.path.isfile(checkpoint_of(path)):
        return False
    return _archive(os.path.realpath(checkpoint_of(path)), os.path.getmtime(checkpoint_of(path))).task == PRETRAIN


def read_pretraining_run(path: str) -> PretrainingRun:
    if not is_pretraining_run(path):
        raise TextclfError(f"--model.pretrained {path} is not a textclf pretrain run (a folder with the best.ckpt "
                           "that textclf pretrain writes): give its run directory")
    return PretrainingRun(path, _archive(os.path.realpath(checkpoint_of(path)), os.path.getmtime(checkpoint_of(path))))


@functools.lru_cache(maxsize=8)
def _archive(checkpoint: str, mtime: float) -> Archive:
    return Archive.from_dict(read_checkpoint(checkpoint)[CHECKPOINT_KEY])


def check_sizes(run: PretrainingRun, embedding_dim: int | None, choices: dict) -> None:
    """A size flag given with --model.pretrained RUN must be the run's own: the weights have that size."""
    given = {"embedding_dim": embedding_dim, **{k: v for k, v in choices.items() if k in SIZES}}
    own = {"embedding_dim": run.network.embedding_dim, **run.network.encoder_options}
    for key, value in given.items():
        if value is not None and key in own and own[key] != value:
            raise TextclfError(f"--model.{key} {value} differs from the pretrained run's {own[key]} ({run.path}): "
                               f"drop --model.{key} (the sizes come from the run)")


def load_into(network: torch.nn.Module, run: PretrainingRun) -> None:
    """The run's embedding and encoder weights into a classifier's network; its pooling and head stay new."""
    missing, unexpected = network.load_state_dict(run.weights(), strict=False)
    wrong = [k for k in missing if not k.startswith(NEW_PARTS)] + list(unexpected)
    if wrong:
        raise TextclfError(f"{run.path} does not fit this network ({wrong[0]}): fine-tune without --model.* size flags")
