"""`RunHistory`: what a run did, epoch by epoch, for metrics.json and the compare report.

Per validation: epoch, wall seconds since fit start, validation metrics. Overall: training-only
seconds and real (non-pad) tokens, so tokens/s is the training throughput, and peak memory.
"""

from __future__ import annotations

import resource
import time

import lightning as L
import torch


def peak_memory_mb() -> float:
    """Peak resident memory of this process (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RunHistory(L.Callback):
    def __init__(self):
        self.epochs: list[dict] = []
        self.train_seconds = 0.0
        self.train_tokens = 0
        self._tokens = None
        self._fit_start = None
        self._epoch_start = None
        self.elapsed_offset = 0.0  # wall seconds of earlier sessions of a resumed run

    def state_dict(self) -> dict:
        return {"epochs": self.epochs, "train_seconds": self.train_seconds, "train_tokens": self.train_tokens,
                "elapsed": self.elapsed()}

    def load_state_dict(self, state: dict) -> None:
        self.epochs = list(state["epochs"])
        self.train_seconds = state["train_seconds"]
        self.train_tokens = state["train_tokens"]
        self.elapsed_offset = state["elapsed"]

    def elapsed(self) -> float:
        """Wall seconds of training and validation so far, over all pieces of a resumed run."""
        return self.elapsed_offset + (time.perf_counter() - self._fit_start if self._fit_start else 0.0)

    def on_fit_start(self, trainer, pl_module) -> None:
        self._fit_start = time.perf_counter()
        self.world_size = trainer.world_size  # tokens are counted on one rank; each rank sees its share

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._epoch_start = time.perf_counter()
        self._tokens = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        n = batch["lengths"].sum()  # stays a tensor: no device sync in the hot loop
        self._tokens = n if self._tokens is None else self._tokens + n

    def _close_train_part(self) -> None:
        if self._epoch_start is not None:
            self.train_seconds += time.perf_counter() - self._epoch_start
            self._epoch_start = None
            if self._tokens is not None:
                self.train_tokens += int(self._tokens)

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._close_train_part()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._close_train_part()

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val_")}
        self.epochs.append({"epoch": trainer.current_epoch + 1, "elapsed": round(self.elapsed(), 3), **metrics})

    def summary(self) -> dict:
        world = getattr(self, "world_size", 1)
        tokens_per_s = world * self.train_tokens / self.train_seconds if self.train_seconds else 0.0
        out = {
            "epochs": len(self.epochs),
            "train_seconds": round(self.train_seconds, 3),
            "train_tokens_per_second": round(tokens_per_s, 1),
            "peak_memory_mb": round(peak_memory_mb(), 1),
            "history": self.epochs,
        }
        if torch.cuda.is_available():
            out["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        return out
