"""The runs of a comparison as read back from their run directories (metrics.json, analysis.json), and
what they are ranked by (`Scores`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from textclf.compare.plan import PlannedRun


@dataclass(frozen=True)
class Scores:
    """What a comparison ranks by: accuracy for single-label runs; macro-F1 for multi-label runs (resampled
    whole by the bootstrap), whose texts are scored one by one in the length bins by the F1 of their
    predicted and true label sets."""

    key: str  # metrics.json's headline score: acc or f1
    second: str  # the second column: f1 or micro_f1
    word: str
    second_word: str
    per_example: str  # what the bootstrap resamples


SINGLE_SCORES = Scores("acc", "f1", "accuracy", "macro-F1", "per-example correctness")
MULTI_SCORES = Scores("f1", "micro_f1", "macro-F1", "micro-F1", "macro-F1 recomputed on each resample")


def scores_of(metrics: dict) -> Scores:
    return MULTI_SCORES if metrics.get("task") == "multi-label" else SINGLE_SCORES


@dataclass
class Run:
    name: str
    encoder: str
    seed: int
    vary: str  # "model.init=orthogonal" ("" without --vary)
    metrics: dict
    analysis: dict

    @property
    def group(self) -> str:
        return f"{self.encoder} ({self.vary})" if self.vary else self.encoder

    @property
    def scores(self) -> Scores:
        return scores_of(self.metrics)

    @property
    def acc(self) -> float:
        """The headline score (accuracy; multi-label: macro-F1)."""
        return (self.metrics.get("test") or self.metrics["val"])[self.scores.key]

    @property
    def f1(self) -> float:
        """The second score (macro-F1; multi-label: micro-F1)."""
        return (self.metrics.get("test") or self.metrics["val"])[self.scores.second]

    def correct(self, labels: np.ndarray) -> np.ndarray:
        """Each evaluation text's score: 1/0 correct, or (multi-label) the F1 of its label sets."""
        if "correct" in self.analysis:
            return np.asarray(self.analysis["correct"], dtype=np.float64)
        return (np.asarray(self.analysis["predictions"]) == labels).astype(np.float64)

    def decisions(self, num_labels: int) -> np.ndarray:
        """A multi-label run's decisions on the evaluation texts (N, labels), 0/1."""
        predicted = self.analysis["predicted"]
        out = np.zeros((len(predicted), num_labels), dtype=np.float64)
        for row, ids in enumerate(predicted):
            out[row, ids] = 1
        return out

    def to_within_final(self, points: float = 1.0) -> tuple[int, float] | None:
        """(epoch, wall seconds) at which validation accuracy first came within `points` of its value at
        the last epoch: how long the run took to settle, not where a noisy best fell."""
        key = f"val_{self.scores.key}"
        hist = [h for h in self.metrics.get("history", []) if key in h]
        if not hist:
            return None
        final = hist[-1][key]
        i = next(i for i, h in enumerate(hist) if h[key] >= final - points / 100)
        return i + 1, hist[i]["elapsed"]  # epochs counted from 1

    @property
    def still_improving(self) -> bool:
        """Whether the best validation accuracy came at the last epoch (more epochs might have helped)."""
        return bool(self.metrics.get("best_epoch") and self.metrics["best_epoch"] >= len(self.metrics.get("history", [])))


def load_runs(output: str, planned: list[PlannedRun]) -> list[Run]:
    runs = []
    for p in planned:
        d = os.path.join(output, "runs", p.name)
        with open(os.path.join(d, "metrics.json")) as f:
            metrics = json.load(f)
        with open(os.path.join(d, "analysis.json")) as f:
            analysis = json.load(f)
        runs.append(Run(p.name, p.encoder, p.seed, p.vary_label, metrics, analysis))
    return runs


