"""What a run leaves besides its checkpoints: config.yaml and tokenizer.json when it starts, and
metrics.json when it ends, from the best checkpoint evaluated again (`final_metrics`)."""

from __future__ import annotations

import json
import os

import lightning as L

from textclf.data.datamodule import TextDataModule
from textclf.errors import TextclfError
from textclf.training.console import lightning_silent
from textclf.training.history import RunHistory
from textclf.training.module import MONITOR, load_module
from textclf.training.thresholds import settle_thresholds


def final_metrics(run_dir: str, best_path: str, dm: TextDataModule, history: RunHistory, accelerator,
                  test: bool = True, stopped_by: str | None = None) -> dict:
    """Validation and test metrics of the best checkpoint (reloaded from its file), written to metrics.json.
    `stopped_by`: why training ended (early stopping, max_epochs, ...)."""
    if not best_path or not os.path.exists(best_path):
        raise TextclfError(f"training produced no best checkpoint in {run_dir}: train for at least one epoch")
    model = load_module(best_path)
    if model.multi_label:  # thresholds chosen on validation first; scores at them
        val, scores = settle_thresholds(model, dm, best_path, test)
    else:
        val, scores = _scores(model, dm, accelerator, test)
    summary = history.summary()
    best_epoch = max(history.epochs, key=lambda e: e.get(MONITOR, -1.0)) if history.epochs else {}
    metrics = {
        "dataset": dm.source_name,
        "encoder": model.hparams.encoder,
        **({"task": "multi-label"} if model.multi_label else {}),
        "val": {k.removeprefix("val_"): v for k, v in val.items()},
        "test": {k.removeprefix("test_"): v for k, v in scores.items()} if scores else None,
        "best_epoch": best_epoch.get("epoch"),
        "seconds_to_best": best_epoch.get("elapsed"),
        "stopped_by": stopped_by,
        "wall_seconds": round(history.elapsed(), 3),  # training and validation, over all pieces of a resumed run
        "parameters": model.network.parameter_counts(),
        "data": dm.stats,
        "best_checkpoint": os.path.join(run_dir, "best.ckpt"),
        **summary,
    }
    write_metrics(run_dir, metrics)
    return metrics


def _scores(model, dm: TextDataModule, accelerator, test: bool) -> tuple[dict, dict | None]:
    """Validation (and test) metrics of a single-label model, through Lightning's loops."""
    with lightning_silent():
        trainer = L.Trainer(accelerator=accelerator if isinstance(accelerator, str) else "auto", devices=1, logger=False,
                            enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
        val = trainer.validate(model, dm, verbose=False)[0]
        scores = trainer.test(model, dm, verbose=False)[0] if test and "test" in dm.splits else None
    return val, scores


def write_run_files(cli, run_dir: str) -> None:
    """config.yaml (the whole resolved config of a parsed `textclf train`, to resume or repeat the run)
    and tokenizer.json. What one command did to the folder (--overwrite, --resume) is not the run's
    config: it is saved off, so that `--resume` works on the saved config."""
    config = cli.config.clone()
    config.overwrite = config.resume = False
    with open(os.path.join(run_dir, "config.yaml"), "w", encoding="utf-8") as f:
        f.write(cli.parser.dump(config, skip_none=False, skip_link_targets=False))
    with open(os.path.join(run_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(cli.datamodule.tokenizer_json)


def write_metrics(run_dir: str, metrics: dict) -> None:
    with open(os.path.join(run_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
