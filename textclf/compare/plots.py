"""The report's figures (matplotlib, Agg backend: no screen needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = plt.get_cmap("tab10").colors


def accuracy_chart(rows: list[dict], per_seed: dict[str, list[float]], baseline_acc: float | None, split: str, path: str,
                   word: str = "accuracy"):
    """A dot plot: each seed a dot (on a line of its own just under its encoder's, so the mean never hides
    it), the mean a diamond with ± one standard deviation and the number of seeds. No bars, so an axis that
    does not start at zero cannot make a small gap look tall. A single run is its dot alone."""
    fig, ax = plt.subplots(figsize=(7, max(2.8, 0.55 * len(rows) + 1.9)))
    y = np.arange(len(rows))[::-1]
    mean_shown = False
    for i, r in enumerate(rows):
        seeds = [100 * a for a in per_seed[r["group"]]]
        ax.scatter(seeds, [y[i] - 0.22] * len(seeds), color=COLORS[i % 10], s=22, alpha=0.8, zorder=2,
                   edgecolors="none", label="one seed" if i == 0 else None)
        if len(seeds) > 1:
            ax.errorbar(100 * r["acc_mean"], y[i], xerr=100 * r["acc_std"], fmt="D", color="black", ms=5, capsize=3,
                        zorder=3, label=None if mean_shown else "mean ± std over seeds")
            mean_shown = True
    if baseline_acc is not None:
        ax.axvline(100 * baseline_acc, color="gray", linestyle="--", label="TF-IDF + logistic regression")
    ax.set_yticks(y, [f"{r['group']}\n(n={r['seeds']})" for r in rows], fontsize=8)
    ax.set_ylim(y.min() - 0.6, y.max() + 0.5)
    ax.set_xlabel(f"{split} {word} (%)")
    ax.set_title(f"{split.capitalize()} {word} by encoder (n: seeds)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)  # never on a dot
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def length_chart(by_length: dict, path: str, split: str, word: str = "accuracy"):
    """Accuracy per length bin, one line per group, ± one standard deviation over seeds."""
    groups = list(by_length["accuracy"])
    bins = by_length["bins"]
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(bins) + 3), 4.5))
    x = np.arange(len(bins))
    for i, g in enumerate(groups):
        shift = (i - (len(groups) - 1) / 2) * 0.04
        vals = 100 * np.array(by_length["accuracy"][g])
        err = 100 * np.array(by_length["std"][g])
        style = "--" if g == "tfidf+logreg" else "-"
        ax.errorbar(x + shift, vals, yerr=err if err.any() else None, marker="o", ms=4, capsize=3, linestyle=style,
                    label=g, color="gray" if g == "tfidf+logreg" else COLORS[i % 10])
    ax.set_xticks(x, [f"{b}\nn={n}" for b, n in zip(bins, by_length["counts"])], fontsize=8)
    ax.set_xlabel("tokens per text (bins of about equal size; n: texts)")
    ax.set_ylabel(f"{split} {word} (%)")
    ax.set_title("Accuracy by text length (mean ± std over seeds)")
    ax.legend(fontsize=8, ncol=min(len(groups), 3))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def learning_curves_chart(curves: dict, path: str, word: str = "accuracy"):
    """Validation accuracy by epoch (whole epochs on the axis) and by wall-clock time (log scale, so that a
    fast encoder is not squeezed against zero beside a slow one)."""
    from matplotlib.ticker import MaxNLocator

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for i, (g, c) in enumerate(curves.items()):
        color = COLORS[i % 10]
        mean, lo, hi = (100 * np.array(c[k]) for k in ("mean", "min", "max"))
        for ax, xs in ((a1, c["epoch"]), (a2, c["seconds"])):
            ax.plot(xs, mean, marker="o", ms=3, color=color, label=g)
            ax.fill_between(xs, lo, hi, color=color, alpha=0.15)
    a1.xaxis.set_major_locator(MaxNLocator(integer=True))
    a2.set_xscale("log")
    _plain_ticks(a2.xaxis, lambda v: f"{v:g}")
    a1.set_xlabel("epoch")
    a2.set_xlabel("wall-clock seconds since training start (log scale)")
    a1.set_ylabel(f"validation {word} (%)")
    a1.set_title(f"Validation {word} by epoch (mean, min-max band over seeds)")
    a2.set_title("... and by wall-clock time")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
    a1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def speed_chart(rows: list[dict], path: str, split: str, word: str = "accuracy"):
    """Accuracy against training speed, ± one standard deviation over seeds on both axes; the legend names
    each encoder's parameters (all of them, and the encoder's own where it has any)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for i, r in enumerate(rows):
        params = f"{_count(r['params_total'])} params" + (f", encoder {_count(r['params_encoder'])}"
                                                          if r["params_encoder"] else "")
        ax.errorbar(r["train_tokens_per_second"], 100 * r["acc_mean"],
                    xerr=r.get("train_tokens_per_second_std") or None, yerr=100 * r["acc_std"] or None,
                    fmt="o", ms=7, capsize=3, color=COLORS[i % 10], label=f"{r['group']} ({params}, n={r['seeds']})")
    ax.set_xscale("log")
    _plain_ticks(ax.xaxis, _count)
    ax.set_xlabel("training throughput (real tokens/s, log scale)")
    ax.set_ylabel(f"{split} {word} (%)")
    ax.set_title("Accuracy against training speed (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plain_ticks(axis, text) -> None:
    """Tick labels of a log axis as plain numbers (20k, 3), not powers of ten; between the powers of ten
    only 2, 3 and 5 times them are labelled, so that the labels never run into each other."""
    import math

    from matplotlib.ticker import FuncFormatter

    def minor(v: float) -> str:
        return text(v) if v > 0 and round(v / 10 ** math.floor(math.log10(v)), 6) in (2, 3, 5) else ""

    axis.set_major_formatter(FuncFormatter(lambda v, _: text(v)))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: minor(v)))


def _count(n: float) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else f"{n:g}"


def similarity_chart(rep: dict, path: str):
    """Linear CKA between every pair of runs (left) and its mean per pair of encoders (right)."""
    runs, groups = rep["runs"], rep["groups"]
    by_group = np.array([[np.nan if x is None else x for x in row] for row in rep["cka"]["groups"]])
    # constrained layout: each panel's rotated tick labels get their own room, never the other panel's
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7 + 0.35 * len(runs) + 0.6 * len(groups), 5.5), layout="constrained",
                                 gridspec_kw={"width_ratios": [max(len(runs), 2), max(len(groups), 2)]})
    for ax, matrix, names, title in ((a1, np.array(rep["cka"]["runs"]), runs, "every pair of runs"),
                                     (a2, by_group, groups, "per encoder pair\n(diagonal: between seeds)")):
        image = ax.imshow(np.ma.masked_invalid(matrix), vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_title(f"Linear CKA: {title}", fontsize=9)
        if len(names) <= 8:
            for i in range(len(names)):
                for j in range(len(names)):
                    text = "n/a" if np.isnan(matrix[i, j]) else f"{matrix[i, j]:.2f}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=7,
                            color="white" if np.isnan(matrix[i, j]) or matrix[i, j] < 0.6 else "black")
    fig.colorbar(image, ax=[a1, a2], shrink=0.8, label="linear CKA")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def maps_chart(maps: dict, label_names: list[str], path: str):
    """PCA (top row) and t-SNE (bottom row) per encoder, coloured by gold label; misclassified texts as crosses."""
    groups = list(maps)
    fig, axes = plt.subplots(2, len(groups), figsize=(3.2 * len(groups), 6.4), squeeze=False)
    for col, g in enumerate(groups):
        m = maps[g]
        for row, key in enumerate(("pca", "tsne")):
            ax = axes[row, col]
            xy = m[key]
            for c, name in enumerate(label_names):
                for wrong, marker in ((False, "o"), (True, "x")):
                    mine = (m["labels"] == c) & (m["wrong"] == wrong)
                    ax.scatter(xy[mine, 0], xy[mine, 1], s=8 if wrong else 5, marker=marker, color=COLORS[c % 10],
                               alpha=0.9 if wrong else 0.5, linewidths=0.7 if wrong else 0,
                               label=name if col == 0 and row == 0 and not wrong else None)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{g}: {'PCA' if key == 'pca' else 't-SNE'}", fontsize=9)
    axes[0, 0].scatter([], [], marker="x", color="gray", label="misclassified (x)")
    fig.legend(loc="lower center", ncol=min(len(label_names) + 1, 8), fontsize=8, markerscale=2)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
