"""`textclf tune --encoder E --budget 20m --output DIR [--config C] [--data.* ...]` (textclf.tune.search)."""

from __future__ import annotations

import os

from textclf.commands import flags
from textclf.logs import clock


def run(argv: list[str]) -> int:
    from textclf.tune.search import tune

    p = flags.Parser(prog="textclf tune", description="Search hyperparameters on the validation split (Optuna: TPE "
                     "sampler, median pruner); the test split is never scored.",
                     epilog="Other flags (--model.*, --data.*, --trainer.*) go to every trial. Running the same "
                            "command again continues the search in --output.")
    p.add_argument("--config", help="a config of configs/ (or give the data with --data.* flags)")
    p.add_argument("--encoder", default="gru", help="the encoder to tune (default gru)")
    p.add_argument("--budget", default="30m", help="no trial starts after this much wall time, e.g. 20m or 1h; "
                   "the one running then finishes (default 30m)")
    p.add_argument("--trials", type=flags.positive_int, help="stop after this many trials (default: when the budget ends)")
    p.add_argument("--output", required=True, help="search folder: study.db, trials/, best.yaml, search.png")
    p.add_argument("--sampler_seed", type=int, default=0, help="seed of the TPE sampler (default 0)")
    args, passthrough = p.parse_known_args(argv)
    flags.only_config_flags(passthrough, "tune")
    base = (["--config", args.config] if args.config else []) + passthrough
    summary = tune(base, args.encoder, flags.duration_seconds(args.budget, "--budget"), args.output, args.trials,
                   args.sampler_seed)
    print(budget_line(summary["seconds"], summary["budget_seconds"], summary["trials_this_call"]))
    print(f"best: trial {summary['best_trial']}, {summary['objective']} {summary['value']:.4f} "
          f"({summary['complete']} complete, {summary['pruned']} pruned of {summary['trials']} trials)")
    print(f"its checkpoint: {summary['checkpoint']}")
    print(f"train it again: textclf train --config {os.path.join(args.output, 'best.yaml')}")
    return 0


def budget_line(seconds: float, budget: float, trials: int) -> str:
    """How the call's wall time compares with --budget, and what to do when a trial ran past it."""
    over = seconds - budget
    return (f"wall time {clock(seconds)} against a {clock(budget)} budget, {trials} trial(s) this call"
            + (f": {clock(over)} over (a trial, once started, runs to its end; give a larger --budget or fewer "
               "--trainer.max_epochs)" if over >= 1 else ""))

