"""Train/validation/test: drop empty texts, carve stratified splits where the source has none."""

from __future__ import annotations

import logging

import datasets
import numpy as np
from sklearn.model_selection import train_test_split

from textclf.errors import TextclfError

log = logging.getLogger(__name__)


def drop_empty(ds: datasets.Dataset, split: str, where: str) -> datasets.Dataset:
    """Remove empty or whitespace-only texts, saying how many; an all-empty split is an error."""
    keep = [i for i, t in enumerate(ds["text"][:]) if t and not t.isspace()]
    dropped = ds.num_rows - len(keep)
    if not keep:
        raise TextclfError(f"every text in the {split} split of {where} is empty: check --data.text_column")
    if dropped:
        log.warning("dropped %d empty text(s) from the %s split", dropped, split)
        ds = ds.select(keep)
    return ds


def carve(
    ds: datasets.Dataset, fraction: float, seed: int, name: str
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Split off a stratified `fraction` of `ds` (by `label`) with `seed`; returns (rest, carved). Multi-label
    data (a list of labels per text) is stratified by each text's rarest label, so that rare labels reach
    the carved split too."""
    if not 0 < fraction < 1:
        raise TextclfError(f"--data.{name}_fraction must be between 0 and 1, got {fraction}")
    labels = ds["label"][:]
    idx = np.arange(len(labels))
    labels = rarest_labels(labels) if labels and isinstance(labels[0], list) else np.asarray(labels)
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    if stratify is None:
        log.warning("a class has a single example: the %s split is carved without stratification", name)
    rest, cut = train_test_split(idx, test_size=fraction, random_state=seed, stratify=stratify)
    log.info("carved %d %s examples (%.0f%%, %s, seed %d) from train", len(cut), name, 100 * fraction,
             "stratified" if stratify is not None else "not stratified", seed)
    return ds.select(np.sort(rest)), ds.select(np.sort(cut))


def rarest_labels(label_lists: list[list[int]]) -> np.ndarray:
    """Each text's rarest label (by count over all texts), a label of its own for texts without any; a label
    that is the rarest of a single text joins the texts without any (stratification needs two of each)."""
    counts = np.bincount([i for labels in label_lists for i in labels], minlength=1)
    none = len(counts)
    rarest = np.array([min(labels, key=counts.__getitem__) if labels else none for labels in label_lists])
    seen = np.bincount(rarest, minlength=none + 1)
    rarest[seen[rarest] < 2] = none
    return rarest


def complete_splits(
    splits: dict[str, datasets.Dataset], val_fraction: float, test_fraction: float, seed: int
) -> dict[str, datasets.Dataset]:
    """Carve validation (always) and test (when `test_fraction` > 0) from train where missing."""
    splits = dict(splits)
    if "test" not in splits:
        if test_fraction > 0:
            splits["train"], splits["test"] = carve(splits["train"], test_fraction, seed, "test")
        else:
            log.warning("no test split and --data.test_fraction is 0: test metrics will be absent")
    if "validation" not in splits:
        splits["train"], splits["validation"] = carve(splits["train"], val_fraction, seed, "val")
    return splits
