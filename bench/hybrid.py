"""A neural model and TF-IDF + LR as one: does averaging their probabilities beat both?

    python bench/hybrid.py [--sets sst2,trec] [--encoder gru] [--seeds 42] [--out bench/results/hybrid.json]

For each set (bench/sets.py's `report` folders, as bench/accuracy.py uses) this trains `textclf baseline`
once and `textclf train --model.encoder E --seed S` per seed, each in a fresh process with the default
recipe, then `textclf ensemble` of the two checkpoints (the code of the command: make_ensemble), which
averages their class probabilities. The choice is made on validation; the test split is only reported.
The idea is old (Mesnil et al. 2015, "Ensemble of generative and discriminative techniques for sentiment
analysis of movie reviews": an RNN with NB-SVM): the n-gram model and the sequence model err on
different texts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from ensemble import ensemble_accuracy  # noqa: E402
from recipe import run  # noqa: E402
from sets import prepare  # noqa: E402


def cell(pair: list[float]) -> str:
    return f"{100 * pair[0]:.2f} / {100 * pair[1]:.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="sst2,trec")
    p.add_argument("--encoder", default="gru")
    p.add_argument("--seeds", default="42")
    p.add_argument("--out", default="bench/results/hybrid.json")
    args = p.parse_args()
    names = args.sets.split(",")
    folders = prepare("bench/results/sets", names=names)["report"]
    rows = []
    print(f"| set | seed | {args.encoder} val / test | TF-IDF val / test | both averaged val / test | "
          f"val gain over the better (pts) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            tfidf_dir = os.path.join(tmp, f"{name}-tfidf")
            tfidf, _, _ = run(folders[name], "tfidf", 0, [], tfidf_dir)
            for seed in (int(s) for s in args.seeds.split(",")):
                run_dir = os.path.join(tmp, f"{name}-{args.encoder}-{seed}")
                neural, _, _ = run(folders[name], args.encoder, seed, [], run_dir)
                val, test = ensemble_accuracy([os.path.join(run_dir, "best.ckpt"), os.path.join(tfidf_dir, "best.ckpt")],
                                              os.path.join(tmp, f"{name}-{seed}-both.ckpt"))
                row = {"set": name, "seed": seed, "encoder": args.encoder,
                       "neural": [neural["val"]["acc"], neural["test"]["acc"]],
                       "tfidf": [tfidf["val"]["acc"], tfidf["test"]["acc"]], "both": [val, test]}
                rows.append(row)
                gain = 100 * (val - max(row["neural"][0], row["tfidf"][0]))
                print(f"| {name} | {seed} | {cell(row['neural'])} | {cell(row['tfidf'])} | {cell(row['both'])} | "
                      f"{gain:+.2f} |", flush=True)
                os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
                with open(args.out, "w") as f:
                    json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
