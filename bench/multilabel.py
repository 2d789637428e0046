"""Multi-label GoEmotions (28 labels, 1 to 5 per text): test macro- and micro-F1 of the default recipe per encoder,
the TF-IDF one-vs-rest baseline of the same run, and all-MiniLM-L6-v2 fine-tuned, against issue 27's targets.

    python bench/multilabel.py [--report docs/reports/goemotions] [--seeds 3] [--minilm_seeds 1]
                               [--minilm_epochs 1] [--out bench/results/multilabel.json]

The encoders come from one `textclf compare --data.path data/goemotions --encoders gru,lstm,transformer
--seeds N --output REPORT` (its TF-IDF baseline on the same splits; a finished comparison there is
reused, not rerun); MiniLM from `textclf train --data.path data/goemotions --model.pretrained
bench/results/weights/all-MiniLM-L6-v2 --seed S` in a fresh process each (weights: bench/weights.py).
Thresholds are chosen on validation by every run; test is read only to report. Nothing else may run
meanwhile: the wall times are part of the result.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

DATA = "data/goemotions"
TARGETS = {"gru": "macro-F1 >= the TF-IDF one-vs-rest baseline of the same run, training <= 5 min",
           "minilm": "macro-F1 >= 0.47 (the paper's BERT-base: 0.46)"}


def compare(report: str, seeds: int) -> dict:
    if not os.path.exists(os.path.join(report, "results.json")):
        subprocess.run([sys.executable, "-m", "textclf.cli", "compare", "--data.path", DATA, "--encoders",
                        "gru,lstm,transformer", "--seeds", str(seeds), "--output", report], check=True)
    with open(os.path.join(report, "results.json")) as f:
        return json.load(f)


def minilm(seeds: list[int], epochs: int, root: str) -> list[dict]:
    import weights

    model = weights.minilm("bench/results/weights")
    runs = []
    for seed in seeds:
        run_dir = os.path.join(root, f"minilm-{epochs}ep-seed{seed}")
        if not os.path.exists(os.path.join(run_dir, "metrics.json")):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "textclf.cli", "train", "--data.path", DATA, "--model.pretrained", model,
                            "--seed", str(seed), "--trainer.max_epochs", str(epochs), "--trainer.enable_progress_bar",
                            "false", "--run_dir", run_dir, "--overwrite"], check=True)
            print(f"minilm seed {seed}: {time.perf_counter() - t0:.0f}s", flush=True)
        with open(os.path.join(run_dir, "metrics.json")) as f:
            runs.append(json.load(f))
    return runs


def mean_std(values: list[float]) -> str:
    mean = 100 * statistics.mean(values)
    return f"{mean:.2f} ± {100 * statistics.stdev(values):.2f}" if len(values) > 1 else f"{mean:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", default="docs/reports/goemotions")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--minilm_seeds", type=int, default=1)
    ap.add_argument("--minilm_epochs", type=int, default=1)
    ap.add_argument("--out", default="bench/results/multilabel.json")
    args = ap.parse_args()
    result = compare(args.report, args.seeds)
    rows = []
    runs_dir = os.path.join(args.report, "runs")
    for row in result["summary"]:
        metrics = [json.load(open(os.path.join(runs_dir, name, "metrics.json"))) for name in sorted(os.listdir(runs_dir))
                   if name.startswith(row["encoder"] + "_")]
        rows.append({"row": row["encoder"], "macro_f1": [m["test"]["f1"] for m in metrics],
                     "micro_f1": [m["test"]["micro_f1"] for m in metrics],
                     "train_seconds": statistics.mean(m["wall_seconds"] for m in metrics)})
    tfidf = result["tfidf"]
    rows.append({"row": "tfidf", "macro_f1": [tfidf["test"]["f1"]], "micro_f1": [tfidf["test"]["micro_f1"]],
                 "train_seconds": tfidf["seconds"]})
    if args.minilm_seeds:
        tuned = minilm(list(range(42, 42 + args.minilm_seeds)), args.minilm_epochs, "bench/results/multilabel")
        rows.append({"row": f"minilm ({args.minilm_epochs} epoch(s))", "macro_f1": [m["test"]["f1"] for m in tuned],
                     "micro_f1": [m["test"]["micro_f1"] for m in tuned],
                     "train_seconds": statistics.mean(m["wall_seconds"] for m in tuned)})
    print("| row | test macro-F1 | test micro-F1 | seeds | training wall (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['row']} | {mean_std(r['macro_f1'])} | {mean_std(r['micro_f1'])} | {len(r['macro_f1'])} | "
              f"{r['train_seconds']:.0f} |")
    gru = next(r for r in rows if r["row"] == "gru")
    print(f"target gru ({TARGETS['gru']}): {statistics.mean(gru['macro_f1']):.4f} vs {tfidf['test']['f1']:.4f}, "
          f"{gru['train_seconds']:.0f}s -> {'met' if statistics.mean(gru['macro_f1']) >= tfidf['test']['f1'] and gru['train_seconds'] <= 300 else 'missed'}")
    for r in rows:
        if r["row"].startswith("minilm"):
            print(f"target minilm ({TARGETS['minilm']}): {statistics.mean(r['macro_f1']):.4f} -> "
                  f"{'met' if statistics.mean(r['macro_f1']) >= 0.47 else 'missed'}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
