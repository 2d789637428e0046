"""What makes `--resume` continue a run exactly where it stopped, in its folder or a copy of it.

- `run_checkpoints`: best.ckpt (best validation macro-F1) and last.ckpt, written after every epoch, so
  an interrupted run resumes from the epoch it finished last. Their state survives a moved or copied
  run directory (`MovableCheckpoint`), so a resumed copy still knows its best epoch.
- `RandomState` saves the random-number states (torch, CUDA, numpy, Python) in every checkpoint and
  restores them when training resumes, so dropout and batch-loader seeds continue as if the run had
  never stopped. (The batch order follows (seed, epoch) and needs no state of its own.)
- `AppendingCSVLogger` keeps the rows of earlier pieces in logs/metrics.csv (Lightning's logger
  deletes the file when its folder is not empty), less those of epochs after the checkpoint resumed
  from, which the resumed run trains again.
- `AtomicCheckpointIO` writes a checkpoint to a temporary file and renames it into place, so a kill
  during the write leaves the previous checkpoint, never half a file.

Checkpoint contents stay tensors and plain values, loadable with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.plugins.io import TorchCheckpointIO

from textclf.files import write_whole
from textclf.training.console import EpochsFromOne
from textclf.training.module import MONITOR
from textclf.training.signals import signals_deferred


class MovableCheckpoint(ModelCheckpoint):
    """A ModelCheckpoint whose saved state follows the run directory when it is moved or copied.

    Lightning restores the best score only when the folder it saved from is the current one; otherwise it
    starts over, and the first epoch after the resume replaces best.ckpt however bad it is. Here the paths
    the state names are moved onto the current folder first, so the state is restored in full."""

    def load_state_dict(self, state_dict: dict) -> None:
        saved = state_dict.get("dirpath")
        if saved and self.dirpath and saved != self.dirpath:
            def moved(path):
                if not isinstance(path, str) or not path:
                    return path
                return os.path.join(self.dirpath, os.path.relpath(path, saved))

            state_dict = {**state_dict, "dirpath": self.dirpath,
                          **{key: moved(state_dict.get(key)) for key in ("best_model_path", "kth_best_model_path",
                                                                          "last_model_path")},
                          "best_k_models": {moved(k): v for k, v in (state_dict.get("best_k_models") or {}).items()}}
        super().load_state_dict(state_dict)


def run_checkpoints(run_dir: str, monitor: str = MONITOR, mode: str = "max") -> tuple[ModelCheckpoint, ModelCheckpoint]:
    """(best, last): best.ckpt, the epoch of the best validation macro-F1 so far, and last.ckpt, the latest
    epoch, written after every epoch. Two callbacks, because Lightning writes `save_last` only when the
    best one changes. The last one comes second, so that last.ckpt holds the best one's new state."""
    common = {"dirpath": run_dir, "save_top_k": 1, "enable_version_counter": False, "auto_insert_metric_name": False}
    best = MovableCheckpoint(filename="best", monitor=monitor, mode=mode, **common)
    last = MovableCheckpoint(filename="last", monitor=None, **common)
    return best, last


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
    def __init__(self, log_dir: str, keep_epochs: int | None):
        self.keep_epochs = keep_epochs
        super().__init__(log_dir=log_dir)

    def save(self) -> None:
        # whole or not at all: a Ctrl-C or SIGTERM cutting a write (or Lightning's rewrite of the file under a
        # new header) in half would leave a row the resumed run cannot read back
        with signals_deferred():
            super().save()

    def _check_log_dir_exists(self) -> None:
        # keep an earlier piece's metrics.csv; its header seeds the columns, so new rows line up
        with contextlib.suppress(FileNotFoundError, StopIteration):
            with open(self.metrics_file_path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                self.metrics_keys = sorted(reader.fieldnames or [])
                rows = list(reader)
            if self.keep_epochs is not None:
                kept = [r for r in rows if not r.get("epoch") or float(r["epoch"]) <= self.keep_epochs]
                if len(kept) < len(rows):  # rows of epochs the resumed run trains again
                    write_whole(self.metrics_file_path, lambda tmp: _write_rows(tmp, self.metrics_keys, kept))


def _write_rows(path: str, keys: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


class AppendingCSVLogger(EpochsFromOne, CSVLogger):
    """CSVLogger that appends to an existing logs/metrics.csv (a resumed run) instead of deleting it; epochs
    counted from 1. `keep_epochs`: a resumed run's epochs so far, whose rows alone are kept."""

    def __init__(self, *args, keep_epochs: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep_epochs = keep_epochs

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(self.log_dir, self.keep_epochs)
        return self._experiment


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written whole or not at all: a temporary file renamed over the old one."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        save = super().save_checkpoint
        write_whole(path, lambda tmp: save(checkpoint, tmp, storage_options))
