"""Choose the default recipe: one setting's validation accuracy on all five sets, next to TF-IDF's.

    python bench/recipe.py NAME [--sets sst2,trec,...] [--encoders gru] [--seed 42] -- [textclf train flags]
    python bench/recipe.py tfidf          # the TF-IDF + logistic regression reference on the same splits
    python bench/recipe.py table BEFORE AFTER    # two settings from the log as a Markdown table

Each run is `textclf train --data.path bench/results/sets/select/<set> --model.encoder E --seed S <flags>`
in a fresh process, with no config file: the code's defaults plus the flags under test. The `select`
folders hold train and validation only (bench/sets.py), so no choice here can see a test split. Every
result is appended to bench/results/recipe.jsonl; docs/recipe.md is written from that log.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sets import NAMES, prepare  # noqa: E402

LOG = "bench/results/recipe.jsonl"


def run(folder: str, encoder: str, seed: int, flags: list[str], run_dir: str,
        config: str | None = None) -> tuple[dict, float, list[str]]:
    """One `textclf train` (or `textclf baseline` for tfidf) in a fresh process: (metrics.json, wall s, command).
    `config` (a `textclf tune` best.yaml) comes first, so the flags after it override its seed and paths."""
    if encoder == "tfidf":
        cmd = ["textclf", "baseline", "--data.path", folder, "--run_dir", run_dir, *flags]
    else:
        cmd = ["textclf", "train", *(["--config", config] if config else []),
               "--data.path", folder, "--model.encoder", encoder, "--seed", str(seed),
               "--run_dir", run_dir, "--trainer.enable_progress_bar", "false", *flags]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "metrics.json")) as f:
        return json.load(f), wall, cmd


def _accuracy(rows: list[dict], setting: str, name: str) -> float | None:
    """Validation accuracy of `setting` on set `name`: the mean over its runs; TF-IDF's latest run."""
    accs = [r["val_acc"] for r in rows if r["setting"] == setting and r["set"] == name]
    if not accs:
        return None
    return accs[-1] if setting == "tfidf" else sum(accs) / len(accs)


def table(before: str, after: str, log: str = LOG) -> str:
    """Validation accuracy (%) of two settings on the sets both were run on, with TF-IDF's and the change."""
    with open(log) as f:
        rows = [json.loads(line) for line in f]
    sets = [n for n in NAMES if all(_accuracy(rows, s, n) is not None for s in (before, after))]
    acc = {(s, n): _accuracy(rows, s, n) for s in ("tfidf", before, after) for n in sets}
    lines = ["| setting | " + " | ".join(sets) + " | mean |", "|---" * (len(sets) + 2) + "|"]
    for setting in ("tfidf", before, after):
        values = [acc[setting, n] for n in sets]
        cells = ["" if v is None else f"{100 * v:.2f}" for v in values]
        mean = f"{100 * sum(values) / len(values):.2f}" if sets and None not in values else ""
        lines.append(f"| {'TF-IDF + LR' if setting == 'tfidf' else setting} | " + " | ".join(cells) + f" | {mean} |")
    change = [100 * (acc[after, n] - acc[before, n]) for n in sets]
    lines.append("| change (pts) | " + " | ".join(f"{c:+.2f}" for c in change)
                 + (f" | {sum(change) / len(change):+.2f} |" if change else " | |"))
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["table"]:
        print(table(*sys.argv[2:4]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", help="a label for this setting in the log (tfidf: the baseline)")
    p.add_argument("--sets", default=",".join(NAMES))
    p.add_argument("--encoders", default="gru")
    p.add_argument("--seed", type=int, default=42)
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    args = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.flags = flags
    folders = prepare("bench/results/sets")["select"]
    encoders = ["tfidf"] if args.name == "tfidf" else args.encoders.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            for encoder in encoders:
                m, wall, _ = run(folders[name], encoder, args.seed, args.flags, os.path.join(tmp, f"{name}-{encoder}"))
                row = {"setting": args.name, "set": name, "encoder": encoder, "seed": args.seed, "flags": args.flags,
                       "val_acc": m["val"]["acc"], "best_epoch": m.get("best_epoch"), "epochs": m.get("epochs"),
                       "wall_seconds": round(wall, 1)}
                with open(LOG, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{args.name} {name} {encoder}: val acc {row['val_acc']:.4f} (best epoch {row['best_epoch']} "
                      f"of {row['epochs']}) {wall:.0f}s", flush=True)


if __name__ == "__main__":
    main()
