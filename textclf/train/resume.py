"""What makes `--resume` continue a run exactly where it stopped.

- `RandomState` saves the random-number states (torch, CUDA, numpy, Python) in every checkpoint and
  restores them when training resumes, so dropout and batch-loader seeds continue as if the run had
  never stopped. (The batch order follows (seed, epoch) and needs no state of its own.)
- `AppendingCSVLogger` keeps the rows of earlier pieces in logs/metrics.csv (Lightning's logger
  deletes the file when its folder is not empty).
- `AtomicCheckpointIO` writes a checkpoint to a temporary file and renames it into place, so a kill
  during the write leaves the previous checkpoint, never half a file.

Checkpoint contents stay tensors and plain values, loadable with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import contextlib
import csv
import random

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.plugins.io import TorchCheckpointIO

from textclf.model.checkpoint import write_whole
from textclf.train.console import EpochsFromOne
from textclf.train.signals import signals_deferred


def random_states() -> dict:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_random_states(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RandomState(L.Callback):
    """Random-number states in each checkpoint, set again when a resumed run starts training."""

    def __init__(self):
        self._restored: dict | None = None

    def state_dict(self) -> dict:
        return random_states()

    def load_state_dict(self, state: dict) -> None:
        self._restored = state  # applied at train start: building the model draws numbers after this

    def on_train_start(self, trainer, pl_module) -> None:
        if self._restored is not None:
            set_random_states(self._restored)
            self._restored = None


class _AppendingWriter(ExperimentWriter):
    def save(self) -> None:
        # whole or not at all: a Ctrl-C or SIGTERM cutting a write (or Lightning's rewrite of the file under a
        # new header) in half would leave a row the resumed run cannot read back
        with signals_deferred():
            super().save()

    def _check_log_dir_exists(self) -> None:
        # keep an earlier piece's metrics.csv; its header seeds the columns, so new rows line up
        with contextlib.suppress(FileNotFoundError, StopIteration):
            with open(self.metrics_file_path, newline="", encoding="utf-8") as f:
                self.metrics_keys = sorted(next(csv.reader(f)))


class AppendingCSVLogger(EpochsFromOne, CSVLogger):
    """CSVLogger that appends to an existing logs/metrics.csv (a resumed run) instead of deleting it; epochs
    counted from 1."""

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written whole or not at all: a temporary file renamed over the old one."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        save = super().save_checkpoint
        write_whole(path, lambda tmp: save(checkpoint, tmp, storage_options))
