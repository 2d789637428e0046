"""What commands print as tables (rich): a run's summary (train, baseline) and an evaluation (evaluate)."""

from __future__ import annotations

import os

from rich.console import Console
from rich.table import Table


def print_run_summary(m: dict) -> None:
    multi = m.get("task") == "multi-label"
    table = Table(title=f"{m['dataset']} / {m['encoder']}{' (multi-label)' if multi else ''}", show_header=True)
    table.add_column("split")
    columns = (("subset acc", "acc"), ("micro-F1", "micro_f1"), ("macro-F1", "f1")) if multi else \
        (("accuracy", "acc"), ("macro-F1", "f1"))
    for title, _ in columns:
        table.add_column(title, justify="right")
    for split in ("val", "test"):
        if m.get(split):
            table.add_row(split, *(f"{m[split][key]:.4f}" for _, key in columns))
    console = Console()
    split = "test" if m.get("test") else "val"
    if multi and "per_label" in m[split]:
        console.print(per_label_table(m[split]["per_label"], f"{split}, per label"))
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


def per_label_table(per_label: dict, title: str) -> Table:
    """Support, precision, recall, F1 and threshold of each label of a multi-label model."""
    per = Table(title=title, show_header=True)
    for col in ("label", "support", "precision", "recall", "f1", "threshold"):
        per.add_column(col, justify="left" if col == "label" else "right")
    for name, m in per_label.items():
        per.add_row(name, f"{m['support']:,}", f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}",
                    f"{m['threshold']:.3f}")
    return per


def print_evaluation(r: dict) -> None:
    console = Console()
    if "per_label" in r:  # a multi-label model
        console.print(per_label_table(r["per_label"], f"{r['split']}, per label"))
        console.print(f"{r['split']}: {r['examples']:,} examples, subset accuracy {r['subset_accuracy']:.4f}, "
                      f"micro-F1 {r['micro_f1']:.4f}, macro-F1 {r['macro_f1']:.4f}, Hamming loss {r['hamming_loss']:.4f}")
        console.print(f"micro precision {r['micro_precision']:.4f}, recall {r['micro_recall']:.4f}; macro precision "
                      f"{r['macro_precision']:.4f}, recall {r['macro_recall']:.4f}")
        return
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
