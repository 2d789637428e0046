"""Checkpoints are archives: weights, hyperparameters, tokenizer JSON, label names, preprocessing.

They hold tensors and plain Python values only and are read with `torch.load(weights_only=True)`,
so a file with a pickled object in it is refused before anything in it runs. `load_model` rebuilds
the Lightning module (to validate, test or train on); `load_network` the plain network that
prediction needs, without importing Lightning.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import zipfile
from typing import TYPE_CHECKING

import torch

from textclf.errors import TextclfError
from textclf.network import CHECKPOINT_FORMAT, CHECKPOINT_KEY, TextNetwork

if TYPE_CHECKING:
    from textclf.model import TextClassifier


def read_checkpoint(path: str, map_location="cpu") -> dict:
    """The checkpoint dict, safely loaded and checked to be a textclf archive."""
    if not os.path.exists(path):
        raise TextclfError(f"checkpoint {path} does not exist: give the path of a best.ckpt or last.ckpt from a textclf run")
    if os.path.isdir(path):
        raise TextclfError(f"{path} is a folder: give the checkpoint file inside it, e.g. {os.path.join(path, 'best.ckpt')}")
    if not zipfile.is_zipfile(path):  # torch.save writes zip archives; anything else is damaged or foreign
        raise TextclfError(f"{path} is not a readable checkpoint (corrupt or truncated?): retrain or copy it again")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise TextclfError(
            f"{path} contains pickled Python objects and was refused (not run); textclf checkpoints hold only "
            "tensors and plain values: use a checkpoint written by textclf"
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise TextclfError(f"{path} is not a readable checkpoint (corrupt or truncated?): retrain or copy it again") from err
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt or "state_dict" not in ckpt:
        raise TextclfError(f"{path} is not a textclf checkpoint (no tokenizer/labels archive): train one with `textclf train`")
    fmt = ckpt[CHECKPOINT_KEY].get("format")
    if fmt != CHECKPOINT_FORMAT:
        raise TextclfError(f"{path} has checkpoint format {fmt}, this textclf reads {CHECKPOINT_FORMAT}: upgrade textclf")
    return ckpt


def _hparams(ckpt: dict) -> dict:
    # LightningCLI records how it built the model (_instantiator); the model's own fields are the rest
    return {k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")}


def load_model(path: str, map_location="cpu") -> TextClassifier:
    """Rebuild a `TextClassifier` (weights, tokenizer, labels, preprocessing) from one file."""
    from textclf.model import TextClassifier

    ckpt = read_checkpoint(path, map_location)
    model = TextClassifier(**_hparams(ckpt))
    model.on_load_checkpoint(ckpt)
    with _weights_of(path):
        model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model


@contextlib.contextmanager
def _weights_of(path: str):
    """load_state_dict's missing, unexpected or wrongly shaped weights as one line naming the file."""
    try:
        yield
    except RuntimeError as err:
        detail = next((line.strip().rstrip(":.") for line in str(err).splitlines()
                       if any(w in line for w in ("Missing key", "Unexpected key", "size mismatch"))), None)
        if detail is None:
            raise
        raise TextclfError(f"{path} does not hold this model's weights ({detail[:200]}): the file was changed or "
                           "damaged; use a checkpoint as textclf wrote it, or retrain") from err


def load_network(path: str, map_location="cpu") -> TextNetwork:
    """Rebuild the trained network with its tokenizer, labels and preprocessing from one file, in eval
    mode, for prediction (no Lightning import). Its hyperparameters are the checkpoint's alone: a field
    that a later version adds to the network needs its default here, for older checkpoints."""
    ckpt = read_checkpoint(path, map_location)
    network = TextNetwork(_hparams(ckpt), ckpt[CHECKPOINT_KEY])
    with _weights_of(path):
        network.load_parts(ckpt["state_dict"])
    return network.eval()
