"""One training run, from `textclf train`'s arguments to metrics.json: parse (arguments.py), load and
check the data, claim the run directory (run_dir.py), fit and evaluate (trainer.py).

A run directory holds best.ckpt (best validation macro-F1), last.ckpt, config.yaml, metrics.json,
tokenizer.json and CSV logs. What may happen to it (--overwrite, interrupts, locking) is run_dir's
rules; what makes --resume exact is resume's; how signals become interrupts is signals'.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime

import lightning as L

from textclf.model.checkpoint import read_checkpoint
from textclf.train.arguments import parse_train_args
from textclf.train.run_dir import in_run_dir
from textclf.train.trainer import fit

RUN_DIR_ENV = "TEXTCLF_RUN_DIR"  # passes rank 0's run directory to DDP worker processes


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
        return fit(cli, run_dir, worker=True, callbacks=callbacks, test=test)
    resume = config["resume"]

    def prepare() -> None:
        if resume:
            read_checkpoint(os.path.join(run_dir, "last.ckpt"))  # refuse a damaged or unsafe file before any work
        dm.prepare_data()
        dm.setup("fit")
        cli.model.build(dm.facts())

    def work() -> dict:
        os.environ[RUN_DIR_ENV] = run_dir
        try:
            return fit(cli, run_dir, worker=False, callbacks=callbacks, test=test)
        finally:
            os.environ.pop(RUN_DIR_ENV, None)  # the next run in this process (compare, tune) picks its own

    return in_run_dir(run_dir, config["overwrite"], resume, prepare, work)


def resolve_run_dir(config, dm) -> str:
    if os.environ.get(RUN_DIR_ENV):
        return os.environ[RUN_DIR_ENV]
    if config["run_dir"]:
        return config["run_dir"]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", f"{dm.source_name}-{config['model']['encoder']}-{stamp}")


def is_worker_process() -> bool:
    """A DDP process started by Lightning for rank > 0 (it re-runs this command)."""
    return int(os.environ.get("LOCAL_RANK", "0")) > 0 or int(os.environ.get("NODE_RANK", "0")) > 0
