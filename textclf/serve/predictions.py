"""What every classifier that `load_classifier` returns offers on top of its `predict_proba`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from textclf.errors import TextclfError, check_at_least, check_between
from textclf.model.checkpoint import MULTI
from textclf.model.multilabel_metrics import DEFAULT_THRESHOLD

SLICE = 1024  # texts per call when progress is reported: as fast as one call (bench/README.md, "Progress")


def in_slices(step: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str],
              progress: Callable[[int], None] | None = None) -> np.ndarray:
    """`step(texts)` (predict_proba or embed), called on slices of SLICE texts with `progress(n)` after each
    when a progress display wants to follow; one call without one."""
    if progress is None:
        return step(texts)
    parts = []
    for start in range(0, len(texts), SLICE):
        parts.append(step(texts[start:start + SLICE]))
        progress(len(parts[-1]))
    return np.concatenate(parts) if parts else step(texts)


class Predictions:
    """`predict` records from `predict_proba` (N, C) over `label_names`: class probabilities that sum to 1,
    or, for a multi-label model (`task` multi), each label's own probability, decided by `thresholds`."""

    label_names: list[str]
    task: str = "single"
    thresholds: list[float] | None = None  # multi-label: each label's threshold, chosen on validation

    @property
    def multi_label(self) -> bool:
        return self.task == MULTI

    def decision_thresholds(self, threshold: float | None = None) -> np.ndarray:
        """Each label's threshold (L,): `threshold` for all when given, else the model's own."""
        if threshold is not None:
            if not self.multi_label:
                raise TextclfError("--threshold applies to multi-label models; this one gives each text its most "
                                   "likely class: drop --threshold (or use --top_k)")
            check_between("--threshold", threshold, 0.0, 1.0, high_included=True)
            return np.full(len(self.label_names), float(threshold))
        if self.thresholds is None:
            return np.full(len(self.label_names), DEFAULT_THRESHOLD)
        return np.asarray(self.thresholds, dtype=np.float64)

    def empty_record(self, text: str | None) -> dict:
        """The null record of an empty text (predict without --strict)."""
        return {"text": text or "", "label": None, "score": None, **({"labels": None} if self.multi_label else {}),
                "probs": None}

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        raise NotImplementedError

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """The pooled vectors (N, D) the head sees; only a single network has them."""
        raise TextclfError(f"{type(self).__name__} has no pooled vector (a TF-IDF baseline or an ensemble): "
                           "embed with one network's checkpoint, e.g. runs/x/best.ckpt")

    @staticmethod
    def check_texts(texts: Sequence[str]) -> None:
        """An empty text is an error naming its position."""
        for i, t in enumerate(texts):
            if not isinstance(t, str) or not t.strip():
                raise TextclfError(f"text {i + 1} is empty: give non-empty texts")

    def predict(self, texts: Sequence[str], batch_size: int | None = None, top_k: int | None = None,
                threshold: float | None = None) -> list[dict]:
        """One record per text, in input order: {"text", "label", "score", "probs": {label: p}}; a multi-label
        model's records add "labels", the labels whose probability reaches their threshold, most likely first.
        `top_k` keeps the k most likely labels in `probs` (and at most k in `labels`); `threshold` (multi-label)
        replaces the model's thresholds with one for every label."""
        if isinstance(texts, str):
            texts = [texts]
        check_at_least("top_k", top_k, 1)
        self.decision_thresholds(threshold)  # a wrong --threshold is an error before any work
        return self.records(texts, self.predict_proba(texts, batch_size), top_k, threshold)

    def records(self, texts: Sequence[str], probs: np.ndarray, top_k: int | None = None,
                threshold: float | None = None) -> list[dict]:
        """`predict`'s records from texts and their probabilities (N, C)."""
        k = len(self.label_names) if top_k is None else min(top_k, len(self.label_names))
        thresholds = self.decision_thresholds(threshold) if self.multi_label else None
        records = []
        for text, p in zip(texts, probs):
            order = np.argsort(-p, kind="stable")[:k]
            record = {"text": text, "label": self.label_names[order[0]], "score": round(float(p[order[0]]), 6)}
            if thresholds is not None:
                record["labels"] = [self.label_names[j] for j in order if p[j] >= thresholds[j]]
            record["probs"] = {self.label_names[j]: round(float(p[j]), 6) for j in order}
            records.append(record)
        return records
