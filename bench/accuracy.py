"""Accuracy bars: train each (config, encoder) with its default hyperparameters and print a table.

    python bench/accuracy.py [--out bench/results/accuracy.json] [--only sst2:gru,trec:gru]

Each run is a real `textclf train` (fresh process, nothing else running), so wall time includes
start-up, data loading and the final evaluation of the best checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

RUNS = [("sst2", "gru", 0.80), ("sst2", "lstm", 0.80), ("sst2", "transformer", 0.78), ("trec", "gru", 0.88),
        ("chnsenticorp", "gru", 0.85)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench/results/accuracy.json")
    p.add_argument("--only", help="comma-separated config:encoder pairs")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    runs = RUNS
    if args.only:
        wanted = set(args.only.split(","))
        runs = [r for r in RUNS if f"{r[0]}:{r[1]}" in wanted]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config, encoder, bar in runs:
            run_dir = os.path.join(tmp, f"{config}-{encoder}")
            cmd = ["textclf", "train", "--config", f"configs/{config}.yaml", "--model.encoder", encoder,
                   "--seed", str(args.seed), "--run_dir", run_dir, "--trainer.enable_progress_bar", "false"]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            wall = time.perf_counter() - start
            with open(os.path.join(run_dir, "metrics.json")) as f:
                m = json.load(f)
            rows.append({"config": config, "encoder": encoder, "bar": bar, "test_acc": m["test"]["acc"],
                         "test_f1": m["test"]["f1"], "val_acc": m["val"]["acc"], "best_epoch": m["best_epoch"],
                         "epochs": m["epochs"], "wall_seconds": round(wall, 1), "command": " ".join(cmd[:7])})
            print(f"{config}/{encoder}: test acc {m['test']['acc']:.4f} in {wall:.0f}s", file=sys.stderr, flush=True)
    print("| config | encoder | test accuracy | bar | macro-F1 | best epoch / run | wall (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ok = "ok" if r["test_acc"] >= r["bar"] else "MISSED"
        print(f"| {r['config']} | {r['encoder']} | {r['test_acc']:.4f} | >= {r['bar']:.2f} {ok} | {r['test_f1']:.4f} | "
              f"{r['best_epoch']} / {r['epochs']} | {r['wall_seconds']:.0f} |")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"seed": args.seed, "nproc": os.cpu_count(), "runs": rows}, f, indent=2)


if __name__ == "__main__":
    main()
