"""`textclf.train(...)`: `textclf train` from Python, for notebooks and scripts.

The keyword arguments are the CLI's options, grouped as in a config file: `model={"encoder": "lstm"}` is
`--model.encoder lstm`, `data={"files": {"train": "a.csv"}}` is `--data.files.train a.csv`, `seed=1` is
`--seed 1`. The run is the CLI's run, to the bit for the same seed; a bad option or data raises
TextclfError with the CLI's one-line message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import yaml

from textclf.errors import TextclfError


@dataclass(frozen=True)
class TrainedRun:
    """What `train` returns: the run directory, its metrics.json, and its best checkpoint."""

    run_dir: str
    metrics: dict

    @property
    def checkpoint(self) -> str:
        """best.ckpt: `textclf.load_classifier(run.checkpoint)` predicts with it."""
        return os.path.join(self.run_dir, "best.ckpt")


def train(config: str | None = None, *, model: dict | None = None, data: dict | None = None,
          trainer: dict | None = None, **options) -> TrainedRun:
    """Train one model as `textclf train` does and return its run.

    `config`: a YAML config (configs/sst2.yaml, or a tune's best.yaml); `model`, `data`, `trainer`: the
    --model.*, --data.* and --trainer.* options as dicts (nested for dotted names); other keywords are the
    top-level options (seed, run_dir, overwrite, resume, patience).

        run = textclf.train(data={"path": "data/sst2"}, model={"encoder": "gru"}, trainer={"max_epochs": 2})
        run.metrics["test"]["acc"], run.checkpoint
    """
    from textclf.logs import quiet_libraries
    from textclf.training.run import train as train_run

    quiet_libraries(own_logger_only=True)
    argv = ["--config", str(config)] if config is not None else []
    for group, values in (("model", model), ("data", data), ("trainer", trainer)):
        argv += as_flags(values or {}, group)
    argv += as_flags(options, "")
    metrics = train_run(argv)
    if metrics is None:  # a DDP worker process: rank 0 returns the run
        raise TextclfError("textclf.train ran in a DDP worker process: the run is returned in rank 0's process")
    return TrainedRun(os.path.dirname(metrics["best_checkpoint"]), metrics)


def as_flags(values: dict, prefix: str) -> list[str]:
    """{"files": {"train": "a.csv"}, "seed": 3} under "data" -> ["--data.files.train=a.csv", "--data.seed=3"];
    values are written as YAML (True -> true, None -> null, lists as [a, b])."""
    if not isinstance(values, dict):
        raise TextclfError(f"textclf.train: {prefix or 'options'} must be a dict of options, got {type(values).__name__}")
    flags = []
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flags += as_flags(value, name)
        elif isinstance(value, bool) and not prefix:  # --overwrite, --resume: switches, --no_overwrite to unset
            flags.append(f"--{name}" if value else f"--no_{name}")
        elif isinstance(value, str):
            flags.append(f"--{name}={value}")
        else:
            text = yaml.safe_dump(value, default_flow_style=True).removesuffix("...\n").strip()
            flags.append(f"--{name}={text}")
    return flags
