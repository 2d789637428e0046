"""`textclf evaluate`: metrics of a checkpoint on any source, labels matched by name.

By default the data the checkpoint was trained on (its source is stored in the checkpoint); with
`--data` any source the data pipeline reads. Accuracy, macro-F1, per-class precision/recall/F1/support
(scikit-learn) and the confusion matrix with label names.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from textclf.data.prepare import load_splits
from textclf.errors import TextclfError
from textclf.serve.predictions import Predictions, in_slices

log = logging.getLogger(__name__)


def classification_metrics(labels: np.ndarray, preds: np.ndarray, label_names: list[str]) -> dict:
    """Accuracy, macro-F1, per-class report and confusion matrix (rows: true, columns: predicted)."""
    ids = list(range(len(label_names)))
    p, r, f, s = precision_recall_fscore_support(labels, preds, labels=ids, zero_division=0)
    return {
        "examples": int(len(labels)),
        "accuracy": float(accuracy_score(labels, preds)),
        "macro_f1": float(f1_score(labels, preds, labels=ids, average="macro", zero_division=0)),
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(label_names)
        },
        "confusion_matrix": {"labels": label_names, "matrix": confusion_matrix(labels, preds, labels=ids).tolist()},
    }


def evaluate(
    clf: Predictions,
    source: dict,
    split: str = "test",
    batch_size: int | None = None,
    examples: bool = False,
    progress=None,
) -> dict:
    """Evaluate `clf` on `split` of `source` (keyword arguments of `load_splits`). With `examples`,
    `examples_predicted` holds one record per example: predict's (text, label, score, probs) and the gold label.
    `progress`: a TextProgress (textclf.commands.progress) told how many texts there are and each one done."""
    texts, labels = labelled_split(source, split, clf.label_names)
    if progress is not None:
        progress.total = len(texts)
    probs = in_slices(lambda t: clf.predict_proba(t, batch_size), texts, progress and progress.advance)
    result = {"split": split, **classification_metrics(labels, probs.argmax(1), clf.label_names)}
    if examples:
        result["examples_predicted"] = [{**record, "gold": clf.label_names[gold]}
                                        for record, gold in zip(clf.records(texts, probs), labels)]
    return result


def labelled_split(source: dict, split: str, label_names: list[str]) -> tuple[list[str], np.ndarray]:
    """(texts, label ids in `label_names`) of `split` of `source`; a split carved from train at training
    time is carved again the same way."""
    splits, _ = load_splits(**source, label_names=label_names, single_split=split, carve=False)
    whole = len(splits["train"]) if split == "train" and "train" in splits else None
    if (split not in splits or split == "train") and "train" in splits:
        # carved again as in training; for train, what is left of it: the carved rows are not training rows
        splits, _ = load_splits(**source, label_names=label_names, single_split=split, carve=True)
    if whole is not None and len(splits["train"]) < whole:
        carved = [s for s in ("validation", "test") if s in splits]
        log.info("train: the %s rows left after carving %s as in training (%s of %s rows excluded)",
                 f"{len(splits['train']):,}", " and ".join(carved), f"{whole - len(splits['train']):,}", f"{whole:,}")
    if split not in splits:
        raise TextclfError(f"the data has no {split!r} split (it has {', '.join(splits)}): choose one with --split")
    ds = splits[split]
    labels = np.asarray(ds["label"][:])
    if (labels < 0).any():
        raise TextclfError(f"the {split} split has no labels: use `textclf predict` for unlabelled text")
    return list(ds["text"][:]), labels
