"""`textclf train`: LightningCLI parsing (config files + dotted flags) and one run into a run directory.

A run directory holds best.ckpt (best validation macro-F1), last.ckpt, config.yaml, metrics.json,
tokenizer.json and CSV logs. What may happen to it (--overwrite, interrupts, locking) is run_dir's
rules; what makes --resume exact is resume's; how signals become interrupts is signals'.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

import lightning as L
import torch
from jsonargparse import ActionYesNo
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.plugins.io import CheckpointIO

from textclf.data.datamodule import TextDataModule
from textclf.errors import Interrupted, TextclfError
from textclf.model.checkpoint import RETIRED_OPTIONS, read_checkpoint, upgrade_model_options
from textclf.train.console import EpochBar, EpochsFromOne, epoch_reporter, lightning_silent, quiet_lightning
from textclf.train.history import RunHistory
from textclf.train.module import LitTextClassifier, load_module
from textclf.train.resume import AppendingCSVLogger, AtomicCheckpointIO, RandomState
from textclf.train.run_dir import (
    RunDirLock,
    aside_path,
    check_replaceable,
    check_writable,
    holds_files,
    is_run,
    move_aside,
    put_back,
    recover_replaced,
    write_marker,
)
from textclf.train.signals import signals_as_interrupts, signals_deferred

log = logging.getLogger(__name__)
quiet_lightning(verbose=os.environ.get("TEXTCLF_VERBOSE") == "1")

RUN_DIR_ENV = "TEXTCLF_RUN_DIR"  # passes rank 0's run directory to DDP worker processes
MONITOR = "val_f1"
RESUME_OR_OVERWRITE = "--resume continues a run and --overwrite replaces it: give one of them"

TRAINER_DEFAULTS = {
    "max_epochs": 8,
    "gradient_clip_val": 1.0,
    "num_sanity_val_steps": 0,
    "log_every_n_steps": 20,
    "enable_model_summary": False,  # the model logs its own parameter counts: embedding / encoder / head
    # batches are sharded across ranks by our length-bucketing sampler, not Lightning's
    "use_distributed_sampler": False,
}


class ParserError(TextclfError):
    """A bad flag or config value, reported in one line."""


class TextclfArgumentParser(LightningArgumentParser):
    def error(self, message: str, ex: Exception | None = None):
        raise ParserError(_one_line_parser_error(self, message))


def _one_line_parser_error(parser, message: str) -> str:
    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    if "unrecognized arguments:" in text.lower():
        bad = text[text.lower().index("unrecognized arguments:") + len("unrecognized arguments:"):].split()[0]
        group = bad.lstrip("-").split(".")[0] if "." in bad else ""
        keys = sorted(k for k in parser.get_defaults().keys() if (k.startswith(group + ".") if group else "." not in k))
        names = [k.split(".", 1)[1] if group else k for k in keys if k not in ("help", "config", "print_config")]
        hint = f"valid --{group}.* flags: {', '.join(names)}" if group else f"valid flags: --{', --'.join(names)}"
        return f"unknown flag {bad}; {hint} (see textclf train --help)"
    return text


class TextclfCLI(LightningCLI):
    """LightningCLI without auto-run: `--model.*`, `--data.*`, `--trainer.*`, plus run options."""

    def add_default_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Seed of weights, data carving and batch order.")

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_dir", type=Optional[str], default=None,
                            help="Run directory (default runs/<dataset>-<encoder>-<timestamp>).")
        parser.add_argument("--overwrite", action=ActionYesNo, default=False,
                            help="Replace an existing run directory (only once the new run has finished).")
        parser.add_argument("--resume", action=ActionYesNo, default=False,
                            help="Continue the run in --run_dir from its last.ckpt.")
        parser.add_argument("--patience", type=int, default=3,
                            help="Early stopping: epochs without a better validation macro-F1.")

    def _set_seed(self) -> None:
        L.seed_everything(self.config["seed"], workers=True, verbose=False)

    def before_instantiate_classes(self) -> None:
        # the data split follows --seed unless --data.seed fixes it (compare keeps one split for all seeds)
        if self.config["data"]["seed"] is None:
            self.config["data"]["seed"] = self.config["seed"]

    def instantiate_classes(self) -> None:
        """Model and data only: the trainer waits until the data is known to be good."""
        self.config_init = self.parser.instantiate_classes(self.config)
        self.datamodule = self.config_init["data"]
        self.model = self.config_init["model"]


def parse_train_args(argv: list[str]) -> TextclfCLI:
    """Parse `textclf train` arguments (config files, dotted flags) and build model and data."""
    argv = _with_resumed_config(argv)
    return TextclfCLI(
        LitTextClassifier,
        TextDataModule,
        run=False,
        args=argv,
        save_config_callback=None,
        auto_configure_optimizers=False,
        trainer_defaults=TRAINER_DEFAULTS,
        parser_class=TextclfArgumentParser,
        parser_kwargs={"prog": "textclf train", "description": "Train a text classifier.", "allow_abbrev": False},
    )


def _with_resumed_config(argv: list[str]) -> list[str]:
    """`--resume --run_dir X`: start from X/config.yaml, so the resumed run is the same run."""
    if "--resume" not in argv:
        return argv
    if "--overwrite" in argv:
        raise TextclfError(RESUME_OR_OVERWRITE)
    run_dir = _flag_value(argv, "--run_dir")
    if run_dir is None:
        raise TextclfError("--resume needs --run_dir: the run directory to continue")
    config = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(os.path.join(run_dir, "last.ckpt")):
        raise TextclfError(f"cannot resume: {run_dir} has no last.ckpt (train into it first, without --resume)")
    return ["--config", _upgraded_config(config), *argv] if os.path.exists(config) else argv


def _upgraded_config(path: str) -> str:
    """The run's config.yaml as this version reads it: the path itself, or for a run trained before the
    package layout (its model section named speed switches, data sizes and every encoder's options)
    the config upgraded by `upgrade_model_options`, as a YAML string."""
    import yaml

    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    model = config.get("model") or {}
    if not any(key in model for key in RETIRED_OPTIONS):
        return path
    config["model"] = upgrade_model_options(model)
    return yaml.safe_dump(config)


def _flag_value(argv: list[str], flag: str) -> str | None:
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def resolve_run_dir(config, dm: TextDataModule) -> str:
    if os.environ.get(RUN_DIR_ENV):
        return os.environ[RUN_DIR_ENV]
    if config["run_dir"]:
        return config["run_dir"]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", f"{dm.source_name}-{config['model']['encoder']}-{stamp}")


def is_worker_process() -> bool:
    """A DDP process started by Lightning for rank > 0 (it re-runs this command)."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0 or int(os.environ.get("NODE_RANK", "0")) > 0


def train(argv: list[str], callbacks: Sequence[L.Callback] = (), test: bool = True) -> dict | None:
    """Run `textclf train`; returns metrics.json's content (None on DDP worker ranks). `callbacks` join
    the run's own; `test=False` leaves the test split unscored (a search must not look at it)."""
    cli = parse_train_args(argv)
    config, dm = cli.config, cli.datamodule
    run_dir = resolve_run_dir(config, dm)
    if is_worker_process():
        dm.prepare_data()
        dm.setup("fit")
        cli.model.build(dm.facts())
        return _fit(cli, run_dir, worker=True, callbacks=callbacks, test=test)
    resume = config["resume"]

    def prepare() -> None:
        if resume:
            read_checkpoint(os.path.join(run_dir, "last.ckpt"))  # refuse a damaged or unsafe file before any work
        dm.prepare_data()
        dm.setup("fit")
        cli.model.build(dm.facts())

    return in_run_dir(run_dir, config["overwrite"], resume, prepare,
                      lambda: _fit(cli, run_dir, worker=False, callbacks=callbacks, test=test))


def in_run_dir(run_dir: str, overwrite: bool, resume: bool, prepare: Callable[[], None], work: Callable[[], dict]) -> dict:
    """`prepare()` (load the data: an error there stops us before anything is written), then `work()` in
    the claimed run directory; returns what `work` returns.

    The run directory's lock is held for the whole command. An interrupted run (SIGINT, SIGTERM) keeps
    its last.ckpt to resume from and raises `Interrupted` with what to do next; an `--overwrite` that
    fails or is interrupted puts the old run back."""
    if resume and overwrite:
        raise TextclfError(RESUME_OR_OVERWRITE)
    check_writable(run_dir)
    with signals_as_interrupts(), RunDirLock(run_dir):
        recover_replaced(run_dir)
        _check_run_dir(run_dir, overwrite=overwrite, resume=resume)
        prepare()
        claim = _Claim(run_dir, resumed=resume)
        try:
            with signals_deferred():  # the claim is recorded whole, so that an interrupt can undo exactly it
                _claim_run_dir(claim, overwrite=overwrite)
            os.environ[RUN_DIR_ENV] = run_dir
            result = work()
        except Interrupted as stop:
            raise Interrupted(stop.signum, _after_interrupt(run_dir, claim)) from None
        except BaseException:
            with signals_deferred():
                claim.undo()
            raise
        finally:
            os.environ.pop(RUN_DIR_ENV, None)  # the next run in this process (compare) picks its own
        # the run is finished: a signal while the replaced run is deleted must not leave half of it behind
        with contextlib.suppress(Interrupted), signals_deferred():
            claim.done()
    return result


def _check_run_dir(run_dir: str, overwrite: bool, resume: bool) -> None:
    """Refuse to train into an existing folder unless told to replace or continue the run in it."""
    if resume or not holds_files(run_dir):
        return
    if overwrite:
        check_replaceable(run_dir)
    elif is_run(run_dir):
        raise TextclfError(
            f"run directory {run_dir} already holds a run: pass --overwrite to replace it, "
            "--resume to continue it, or choose another --run_dir"
        )
    else:
        raise TextclfError(f"--run_dir {run_dir} holds files that are not a textclf run: choose another folder")


@dataclass
class _Claim:
    """What this command did to the run directory, so that a failure can undo exactly that."""

    run_dir: str
    created: bool = False  # the folder did not exist before
    aside: str | None = None  # where --overwrite moved the old run
    resumed: bool = False

    def undo(self) -> None:
        if self.resumed:
            return  # a resumed run keeps what it had and what it saved
        if self.aside:
            if os.path.exists(self.aside):  # else it was never moved: the old run is still in place
                put_back(self.run_dir, self.aside)
        elif self.created:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif os.path.isdir(self.run_dir):  # an empty folder the user made: leave it empty
            for name in os.listdir(self.run_dir):
                path = os.path.join(self.run_dir, name)
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)

    def done(self) -> None:
        if self.aside:
            shutil.rmtree(self.aside, ignore_errors=True)


def _claim_run_dir(claim: _Claim, overwrite: bool) -> None:
    """Create run_dir with textclf's marker. With --overwrite the old run is moved aside until the new
    one is done. Each step is recorded in `claim` before it is taken."""
    run_dir = claim.run_dir
    if claim.resumed:
        return
    claim.created = not os.path.exists(run_dir)
    if overwrite and holds_files(run_dir):
        claim.aside = aside_path(run_dir)
        move_aside(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    write_marker(run_dir)


def _after_interrupt(run_dir: str, claim: _Claim) -> str:
    """Leave the run directory resumable (or as it was) and say what happened in one line."""
    if claim.aside:
        claim.undo()
        return f"interrupted: the new run was discarded and the run it was replacing is back in {run_dir}"
    last = os.path.join(run_dir, "last.ckpt")
    if os.path.exists(last):
        epoch = int(torch.load(last, map_location="cpu", weights_only=True, mmap=True)["epoch"]) + 1
        return f"interrupted after epoch {epoch}: resume with textclf train --run_dir {run_dir} --resume"
    claim.undo()
    return "interrupted during epoch 1, before the first checkpoint: nothing was kept"


def _trainer_config(cli: TextclfCLI, run_dir: str, callbacks: list) -> dict:
    """The Trainer's arguments: the user's, our callbacks and loggers, and a smoke run for fast_dev_run."""
    trainer_config = dict(cli.config_init["trainer"])
    user_callbacks = trainer_config.pop("callbacks", None) or []
    trainer_config["callbacks"] = callbacks + (user_callbacks if isinstance(user_callbacks, list) else [user_callbacks])
    if trainer_config.get("logger") in (None, True):
        trainer_config["logger"] = _loggers(run_dir)
    # our own display (textclf.train.console), never Lightning's default bar
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


def _fit(cli: TextclfCLI, run_dir: str, worker: bool, callbacks: Sequence[L.Callback] = (), test: bool = True) -> dict | None:
    config, dm, model = cli.config, cli.datamodule, cli.model
    history = RunHistory()
    best = ModelCheckpoint(dirpath=run_dir, filename="best", monitor=MONITOR, mode="max", save_last=True,
                           save_top_k=1, enable_version_counter=False, auto_insert_metric_name=False)
    callbacks = [best, EarlyStopping(monitor=MONITOR, mode="max", patience=config["patience"]), history, RandomState(),
                 *callbacks]
    trainer = L.Trainer(**_trainer_config(cli, run_dir, callbacks))
    if not worker and not config["resume"]:
        write_run_files(cli, run_dir)
    last = os.path.join(run_dir, "last.ckpt")
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
    return _final_metrics(run_dir, best.best_model_path, dm, history, config["trainer"]["accelerator"], test)


def _loggers(run_dir: str) -> list:
    loggers = [AppendingCSVLogger(run_dir, name="logs", version="")]
    try:
        import tensorboard  # noqa: F401  (only when the user has it)
        from lightning.pytorch.loggers import TensorBoardLogger

        class TensorBoard(EpochsFromOne, TensorBoardLogger):
            pass

        loggers.append(TensorBoard(run_dir, name="tensorboard", version=""))
    except ImportError:
        pass
    return loggers


def _final_metrics(run_dir: str, best_path: str, dm: TextDataModule, history: RunHistory, accelerator,
                   test: bool = True) -> dict:
    """Validation and test metrics of the best checkpoint (reloaded from its file), written to metrics.json."""
    if not best_path or not os.path.exists(best_path):
        raise TextclfError(f"training produced no best checkpoint in {run_dir}: train for at least one epoch")
    model = load_module(best_path)
    with lightning_silent():
        trainer = L.Trainer(accelerator=accelerator if isinstance(accelerator, str) else "auto", devices=1, logger=False,
                            enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
        val = trainer.validate(model, dm, verbose=False)[0]
        scores = trainer.test(model, dm, verbose=False)[0] if test and "test" in dm.splits else None
    summary = history.summary()
    best_epoch = max(history.epochs, key=lambda e: e.get(MONITOR, -1.0)) if history.epochs else {}
    metrics = {
        "dataset": dm.source_name,
        "encoder": model.hparams.encoder,
        "val": {k.removeprefix("val_"): v for k, v in val.items()},
        "test": {k.removeprefix("test_"): v for k, v in scores.items()} if scores else None,
        "best_epoch": best_epoch.get("epoch"),
        "seconds_to_best": best_epoch.get("elapsed"),
        "wall_seconds": round(history.elapsed(), 3),  # training and validation, over all pieces of a resumed run
        "parameters": model.network.parameter_counts(),
        "data": dm.stats,
        "best_checkpoint": os.path.join(run_dir, "best.ckpt"),
        **summary,
    }
    write_metrics(run_dir, metrics)
    return metrics


def write_run_files(cli: TextclfCLI, run_dir: str) -> None:
    """config.yaml (the whole resolved config, to resume or repeat the run) and tokenizer.json."""
    with open(os.path.join(run_dir, "config.yaml"), "w", encoding="utf-8") as f:
        f.write(cli.parser.dump(cli.config, skip_none=False, skip_link_targets=False))
    with open(os.path.join(run_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(cli.datamodule.tokenizer_json)


def write_metrics(run_dir: str, metrics: dict) -> None:
    with open(os.path.join(run_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
