"""What a training run prints: one progress bar (or, into a file or pipe, one plain line) per epoch,
epochs counted from 1, and nothing from Lightning itself at default verbosity.

Lightning configures its loggers when it is imported, so they are quietened here, after the import,
rather than before it; textclf's own lines (the data summary, the parameter counts) are unaffected.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar

LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
# Lightning warnings that say nothing to a textclf user (the DataLoader workers are chosen on purpose,
# the batch size is given to every log call); others, and the user's own, still show.
NOISE = (r".*does not have many workers.*", r".*isinstance\(treespec, LeafSpec\).*",
         r"LightningCLI's args parameter is intended", r"Checkpoint directory .* exists and is not empty",
         r"The number of training batches .* is smaller than the logging interval")


def quiet_lightning(verbose: bool = False) -> None:
    """Lightning's INFO lines (accelerator, tips, "fit stopped") only with --verbose, each printed once."""
    import warnings

    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO if verbose else logging.WARNING)
        if logger.handlers:  # Lightning's own handler prints it; the root handler must not print it again
            logger.propagate = False
    if not verbose:
        for pattern in NOISE:
            warnings.filterwarnings("ignore", message=pattern)


@contextlib.contextmanager
def silenced(*names: str, level: int = logging.WARNING):
    """The loggers `names` print only from `level` (warnings and errors) for the block; their levels are
    restored after."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, level))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def lightning_silent():
    """Lightning's INFO lines off for a moment, --verbose or not (the final evaluation's second Trainer
    would repeat the first one's accelerator lines)."""
    return silenced(*LIGHTNING_LOGGERS)


def epoch_reporter(enabled: bool) -> list[L.Callback]:
    """The progress display of a run: a bar per epoch on a terminal, plain lines otherwise, or none."""
    if not enabled:
        return []
    return [EpochBar(leave=True)] if sys.stderr.isatty() else [EpochLines()]


class EpochBar(RichProgressBar):
    """Rich's bar with epochs counted from 1 (`Epoch 1/8` is the first of eight)."""

    def _get_train_description(self, current_epoch: int) -> str:
        total = self.trainer.max_epochs
        return f"Epoch {current_epoch + 1}/{total}" if total and total > 0 else f"Epoch {current_epoch + 1}"


class EpochLines(L.Callback):
    """One line per epoch on stdout, for logs and pipes where a live bar would be a mess of control codes:
    `epoch 2/8  train_loss 0.512  val_acc 0.8012  val_f1 0.7990  (12.3s)`."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or trainer.global_rank != 0:
            return
        m = trainer.callback_metrics
        total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        parts = [f"{k} {float(m[k]):.4f}" for k in ("train_loss", "val_loss", "val_acc", "val_micro_f1", "val_f1") if k in m]
        print(f"epoch {trainer.current_epoch + 1}{total}  " + "  ".join(parts)
              + f"  ({time.perf_counter() - self._start:.1f}s)", flush=True)


class EpochsFromOne:
    """A Lightning logger mixin: the `epoch` column Lightning adds to every row counts from 1, as the bar,
    the run summary and metrics.json do."""

    def log_metrics(self, metrics: dict, step=None) -> None:
        if "epoch" in metrics:
            metrics = {**metrics, "epoch": int(metrics["epoch"]) + 1}
        super().log_metrics(metrics, step)
