"""One training run, from `textclf train`'s arguments to metrics.json: parse (arguments.py), load and
check the data, claim the run directory (run_dir.py), fit and evaluate (trainer.py).

A run directory holds best.ckpt (best validation macro-F1), last.ckpt, config.yaml, metrics.json,
tokenizer.json and CSV logs. What may happen to it (--overwrite, interrupts, locking) is run_dir's
rules; what makes --resume exact is resume's; how signals become interrupts is signals'.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime

import lightning as L

from textclf.model.checkpoint import read_checkpoint
from textclf.training.arguments import parse_train_args
from textclf.training.run_dir import in_run_dir
from textclf.training.trainer import fit

log = logging.getLogger(__name__)

RUN_DIR_ENV = "TEXTCLF_RUN_DIR"  # passes rank 0's run directory to DDP worker processes


def train(argv: list[str], callbacks: Sequence[L.Callback] = (), test: bool = True) -> dict | None:
    """Run `textclf train`; returns metrics.json's content (None on DDP worker ranks). `callbacks` join
    the run's own; `test=False` leaves the test split unscored (a search must not look at it)."""
    cli = parse_train_args(argv)
    config, dm = cli.config, cli.datamodule
    run_dir = resolve_run_dir(config, dm, cli.model.hparams.encoder)
    if is_worker_process():
        prepare_data(cli)
        cli.model.build(dm.facts())
        return fit(cli, run_dir, worker=True, callbacks=callbacks, test=test)
    resume = config["resume"]
    if resume and (finished := finished_run(run_dir, config["trainer"]["max_epochs"])) is not None:
        return finished

    def prepare() -> None:
        if resume:
            read_checkpoint(os.path.join(run_dir, "last.ckpt"))  # refuse a damaged or unsafe file before any work
        prepare_data(cli)
        cli.model.build(dm.facts())

    def work() -> dict:
        os.environ[RUN_DIR_ENV] = run_dir
        try:
            return fit(cli, run_dir, worker=False, callbacks=callbacks, test=test)
        finally:
            os.environ.pop(RUN_DIR_ENV, None)  # the next run in this process (compare, tune) picks its own

    # a resumed run's saved config may say --overwrite (runs of earlier versions saved it): resume wins
    return in_run_dir(run_dir, config["overwrite"] and not resume, resume, prepare, work)


def finished_run(run_dir: str, max_epochs: int | None) -> dict | None:
    """metrics.json of a run that `--resume` has nothing left to do for, saying so; None when it has: the
    run stopped before its end, or it reached max_epochs and a larger one is asked for now."""
    metrics_path, last = os.path.join(run_dir, "metrics.json"), os.path.join(run_dir, "last.ckpt")
    if not os.path.exists(metrics_path) or not os.path.exists(last):
        return None
    with open(metrics_path, encoding="utf-8") as f:
        metrics = json.load(f)
    done = int(read_checkpoint(last)["epoch"]) + 1  # read safely: a damaged or unsafe file is an error here
    if done != metrics.get("epochs"):
        return None  # metrics.json is older than last.ckpt: the run went on after it and stopped
    stopped_by = metrics.get("stopped_by")
    # more epochs asked for a run that ended at its max_epochs (or of a version that did not say why): train on
    if stopped_by in (None, "max_epochs") and max_epochs is not None and (max_epochs < 0 or max_epochs > done):
        return None
    why = f" ({stopped_by})" if stopped_by else ""
    more = " (a larger --trainer.max_epochs trains it further)" if stopped_by in (None, "max_epochs") else ""
    log.warning("run %s finished after epoch %d%s: nothing to resume%s", run_dir, done, why, more)
    return metrics


def prepare_data(cli) -> None:
    """Load, tokenize and encode the data of parsed train arguments, with the model's own tokenizer where it
    brings one (a pretrained model); an error in the data stops the command here, before it writes."""
    given = cli.model.given_tokenizer()
    if given is not None:
        cli.datamodule.use_tokenizer(given)
    cli.datamodule.prepare_data()
    cli.datamodule.setup("fit")


def resolve_run_dir(config, dm, encoder: str) -> str:
    if os.environ.get(RUN_DIR_ENV):
        return os.environ[RUN_DIR_ENV]
    if config["run_dir"]:
        return config["run_dir"]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", f"{dm.source_name}-{encoder}-{stamp}")


def is_worker_process() -> bool:
    """A DDP process started by Lightning for rank > 0 (it re-runs this command)."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0 or int(os.environ.get("NODE_RANK", "0")) > 0
