"""The report's figures (matplotlib, Agg backend: no screen needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = plt.get_cmap("tab10").colors


def accuracy_chart(rows: list[dict], per_seed: dict[str, list[float]], baseline_acc: float | None, split: str, path: str):
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows) + 2), 4.2))
    x = np.arange(len(rows))
    means = [100 * r["acc_mean"] for r in rows]
    stds = [100 * r["acc_std"] for r in rows]
    ax.bar(x, means, yerr=stds, capsize=4, color=[COLORS[i % 10] for i in range(len(rows))], alpha=0.8,
           label="mean ± std over seeds")
    for i, r in enumerate(rows):
        seeds = [100 * a for a in per_seed[r["group"]]]
        ax.scatter([i] * len(seeds), seeds, color="black", s=12, zorder=3, label="one seed" if i == 0 else None)
    if baseline_acc is not None:
        ax.axhline(100 * baseline_acc, color="gray", linestyle="--", label="TF-IDF + logistic regression")
    ax.set_xticks(x, [r["group"] for r in rows], rotation=20, ha="right")
    low = min(min(100 * a for a in v) for v in per_seed.values())
    if baseline_acc is not None:
        low = min(low, 100 * baseline_acc)
    ax.set_ylim(max(0, low - 5), min(100, max(m + s for m, s in zip(means, stds)) + 3))
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.set_title(f"{split.capitalize()} accuracy by encoder")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def quartile_chart(quartiles: dict, path: str, split: str):
    groups = list(quartiles["accuracy"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(groups)
    x = np.arange(4)
    for i, g in enumerate(groups):
        vals = [100 * v for v in quartiles["accuracy"][g]]
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, vals, width, label=g, color=COLORS[i % 10])
    ax.set_xticks(x, [f"{q}\nn={n}" for q, n in zip(quartiles["quartiles"], quartiles["counts"])], fontsize=8)
    flat = [100 * v for g in groups for v in quartiles["accuracy"][g] if v == v]
    ax.set_ylim(max(0, min(flat) - 5), min(100, max(flat) + 3))
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.set_title("Accuracy by text length (token-count quartiles)")
    ax.legend(fontsize=8, ncol=min(len(groups), 3), loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def learning_curves_chart(curves: dict, path: str):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for i, (g, c) in enumerate(curves.items()):
        color = COLORS[i % 10]
        mean, lo, hi = (100 * np.array(c[k]) for k in ("mean", "min", "max"))
        for ax, xs in ((a1, c["epoch"]), (a2, c["seconds"])):
            ax.plot(xs, mean, marker="o", ms=3, color=color, label=g)
            ax.fill_between(xs, lo, hi, color=color, alpha=0.15)
    a1.set_xlabel("epoch")
    a2.set_xlabel("wall-clock seconds since training start")
    a1.set_ylabel("validation accuracy (%)")
    a1.set_title("Validation accuracy by epoch (mean, min-max band over seeds)")
    a2.set_title("... and by wall-clock time")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    a1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def speed_chart(rows: list[dict], path: str, split: str):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, r in enumerate(rows):
        ax.scatter(r["train_tokens_per_second"], 100 * r["acc_mean"], s=40 + r["params_total"] / 2e4,
                   color=COLORS[i % 10], alpha=0.8, label=f"{r['group']} ({r['params_total'] / 1e6:.2f}M params)")
    ax.set_xscale("log")
    ax.set_xlabel("training throughput (real tokens/s, log scale)")
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.set_title("Accuracy against training speed (marker size: parameters)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
