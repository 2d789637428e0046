"""Multi-label decisions and scores: thresholds chosen on validation, and the metrics of thresholded
probabilities (N, labels) against 0/1 targets (N, labels).

A label is predicted where its probability reaches its threshold. Thresholds are chosen on validation
from THRESHOLD_GRID: each label's own (`per_label`, the default: its F1; a label without a validation
example keeps the global one), or one for every label (`global`: macro-F1). Never chosen on test.
Per-label won on held-out halves of GoEmotions' validation split (bench/README.md, "Multi-label").
"""

from __future__ import annotations

import numpy as np

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
THRESHOLD_CHOICES = ("global", "per_label")
DEFAULT_THRESHOLD = 0.5  # a multi-label checkpoint without chosen thresholds (a last.ckpt mid-training)


def _counts(pred: np.ndarray, targets: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, predicted positives and actual positives summed over `axis`."""
    return (pred & targets).sum(axis), pred.sum(axis), targets.sum(axis)


def _f1(tp, predicted, actual) -> np.ndarray:
    denominator = predicted + actual
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def choose_thresholds(probs: np.ndarray, targets: np.ndarray, how: str = "global") -> np.ndarray:
    """One threshold per label (L,), chosen on these (validation) probabilities for macro-F1."""
    targets = targets.astype(bool)
    pred = probs[None] >= THRESHOLD_GRID[:, None, None]  # (G, N, L)
    per_label_f1 = _f1(*_counts(pred, targets[None], axis=1))  # (G, L)
    best_global = THRESHOLD_GRID[int(np.argmax(per_label_f1.mean(1)))]
    thresholds = np.full(probs.shape[1], best_global, dtype=np.float64)
    if how == "per_label":
        seen = targets.any(0)
        thresholds[seen] = THRESHOLD_GRID[np.argmax(per_label_f1[:, seen], axis=0)]
    return thresholds


def decide(probs: np.ndarray, thresholds) -> np.ndarray:
    """0/1 decisions (N, L): each probability against its label's threshold (or one threshold for all)."""
    return probs >= np.asarray(thresholds, dtype=np.float64)


def multilabel_scores(probs: np.ndarray, targets: np.ndarray, thresholds, label_names: list[str] | None = None) -> dict:
    """acc (subset accuracy: every label right), f1 and macro_f1 (macro-F1 over labels: `f1` is what every task's
    metrics.json calls macro-F1), micro and macro precision, recall and F1, Hamming loss; with `label_names`,
    a per-label table (support, precision, recall, F1, threshold)."""
    targets = targets.astype(bool)
    pred = decide(probs, thresholds)
    tp, predicted, actual = _counts(pred, targets, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(actual > 0, tp / np.maximum(actual, 1), 0.0)
    f1 = _f1(tp, predicted, actual)
    micro_p = tp.sum() / max(predicted.sum(), 1)
    micro_r = tp.sum() / max(actual.sum(), 1)
    out = {
        "acc": float((pred == targets).all(1).mean()),
        "f1": float(f1.mean()),
        "macro_f1": float(f1.mean()),
        "micro_f1": float(_f1(tp.sum(), predicted.sum(), actual.sum())),
        "macro_precision": float(precision.mean()), "macro_recall": float(recall.mean()),
        "micro_precision": float(micro_p), "micro_recall": float(micro_r),
        "hamming_loss": float((pred != targets).mean()),
    }
    if label_names is not None:
        thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (len(label_names),))
        out["per_label"] = {name: {"support": int(actual[i]), "precision": float(precision[i]), "recall": float(recall[i]),
                                   "f1": float(f1[i]), "threshold": float(thr[i])} for i, name in enumerate(label_names)}
    return out


def example_f1(probs: np.ndarray, targets: np.ndarray, thresholds) -> np.ndarray:
    """Each example's F1 between its predicted and true label sets (1 where both are empty): the per-example
    score that comparisons resample (textclf.compare)."""
    targets = targets.astype(bool)
    pred = decide(probs, thresholds)
    tp, predicted, actual = _counts(pred, targets, axis=1)
    return np.where(predicted + actual > 0, _f1(tp, predicted, actual), 1.0)
