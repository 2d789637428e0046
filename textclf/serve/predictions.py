"""What every classifier that `load_classifier` returns offers on top of its `predict_proba`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from textclf.errors import TextclfError, check_at_least

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
    """`predict` records from `predict_proba` (N, C) over `label_names`."""

    label_names: list[str]

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

    def predict(self, texts: Sequence[str], batch_size: int | None = None, top_k: int | None = None) -> list[dict]:
        """One record per text, in input order: {"text", "label", "score", "probs": {label: p}}.
        `top_k` keeps the k most likely labels in `probs`."""
        if isinstance(texts, str):
            texts = [texts]
        check_at_least("top_k", top_k, 1)
        return self.records(texts, self.predict_proba(texts, batch_size), top_k)

    def records(self, texts: Sequence[str], probs: np.ndarray, top_k: int | None = None) -> list[dict]:
        """`predict`'s records from texts and their class probabilities (N, C)."""
        k = len(self.label_names) if top_k is None else min(top_k, len(self.label_names))
        records = []
        for text, p in zip(texts, probs):
            order = np.argsort(-p, kind="stable")[:k]
            records.append(
                {
                    "text": text,
                    "label": self.label_names[order[0]],
                    "score": round(float(p[order[0]]), 6),
                    "probs": {self.label_names[j]: round(float(p[j]), 6) for j in order},
                }
            )
        return records
