"""Checkpoints are archives: weights, hyperparameters, tokenizer JSON, label names, preprocessing.

They hold tensors and plain Python values only and are read with `torch.load(weights_only=True)`,
so a file with a pickled object in it is refused before anything in it runs.
"""

from __future__ import annotations

import os
import pickle
import zipfile

import torch

from textclf.errors import TextclfError
from textclf.model import CHECKPOINT_FORMAT, CHECKPOINT_KEY, TextClassifier


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


def load_model(path: str, map_location="cpu") -> TextClassifier:
    """Rebuild a `TextClassifier` (weights, tokenizer, labels, preprocessing) from one file."""
    ckpt = read_checkpoint(path, map_location)
    # LightningCLI records how it built the model (_instantiator); the model's own fields are the rest
    hparams = {k: v for k, v in ckpt["hyper_parameters"].items() if not k.startswith("_")}
    model = TextClassifier(**hparams)
    model.on_load_checkpoint(ckpt)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model
