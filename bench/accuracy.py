"""Test accuracy of the default recipe against the targets and against TF-IDF + logistic regression.

    python bench/accuracy.py [--sets sst2,trec,chnsenticorp,imdb10k] [--encoders tfidf,gru,lstm,transformer]
                             [--seeds 42,43,44] [--out bench/results/accuracy.json] [--append]
    python bench/accuracy.py --encoders gru-tuned [--tune_budget 20m] [--tune_dir bench/results/tune] --append
    python bench/accuracy.py --encoders minilm,gru-glove --append      # from published weights (bench/weights.py)

Each run is a real command in a fresh process (nothing else running) with no config file, so what is
measured is the recipe in the code's defaults: `textclf train --data.path bench/results/sets/report/<set>
--model.encoder E --seed S`, or for `tfidf` `textclf baseline --data.path ...` (C chosen on validation;
it has no seed). The sets are bench/sets.py's `report` folders (imdb10k: 10,000 train reviews, the full
25,000-review test split). Wall time covers start-up, data loading, training and the final evaluation.
The table gives the mean and standard deviation over the seeds; the targets are issue 16's (from scratch)
and issue 30's (from published weights).

`gru-tuned` first runs `textclf tune --data.path <set> --encoder gru --budget 20m --output
<tune_dir>/<set>-gru` (validation only; a finished search there is reused, not extended), then trains its
best.yaml at each seed like any other row (`textclf train --config best.yaml --seed S ...`). Its wall
column is the mean training run, and the search's own wall time is given next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from recipe import run  # noqa: E402
from sets import prepare  # noqa: E402

TARGETS = {"sst2": 0.825, "trec": 0.92, "chnsenticorp": 0.925, "imdb10k": 0.90, "ag_news": None}
# targets of the rows that start from published weights (issue 30), by (set, row)
WEIGHT_TARGETS = {("sst2", "minilm"): 0.895, ("sst2", "gru-glove"): 0.84, ("trec", "minilm"): 0.965,
                  ("imdb10k", "minilm"): 0.91}
WEIGHTS = "bench/results/weights"


def row_setting(row: str) -> tuple[str, list[str]]:
    """The encoder and flags of a row: an encoder's name (the default recipe), or one that starts from published
    weights (bench/weights.py writes them): `minilm` (all-MiniLM-L6-v2 fine-tuned), `gru-glove` (the GRU
    from GloVe 6B 50-d vectors)."""
    import weights

    if row == "minilm":
        return "pretrained", ["--model.pretrained", weights.minilm(WEIGHTS)]
    if row == "gru-glove":
        return "gru", ["--model.pretrained_vectors", weights.glove(WEIGHTS)]
    return row, []


def spread(values: list[float], scale: float = 100.0) -> str:
    mean = statistics.mean(values) * scale
    return f"{mean:.2f} ± {statistics.stdev(values) * scale:.2f}" if len(values) > 1 else f"{mean:.2f}"


def table(rows: list[dict]) -> str:
    lines = ["| set | encoder | seeds | val acc (%) | test acc (%) | target | vs TF-IDF (pts) | best epoch / run | wall (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["set"], r["encoder"]), []).append(r)
    for (name, encoder), runs in groups.items():
        test = [r["test_acc"] for r in runs]
        tfidf = groups.get((name, "tfidf"))
        gap = f"{100 * (statistics.mean(test) - tfidf[0]['test_acc']):+.2f}" if tfidf and encoder != "tfidf" else "-"
        target = WEIGHT_TARGETS.get((name, encoder)) if encoder in ("minilm", "gru-glove") else TARGETS.get(name)
        mark = "-" if target is None else f">= {100 * target:.1f} {'ok' if statistics.mean(test) >= target else 'missed'}"
        epochs = ", ".join(f"{r['best_epoch']}/{r['epochs']}" for r in runs) if runs[0]["epochs"] else "-"
        wall = f"{statistics.mean(r['wall_seconds'] for r in runs):.0f}"
        if runs[0].get("tune_seconds"):
            wall += f" (+{runs[0]['tune_seconds']:.0f} search)"
        lines.append(f"| {name} | {encoder} | {len(runs) if encoder != 'tfidf' else '-'} | "
                     f"{spread([r['val_acc'] for r in runs])} | {spread(test)} | {mark} | {gap} | {epochs} | "
                     f"{wall} |")
    return "\n".join(lines)


def tuned(folder: str, output: str, budget: str) -> tuple[str, float | None]:
    """The best.yaml of a `textclf tune` search for the GRU on `folder`, and the search's wall seconds (None
    when an earlier finished search in `output` is reused)."""
    best = os.path.join(output, "best.yaml")
    if os.path.exists(best):
        print(f"reusing the search in {output}", file=sys.stderr, flush=True)
        return best, None
    cmd = ["textclf", "tune", "--data.path", folder, "--encoder", "gru", "--budget", budget, "--output", output]
    start = time.perf_counter()
    done = subprocess.run(cmd)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return best, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="sst2,trec,chnsenticorp,imdb10k")
    p.add_argument("--encoders", default="tfidf,gru,lstm,transformer")
    p.add_argument("--seeds", default="42,43,44")
    p.add_argument("--out", default="bench/results/accuracy.json")
    p.add_argument("--append", action="store_true", help="keep the runs already in --out; the table shows all")
    p.add_argument("--tune_budget", default="20m", help="the search budget of gru-tuned")
    p.add_argument("--tune_dir", default="bench/results/tune", help="where gru-tuned keeps its searches")
    p.add_argument("--flags", default="", help="flags added to every run (e.g. '--data.max_length 256' for a slow row)")
    args = p.parse_args()
    names = args.sets.split(",")
    folders = prepare("bench/results/sets", names=names)["report"]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    if args.append and os.path.exists(args.out):
        with open(args.out) as f:
            rows = json.load(f)["runs"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for encoder in args.encoders.split(","):
                config, search = None, None
                if encoder == "gru-tuned":
                    config, search = tuned(folders[name], os.path.join(args.tune_dir, f"{name}-gru"), args.tune_budget)
                model, flags = row_setting("gru" if config else encoder)
                for seed in seeds[:1] if encoder == "tfidf" else seeds:
                    m, wall, cmd = run(folders[name], model, seed, flags + args.flags.split(),
                                       os.path.join(tmp, f"{name}-{encoder}-{seed}"), config=config)
                    rows.append({"set": name, "encoder": encoder, "seed": None if encoder == "tfidf" else seed,
                                 "test_acc": m["test"]["acc"], "test_f1": m["test"]["f1"], "val_acc": m["val"]["acc"],
                                 "best_epoch": m.get("best_epoch"), "epochs": m.get("epochs"),
                                 "wall_seconds": round(wall, 1), "command": " ".join(cmd)}
                                | ({"tune_seconds": round(search, 1)} if search else {}))
                    print(f"{name}/{encoder}/{seed}: val {m['val']['acc']:.4f} test {m['test']['acc']:.4f} in {wall:.0f}s",
                          file=sys.stderr, flush=True)
                    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
                    with open(args.out, "w") as f:  # after every run, so a long bench can be read while it runs
                        json.dump({"nproc": os.cpu_count(), "seeds": seeds, "runs": rows}, f, indent=2)
    print(table(rows))


if __name__ == "__main__":
    main()
