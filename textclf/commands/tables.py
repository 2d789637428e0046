"""What commands print as tables (rich): a run's summary (train, baseline) and an evaluation (evaluate)."""

from __future__ import annotations

import os

from rich.console import Console
from rich.table import Table


def print_run_summary(m: dict) -> None:
    table = Table(title=f"{m['dataset']} / {m['encoder']}", show_header=True)
    table.add_column("split")
    table.add_column("accuracy", justify="right")
    table.add_column("macro-F1", justify="right")
    for split in ("val", "test"):
        if m.get(split):
            table.add_row(split, f"{m[split]['acc']:.4f}", f"{m[split]['f1']:.4f}")
    console = Console()
    console.print(table)
    if m["encoder"] == "tfidf":
        console.print(f"C {m['C']} (chosen on validation), {m['features']:,} n-gram features, {m['wall_seconds']:.1f}s wall")
    else:
        stopped = f" ({m['stopped_by']})" if m.get("stopped_by") else ""
        if m.get("stopped_by") == "early stopping":
            stopped = (f" (stopped early: validation macro-F1 did not improve in the {m['epochs'] - m['best_epoch']} "
                       "epochs after it; --patience sets how many)")
        console.print(
            f"best epoch {m['best_epoch']} of {m['epochs']}{stopped}, {m['wall_seconds']:.1f}s wall, "
            f"{m['train_tokens_per_second']:,.0f} train tokens/s, {m['parameters']['total']:,} parameters"
        )
    run_dir = os.path.dirname(m["best_checkpoint"])
    console.print(f"best checkpoint: {m['best_checkpoint']}", soft_wrap=True)
    console.print(f"metrics: {os.path.join(run_dir, 'metrics.json')}", soft_wrap=True)
    logs = [path for path in [os.path.join(run_dir, "logs", "metrics.csv")] if os.path.exists(path)]
    if os.path.isdir(os.path.join(run_dir, "tensorboard")):
        logs.append(f"tensorboard --logdir {os.path.join(run_dir, 'tensorboard')}")
    if logs:  # a TF-IDF baseline fits in one step and keeps no logs
        console.print("logs: " + ", ".join(logs), soft_wrap=True)


def print_evaluation(r: dict) -> None:
    console = Console()
    console.print(f"{r['split']}: {r['examples']:,} examples, accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f}")
    per = Table(show_header=True)
    for col in ("label", "precision", "recall", "f1", "support"):
        per.add_column(col, justify="left" if col == "label" else "right")
    for name, m in r["per_class"].items():
        per.add_row(name, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", str(m["support"]))
    console.print(per)
    cm = r["confusion_matrix"]
    conf = Table(title="confusion matrix (rows: true, columns: predicted)", show_header=True)
    conf.add_column("")
    for name in cm["labels"]:
        conf.add_column(name, justify="right")
    for name, row in zip(cm["labels"], cm["matrix"]):
        conf.add_row(name, *map(str, row))
    console.print(conf)
