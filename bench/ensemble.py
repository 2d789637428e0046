"""Seed ensembles against their members, from the 3-seed runs of a `textclf compare` output.

    python bench/ensemble.py [--reports reports] [--sets sst2,trec] [--out bench/results/ensemble.json]

For each set and encoder with runs `<reports>/<set>/runs/<encoder>_seed{1,2,3}`, this ensembles the three
best.ckpt (`textclf.serve.ensemble.make_ensemble`, the code of `textclf ensemble`) and evaluates the
ensemble on the validation split, where the choice is made, and on the test split, which is only reported.
Each seed's own accuracies come from its metrics.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

from textclf.serve.ensemble import make_ensemble
from textclf.serve.evaluate import evaluate
from textclf.serve.loading import load_classifier

ENCODERS = ("gru", "lstm", "transformer", "bag", "rnn")


def ensemble_accuracy(checkpoints: list[str], path: str) -> tuple[float, float]:
    """Write the ensemble of `checkpoints` to `path` (the code of `textclf ensemble`) and return its
    validation and test accuracy on the data its first member was trained on."""
    make_ensemble(checkpoints, path)
    clf = load_classifier(path)
    return tuple(evaluate(clf, clf.data_source, split)["accuracy"] for split in ("validation", "test"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reports", default="reports")
    p.add_argument("--sets", default="sst2,trec")
    p.add_argument("--out", default="bench/results/ensemble.json")
    args = p.parse_args()
    out = {}
    print("| runs | validation: seeds 1 / 2 / 3 | validation: mean -> ensemble (pts) | test: seeds mean | test: ensemble |")
    print("|---|---|---|---|---|")
    for name in args.sets.split(","):
        for enc in ENCODERS:
            runs = [os.path.join(args.reports, name, "runs", f"{enc}_seed{s}") for s in (1, 2, 3)]
            if not all(os.path.exists(os.path.join(r, "best.ckpt")) for r in runs):
                continue
            seeds = []
            for r in runs:
                with open(os.path.join(r, "metrics.json")) as f:
                    seeds.append(json.load(f))
            with tempfile.TemporaryDirectory() as tmp:
                val, test = ensemble_accuracy([os.path.join(r, "best.ckpt") for r in runs], os.path.join(tmp, "e.ckpt"))
            val_seeds = [m["val"]["acc"] for m in seeds]
            test_seeds = [m["test"]["acc"] for m in seeds]
            out[f"{name}/{enc}"] = {"val_seeds": val_seeds, "val_ensemble": val, "test_seeds": test_seeds,
                                    "test_ensemble": test}
            mean_val, mean_test = sum(val_seeds) / 3, sum(test_seeds) / 3
            print(f"| {name}/{enc} | {' / '.join(f'{x:.4f}' for x in val_seeds)} | {mean_val:.4f} -> {val:.4f} "
                  f"({100 * (val - mean_val):+.1f}) | {mean_test:.4f} | {test:.4f} |", flush=True)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
