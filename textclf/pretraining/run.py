"""One `textclf pretrain` run: parse (LightningCLI, as `textclf train` does), load the corpus, claim the
run directory (the same rules as train: textclf.training.run_dir), fit until the budget is spent, and write
metrics.json.

A pretraining run directory holds best.ckpt (the lowest held-out loss), last.ckpt (after every pass over
the corpus and when the budget is spent), config.yaml, tokenizer.json, metrics.json and CSV logs;
`textclf train --model.pretrained RUN_DIR` fine-tunes a classifier from best.ckpt.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from datetime import datetime
from typing import Optional

import lightning as L
from jsonargparse import ActionYesNo
from lightning.pytorch.cli import LightningArgumentParser

from textclf.data.corpus_module import CorpusDataModule
from textclf.errors import Interrupted, TextclfError
from textclf.model.checkpoint import read_checkpoint
from textclf.model.encoders import encoder_options
from textclf.model.masked_lm import perplexity
from textclf.pretraining.budget import BudgetCallback, parse_budget
from textclf.pretraining.module import MONITOR, PRETRAIN_KEY, LitPretrainer
from textclf.pretraining.progress import PretrainLines
from textclf.training.arguments import (
    TRAINER_DEFAULTS,
    TextclfArgumentParser,
    TextclfCLI,
    with_resumed_config,
)
from textclf.training.console import EpochBar
from textclf.training.history import RunHistory
from textclf.training.results import write_metrics, write_run_files
from textclf.training.resume import AppendingCSVLogger, AtomicCheckpointIO, RandomState, run_checkpoints
from textclf.training.run_dir import in_run_dir
from textclf.training.trainer import epochs_done

log = logging.getLogger(__name__)

DEFAULT_BUDGET = "10m"


class PretrainCLI(TextclfCLI):
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_dir", type=Optional[str], default=None,
                            help="Run directory (default runs/pretrain-<corpus>-<encoder>-<timestamp>).")
        parser.add_argument("--budget", type=str, default=DEFAULT_BUDGET,
                            help="How long to pretrain: a time (90s, 20m, 1.5h) or tokens (500ktok, 5Mtok).")
        parser.add_argument("--overwrite", action=ActionYesNo, default=False,
                            help="Replace an existing run directory (only once the new run has finished).")
        parser.add_argument("--resume", action=ActionYesNo, default=False,
                            help="Continue the run in --run_dir from its last.ckpt.")

    def before_instantiate_classes(self) -> None:
        if self.config["data"]["seed"] is None:
            self.config["data"]["seed"] = self.config["seed"]
        parse_budget(self.config["budget"])  # a bad budget: an error before any data is loaded
        model, window = self.config["model"], self.config["data"]["max_length"]
        positions = model["max_positions"] if "max_positions" in encoder_options(model["encoder"]) else None
        if positions is not None and positions < window:
            raise TextclfError(f"--model.max_positions {positions} is fewer than the pretraining window "
                               f"(--data.max_length {window}): raise it or lower --data.max_length")


def parse_pretrain_args(argv: list[str]) -> PretrainCLI:
    return PretrainCLI(
        LitPretrainer, CorpusDataModule, run=False, args=with_resumed_config(argv), save_config_callback=None,
        auto_configure_optimizers=False, trainer_defaults={**TRAINER_DEFAULTS, "max_epochs": -1},
        parser_class=TextclfArgumentParser,
        parser_kwargs={"prog": "textclf pretrain", "description": "Pretrain an encoder on unlabelled text.",
                       "allow_abbrev": False},
    )


def pretrain(argv: list[str]) -> dict:
    """Run `textclf pretrain`; returns metrics.json's content."""
    cli = parse_pretrain_args(argv)
    config, dm, model = cli.config, cli.datamodule, cli.model
    run_dir = config["run_dir"] or os.path.join(
        "runs", f"pretrain-{dm.source_name}-{model.hparams.encoder}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
    budget = parse_budget(config["budget"])
    resume = config["resume"]
    if resume and (finished := _finished(run_dir, budget)) is not None:
        return finished

    def prepare() -> None:
        if resume:
            read_checkpoint(os.path.join(run_dir, "last.ckpt"))
        dm.setup("fit")
        model.build(dm.tokenizer_json, dm.tokenizer.get_vocab_size(), dm.mask_id, dm.preprocessing,
                    {k: dm.hparams[k] for k in ("path", "name", "files", "text_column", "add_train")})

    def work() -> dict:
        return _fit(cli, run_dir, budget)

    return in_run_dir(run_dir, config["overwrite"] and not resume, resume, prepare, work, command="pretrain")


def _fit(cli, run_dir: str, budget) -> dict:
    config, dm, model = cli.config, cli.datamodule, cli.model
    spend = BudgetCallback(budget)
    model.spent = spend.spent
    history = RunHistory()
    best, last = run_checkpoints(run_dir, monitor=MONITOR, mode="min")
    resume = config["resume"]
    done = epochs_done(os.path.join(run_dir, "last.ckpt")) if resume else None
    trainer_config = dict(cli.config_init["trainer"])
    user_callbacks = trainer_config.pop("callbacks", None) or []
    user_callbacks = user_callbacks if isinstance(user_callbacks, list) else [user_callbacks]
    show = trainer_config.get("enable_progress_bar") is not False
    display = ([EpochBar(leave=True)] if sys.stderr.isatty() else [PretrainLines(spend)]) if show else []
    trainer_config.update(
        callbacks=[best, last, spend, history, RandomState(), *display, *user_callbacks], default_root_dir=run_dir,
        logger=trainer_config.get("logger") if trainer_config.get("logger") not in (None, True)
        else [AppendingCSVLogger(run_dir, name="logs", version="", keep_epochs=done)],
        enable_progress_bar=any(isinstance(c, EpochBar) for c in display),
        plugins=[*(trainer_config.get("plugins") or []), AtomicCheckpointIO()])
    trainer = L.Trainer(**trainer_config)
    if not resume:
        write_run_files(cli, run_dir)  # config.yaml and tokenizer.json, as train writes them
    log.info("pretraining %s (%s objective) for %s", model.hparams.encoder, model.hparams.objective, budget)
    trainer.fit(model, dm, ckpt_path=os.path.join(run_dir, "last.ckpt") if resume else None, weights_only=True)
    if trainer.interrupted:
        raise Interrupted(signal.SIGINT)
    held_out = min(history.epochs, key=lambda e: e.get("val_loss", float("inf"))) if history.epochs else {}
    summary = history.summary()
    metrics = {
        "corpus": dm.source_name,
        "encoder": model.hparams.encoder,
        "objective": model.hparams.objective,
        "budget": config["budget"],
        "budget_spent": round(spend.spent(), 4),
        "train_tokens": spend.tokens,
        "train_seconds": round(spend.seconds, 3),
        "train_tokens_per_second": round(spend.tokens_per_second(), 1),
        "held_out": {"loss": held_out.get("val_loss"), "acc": held_out.get("val_acc"),
                     "perplexity": None if "val_loss" not in held_out else round(perplexity(held_out["val_loss"]), 3),
                     "epoch": held_out.get("epoch")},
        "wall_seconds": round(history.elapsed(), 3),
        "parameters": model.network.parameter_counts(),
        "corpus_tokens": dict(dm.tokens),
        "best_checkpoint": os.path.join(run_dir, "best.ckpt"),
        "peak_memory_mb": summary["peak_memory_mb"],
        "history": history.epochs,
    }
    write_metrics(run_dir, metrics)
    return metrics


def _finished(run_dir: str, budget) -> dict | None:
    """metrics.json of a run whose budget is spent (nothing to resume), or None."""
    path, last = os.path.join(run_dir, "metrics.json"), os.path.join(run_dir, "last.ckpt")
    if not os.path.exists(path) or not os.path.exists(last):
        return None
    state = read_checkpoint(last)
    spent = next((s for k, s in state.get("callbacks", {}).items() if k.startswith("BudgetCallback")), None)
    if spent is None or PRETRAIN_KEY not in state:
        return None
    used = spent["seconds"] if budget.kind == "seconds" else spent["tokens"]
    if used < budget.amount:
        return None  # stopped before its budget, or a larger budget is asked for now
    with open(path, encoding="utf-8") as f:
        metrics = json.load(f)
    log.warning("run %s has spent its budget (%s): nothing to resume (a larger --budget pretrains it further)",
                run_dir, budget)
    return metrics

