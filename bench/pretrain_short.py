"""Does even a short pretraining show? Issue 26's check: pretrain a GRU for 3 minutes on zh_reviews (plus
ChnSentiCorp's own training texts), fine-tune ChnSentiCorp for 2 epochs from it, and compare with the same 2
epochs from scratch, same seeds, on validation (test is not read).

    python bench/pretrain_short.py [--budget 3m] [--epochs 2] [--seeds 1,2,3] [--root bench/results/pretrain_short]

Rows: scratch with the default recipe (max pooling), scratch with mean pooling, and fine-tuned from the run
(its default pooling, mean; and max). Every command runs alone, in a fresh process; nothing else may run
meanwhile (the pretraining budget is wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CORPUS, DATA = "../shared/data/zh_reviews", "data/chnsenticorp"


def textclf(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "textclf.cli", *args], check=True, stdout=subprocess.DEVNULL)


def val_acc(run_dir: str) -> float:
    with open(os.path.join(run_dir, "metrics.json")) as f:
        return json.load(f)["val"]["acc"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", default="3m")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--root", default="bench/results/pretrain_short")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    run = os.path.join(args.root, f"pretrain-gru-{args.budget}")
    if not os.path.exists(os.path.join(run, "metrics.json")):
        textclf("pretrain", "--data.path", CORPUS, "--data.add_train", DATA, "--budget", args.budget, "--run_dir", run,
                "--overwrite", "--trainer.enable_progress_bar", "false")
    with open(os.path.join(run, "metrics.json")) as f:
        pre = json.load(f)
    rows = {"scratch, max pooling (default)": [], "scratch, mean pooling": [],
            "pretrained, mean pooling (default)": [], "pretrained, max pooling": []}
    for seed in seeds:
        for row, extra in (("scratch, max pooling (default)", []), ("scratch, mean pooling", ["--model.pooling", "mean"]),
                           ("pretrained, mean pooling (default)", ["--model.pretrained", run]),
                           ("pretrained, max pooling", ["--model.pretrained", run, "--model.pooling", "max"])):
            out = os.path.join(args.root, f"{row.split(',')[0]}-{extra[-1] if extra else 'max'}-seed{seed}")
            if not os.path.exists(os.path.join(out, "metrics.json")):
                textclf("train", "--data.path", DATA, "--trainer.max_epochs", str(args.epochs), "--seed", str(seed),
                        "--run_dir", out, "--overwrite", "--trainer.enable_progress_bar", "false", *extra)
            rows[row].append(val_acc(out))
    print(f"pretraining: {pre['train_tokens']:,} tokens in {pre['train_seconds']:.0f}s "
          f"({pre['train_tokens_per_second']:,.0f} tokens/s), held-out masked-token acc {pre['held_out']['acc']:.4f}, "
          f"perplexity {pre['held_out']['perplexity']:.1f}")
    print(f"ChnSentiCorp validation accuracy after {args.epochs} epochs (seeds {args.seeds}):")
    for row, accs in rows.items():
        spread = f" ± {100 * statistics.stdev(accs):.2f}" if len(accs) > 1 else ""
        print(f"  {row:<38} {100 * statistics.mean(accs):.2f}{spread}   ({', '.join(f'{100 * a:.2f}' for a in accs)})")
    gains = [b - a for a, b in zip(rows["scratch, max pooling (default)"], rows["pretrained, mean pooling (default)"])]
    print(f"pretrained over scratch (defaults), per seed: {', '.join(f'{100 * g:+.2f}' for g in gains)}")


if __name__ == "__main__":
    main()
