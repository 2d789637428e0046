"""`textclf train`: LightningCLI parsing (config files + dotted flags) and one run into a run directory.

A run directory holds best.ckpt (best validation macro-F1), last.ckpt, config.yaml, metrics.json,
tokenizer.json and CSV logs. An existing run is never overwritten unless --overwrite is given, and
even then the old run is only removed once the new one has finished.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from datetime import datetime
from typing import Optional

import lightning as L
import torch
from jsonargparse import ActionYesNo
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger

from textclf.data.datamodule import TextDataModule
from textclf.errors import TextclfError
from textclf.history import RunHistory
from textclf.model import TextClassifier

log = logging.getLogger(__name__)

RUN_DIR_ENV = "TEXTCLF_RUN_DIR"  # passes rank 0's run directory to DDP worker processes
MONITOR = "val_f1"

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
        keys = sorted(
            {a.dest for a in _all_actions(parser) if a.dest and (a.dest.startswith(group + ".") if group else "." not in a.dest)}
        )
        names = [k.split(".", 1)[1] if group else k for k in keys if k not in ("help", "config", "print_config")]
        hint = f"valid --{group}.* flags: {', '.join(names)}" if group else f"valid flags: --{', --'.join(names)}"
        return f"unknown flag {bad}; {hint} (see textclf train --help)"
    return text


def _all_actions(parser):
    for action in parser._actions:
        yield action
        sub = getattr(action, "_parser", None) or getattr(action, "parser", None)
        if sub is not None and sub is not parser and hasattr(sub, "_actions"):
            yield from _all_actions(sub)


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
        TextClassifier,
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
    run_dir = _flag_value(argv, "--run_dir")
    if run_dir is None:
        raise TextclfError("--resume needs --run_dir: the run directory to continue")
    config = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(os.path.join(run_dir, "last.ckpt")):
        raise TextclfError(f"cannot resume: {run_dir} has no last.ckpt (train into it first, without --resume)")
    return ["--config", config, *argv] if os.path.exists(config) else argv


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


def train(argv: list[str]) -> dict | None:
    """Run `textclf train`; returns metrics.json's content (None on DDP worker ranks)."""
    cli = parse_train_args(argv)
    config, dm = cli.config, cli.datamodule
    run_dir = resolve_run_dir(config, dm)
    worker = is_worker_process()
    if not worker:
        _check_run_dir(run_dir, overwrite=config["overwrite"], resume=config["resume"])
    # Load and tokenize now: a data error must stop us before anything is written.
    dm.prepare_data()
    dm.setup("fit")
    replaced = None
    if not worker:
        replaced = _claim_run_dir(run_dir, overwrite=config["overwrite"], resume=config["resume"])
        os.environ[RUN_DIR_ENV] = run_dir
    try:
        metrics = _fit(cli, run_dir, worker)
    except BaseException:
        if not worker and not config["resume"]:
            _restore(run_dir, replaced)
        raise
    finally:
        if not worker:
            os.environ.pop(RUN_DIR_ENV, None)  # the next run in this process (compare) picks its own
    if replaced:
        shutil.rmtree(replaced, ignore_errors=True)
    return metrics


def _holds_run(run_dir: str) -> bool:
    return os.path.isdir(run_dir) and bool(os.listdir(run_dir))


def _check_run_dir(run_dir: str, overwrite: bool, resume: bool) -> None:
    """Refuse to train into an existing run unless told to replace or continue it."""
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise TextclfError(f"--run_dir {run_dir} is a file: choose a folder")
    if _holds_run(run_dir) and not (overwrite or resume):
        raise TextclfError(
            f"run directory {run_dir} already holds a run: pass --overwrite to replace it, "
            "--resume to continue it, or choose another --run_dir"
        )


def _claim_run_dir(run_dir: str, overwrite: bool, resume: bool) -> str | None:
    """Create run_dir. With --overwrite the old run is moved aside (and returned) until the new one is done."""
    if _holds_run(run_dir) and not resume and overwrite:
        aside = f"{run_dir.rstrip(os.sep)}.replaced-{os.getpid()}"
        os.replace(run_dir, aside)
        os.makedirs(run_dir)
        return aside
    os.makedirs(run_dir, exist_ok=True)
    return None


def _restore(run_dir: str, replaced: str | None) -> None:
    """After a failed run: remove what it wrote, and put back the run it was to replace."""
    shutil.rmtree(run_dir, ignore_errors=True)
    if replaced:
        os.replace(replaced, run_dir)


def _fit(cli: TextclfCLI, run_dir: str, worker: bool) -> dict | None:
    config, dm, model = cli.config, cli.datamodule, cli.model
    history = RunHistory()
    best = ModelCheckpoint(dirpath=run_dir, filename="best", monitor=MONITOR, mode="max", save_last=True,
                           save_top_k=1, enable_version_counter=False, auto_insert_metric_name=False)
    callbacks = [best, EarlyStopping(monitor=MONITOR, mode="max", patience=config["patience"]), history]
    trainer_config = dict(cli.config_init["trainer"])
    user_callbacks = trainer_config.pop("callbacks", None) or []
    trainer_config["callbacks"] = callbacks + (user_callbacks if isinstance(user_callbacks, list) else [user_callbacks])
    if trainer_config.get("logger") in (None, True):
        trainer_config["logger"] = _loggers(run_dir)
    if trainer_config.get("enable_progress_bar", True) and sys.stderr.isatty():
        from lightning.pytorch.callbacks import RichProgressBar

        trainer_config["callbacks"].append(RichProgressBar())
    trainer_config["default_root_dir"] = run_dir
    trainer = L.Trainer(**trainer_config)
    if not worker:
        dump = cli.parser.dump(config, skip_none=False, skip_link_targets=False)
        with open(os.path.join(run_dir, "config.yaml"), "w", encoding="utf-8") as f:
            f.write(dump)
        with open(os.path.join(run_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(dm.tokenizer_json)
    start = time.perf_counter()
    ckpt_path = os.path.join(run_dir, "last.ckpt") if config["resume"] else None
    trainer.fit(model, dm, ckpt_path=ckpt_path)
    wall = time.perf_counter() - start
    rank = trainer.global_rank
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # the final evaluation runs on rank 0 alone: metrics must not wait to sync with finished workers
        torch.distributed.destroy_process_group()
    if rank != 0:
        return None
    if trainer.interrupted:
        raise KeyboardInterrupt
    return _final_metrics(run_dir, best.best_model_path, dm, history, wall, config["trainer"]["accelerator"])


def _loggers(run_dir: str) -> list:
    loggers = [CSVLogger(run_dir, name="logs", version="")]
    try:
        import tensorboard  # noqa: F401  (only when the user has it)
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(run_dir, name="tensorboard", version=""))
    except ImportError:
        pass
    return loggers


def _final_metrics(run_dir: str, best_path: str, dm: TextDataModule, history: RunHistory, wall: float, accelerator) -> dict:
    """Validation and test metrics of the best checkpoint (reloaded from its file), written to metrics.json."""
    from textclf.checkpoint import load_model

    if not best_path or not os.path.exists(best_path):
        raise TextclfError(f"training produced no best checkpoint in {run_dir}: train for at least one epoch")
    model = load_model(best_path)
    trainer = L.Trainer(
        accelerator=accelerator if isinstance(accelerator, str) else "auto", devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
    )
    val = trainer.validate(model, dm, verbose=False)[0]
    test = trainer.test(model, dm, verbose=False)[0] if "test" in dm.splits else None
    summary = history.summary()
    best_epoch = max(history.epochs, key=lambda e: e.get(MONITOR, -1.0)) if history.epochs else {}
    metrics = {
        "dataset": dm.source_name,
        "encoder": model.hparams.encoder,
        "val": {k.removeprefix("val_"): v for k, v in val.items()},
        "test": {k.removeprefix("test_"): v for k, v in test.items()} if test else None,
        "best_epoch": best_epoch.get("epoch"),
        "seconds_to_best": best_epoch.get("elapsed"),
        "wall_seconds": round(wall, 3),
        "parameters": model.parameter_counts(),
        "data": dm.stats,
        "best_checkpoint": os.path.join(run_dir, "best.ckpt"),
        **summary,
    }
    with open(os.path.join(run_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    return metrics
