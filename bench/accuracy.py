"""Accuracy against the targets and against TF-IDF + logistic regression, trained in the same run.

    python bench/accuracy.py [--out bench/results/accuracy.json] [--only sst2:gru,trec:tfidf] [--seed 42]

Each row is a real command in a fresh process (nothing else running): `textclf train --config
configs/<config>.yaml --model.encoder <encoder> --seed S`, or for `tfidf` `textclf baseline --config
configs/<config>.yaml` (C chosen on validation). Wall time covers start-up, data loading, training and the
final evaluation. The targets are issue 16's (test accuracy, mean of 3 seeds); one seed here is a
single draw from that spread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TARGETS = {"sst2": 0.825, "trec": 0.92, "chnsenticorp": 0.925}
RUNS = [(config, encoder) for config in TARGETS for encoder in ("tfidf", "gru", "lstm", "transformer")]


def run(config: str, encoder: str, seed: int, run_dir: str) -> tuple[dict, float, list[str]]:
    if encoder == "tfidf":
        cmd = ["textclf", "baseline", "--config", f"configs/{config}.yaml", "--run_dir", run_dir]
    else:
        cmd = ["textclf", "train", "--config", f"configs/{config}.yaml", "--model.encoder", encoder,
               "--seed", str(seed), "--run_dir", run_dir, "--trainer.enable_progress_bar", "false"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "metrics.json")) as f:
        return json.load(f), wall, cmd


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench/results/accuracy.json")
    p.add_argument("--only", help="comma-separated config:encoder pairs (encoder tfidf: the baseline)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args()
    runs = RUNS
    if args.only:
        wanted = set(args.only.split(","))
        runs = [r for r in RUNS if f"{r[0]}:{r[1]}" in wanted]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config, encoder in runs:
            m, wall, cmd = run(config, encoder, args.seed, os.path.join(tmp, f"{config}-{encoder}"))
            rows.append({"config": config, "encoder": encoder, "target": TARGETS[config], "test_acc": m["test"]["acc"],
                         "test_f1": m["test"]["f1"], "val_acc": m["val"]["acc"], "best_epoch": m.get("best_epoch"),
                         "epochs": m.get("epochs"), "wall_seconds": round(wall, 1), "command": " ".join(cmd)})
            print(f"{config}/{encoder}: test acc {m['test']['acc']:.4f} in {wall:.0f}s", file=sys.stderr, flush=True)
    tfidf = {r["config"]: r["test_acc"] for r in rows if r["encoder"] == "tfidf"}
    print("| config | encoder | val accuracy | test accuracy | target | vs TF-IDF (pts) | best epoch / run | wall (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = "ok" if r["test_acc"] >= r["target"] else "missed"
        gap = f"{100 * (r['test_acc'] - tfidf[r['config']]):+.2f}" if r["config"] in tfidf and r["encoder"] != "tfidf" else "-"
        epochs = f"{r['best_epoch']} / {r['epochs']}" if r["epochs"] else "-"
        print(f"| {r['config']} | {r['encoder']} | {r['val_acc']:.4f} | {r['test_acc']:.4f} | >= {r['target']:.3f} {ok} | "
              f"{gap} | {epochs} | {r['wall_seconds']:.0f} |")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"seed": args.seed, "nproc": os.cpu_count(), "runs": rows}, f, indent=2)


if __name__ == "__main__":
    main()
