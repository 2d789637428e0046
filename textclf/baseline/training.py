"""One `textclf baseline` run: TF-IDF + logistic regression on the data and splits `textclf train` would
use, saved into a run directory (best.ckpt, metrics.json, config.yaml, tokenizer.json) under train's rules."""

from __future__ import annotations

import os
import time
from datetime import datetime

from textclf.baseline.tfidf import fit_tfidf, to_checkpoint
from textclf.errors import TextclfError
from textclf.model.checkpoint import CHECKPOINT_FORMAT, save_checkpoint
from textclf.training.arguments import parse_train_args
from textclf.training.results import write_metrics, write_run_files
from textclf.training.run import prepare_data
from textclf.training.run_dir import in_run_dir


def baseline(argv: list[str]) -> dict:
    """Run `textclf baseline` (train's config files and --data.* flags; --model.* and --trainer.* are not
    used); returns metrics.json's content."""
    cli = parse_train_args(argv)
    config, dm = cli.config, cli.datamodule
    if config["resume"]:
        raise TextclfError("--resume does not apply to a TF-IDF baseline (it fits in one step): run it again")
    run_dir = config["run_dir"] or os.path.join("runs", f"{dm.source_name}-tfidf-{datetime.now():%Y%m%d-%H%M%S}")

    def prepare() -> None:
        prepare_data(cli)

    def work() -> dict:
        start = time.perf_counter()
        split = lambda s: (dm.texts[s], dm.splits[s].labels)  # noqa: E731
        scores, vec, clf = fit_tfidf(dm.tokenizer, split("train"), split("validation"),
                                     split("test") if "test" in dm.splits else None)
        archive = {"format": CHECKPOINT_FORMAT, "tokenizer": dm.tokenizer_json, "label_names": list(dm.label_names),
                   "preprocessing": dm.preprocessing, "data": dm.source}
        best = os.path.join(run_dir, "best.ckpt")
        save_checkpoint(to_checkpoint(vec, clf, dm.num_classes, archive), best)
        write_run_files(cli, run_dir)
        metrics = {"dataset": dm.source_name, "encoder": "tfidf", **({"task": "multi-label"} if dm.multi_label else {}),
                   "val": scores["val"], "test": scores.get("test"),
                   "C": scores["C"], "features": scores["features"], "wall_seconds": round(time.perf_counter() - start, 3),
                   "data": dm.stats, "best_checkpoint": best}
        write_metrics(run_dir, metrics)
        return metrics

    return in_run_dir(run_dir, config["overwrite"], False, prepare, work)
