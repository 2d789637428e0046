"""The Lightning Trainer of a run and its fit: our callbacks (best.ckpt and last.ckpt, early stopping, the
history, random states), loggers and display, atomic checkpoint writes, and a resumed fit from last.ckpt."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.plugins.io import CheckpointIO

from textclf.errors import Interrupted, TextclfError
from textclf.training.console import EpochBar, EpochsFromOne, epoch_reporter
from textclf.training.history import RunHistory
from textclf.training.module import MONITOR
from textclf.training.results import final_metrics, write_run_files
from textclf.training.resume import AppendingCSVLogger, AtomicCheckpointIO, RandomState, run_checkpoints

log = logging.getLogger(__name__)


def fit(cli, run_dir: str, worker: bool, callbacks: Sequence[L.Callback] = (), test: bool = True) -> dict | None:
    """Train the parsed run (`textclf.training.arguments.parse_train_args`) into `run_dir`, then evaluate its
    best checkpoint; returns metrics.json's content (None on DDP worker ranks)."""
    config, dm, model = cli.config, cli.datamodule, cli.model
    history = RunHistory()
    best, last_epoch = run_checkpoints(run_dir)
    early = EarlyStopping(monitor=MONITOR, mode="max", patience=config["patience"])
    callbacks = [best, last_epoch, early, history, RandomState(), *callbacks]
    last = os.path.join(run_dir, "last.ckpt")
    done = epochs_done(last) if config["resume"] else None
    trainer = L.Trainer(**_trainer_config(cli, run_dir, callbacks, done))
    if not worker and not config["resume"]:
        write_run_files(cli, run_dir)
    try:
        trainer.fit(model, dm, ckpt_path=last if config["resume"] else None, weights_only=True)
    except RuntimeError as err:
        mismatch = ("size mismatch", "Missing key", "Unexpected key")
        if not config["resume"] or not any(m in str(err) for m in mismatch):
            raise
        first = next(line.strip() for line in str(err).splitlines() if any(m in line for m in mismatch))
        raise TextclfError(f"{last} does not fit the model this command builds ({first.rstrip(':.')}): resume without "
                           "the --model.* or --data.* flags that changed, or train a new run") from err
    rank = trainer.global_rank
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # the final evaluation runs on rank 0 alone: metrics must not wait to sync with finished workers
        torch.distributed.destroy_process_group()
    if rank != 0:
        return None
    if trainer.interrupted:
        raise Interrupted(signal.SIGINT)
    return final_metrics(run_dir, best.best_model_path, dm, history, config["trainer"]["accelerator"], test,
                         stopped_by=_stopped_by(trainer, early))


def epochs_done(checkpoint: str) -> int:
    """How many epochs a run's checkpoint has finished (read without loading its tensors)."""
    return int(torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["epoch"]) + 1


def _stopped_by(trainer: L.Trainer, early: EarlyStopping) -> str:
    """Why training ended: early stopping, max_epochs, or another limit of the Trainer (max_time, max_steps)."""
    if early.stopped_epoch > 0:
        return "early stopping"
    if trainer.max_epochs is not None and trainer.max_epochs > 0 and trainer.current_epoch >= trainer.max_epochs:
        return "max_epochs"
    return "a Trainer limit (max_time or max_steps)"


def _trainer_config(cli, run_dir: str, callbacks: list, epochs_done: int | None) -> dict:
    """The Trainer's arguments: the user's, our callbacks and loggers, and a smoke run for fast_dev_run.
    `epochs_done`: a resumed run's finished epochs (None: a new run)."""
    trainer_config = dict(cli.config_init["trainer"])
    user_callbacks = trainer_config.pop("callbacks", None) or []
    trainer_config["callbacks"] = callbacks + (user_callbacks if isinstance(user_callbacks, list) else [user_callbacks])
    if trainer_config.get("logger") in (None, True):
        trainer_config["logger"] = _loggers(run_dir, epochs_done)
    # our own display (textclf.training.console), never Lightning's default bar
    trainer_config["callbacks"] += epoch_reporter(trainer_config.get("enable_progress_bar") is not False)
    trainer_config["enable_progress_bar"] = any(isinstance(c, EpochBar) for c in trainer_config["callbacks"])
    smoke = trainer_config.pop("fast_dev_run", False)
    if smoke:
        # Lightning's fast_dev_run turns checkpoints and logs off; a smoke run here is one short epoch
        # that writes them like any run, so that its commands can be tried on its checkpoint
        batches = 1 if smoke is True else int(smoke)
        trainer_config.update(max_epochs=1, limit_train_batches=batches, limit_val_batches=batches)
        log.info("fast_dev_run: one epoch of %d training and %d validation batch(es)", batches, batches)
    plugins = trainer_config.get("plugins") or []
    plugins = plugins if isinstance(plugins, list) else [plugins]
    if not any(isinstance(p, CheckpointIO) for p in plugins):
        trainer_config["plugins"] = [*plugins, AtomicCheckpointIO()]
    trainer_config["default_root_dir"] = run_dir
    return trainer_config


def _loggers(run_dir: str, epochs_done: int | None) -> list:
    loggers = [AppendingCSVLogger(run_dir, name="logs", version="", keep_epochs=epochs_done)]
    try:
        import tensorboard  # noqa: F401  (only when the user has it)
        from lightning.pytorch.loggers import TensorBoardLogger

        class TensorBoard(EpochsFromOne, TensorBoardLogger):
            pass

        loggers.append(TensorBoard(run_dir, name="tensorboard", version=""))
    except ImportError:
        pass
    return loggers
