"""`textclf evaluate`: metrics of a checkpoint on any source, labels matched by name.

By default the data the checkpoint was trained on (its source is stored in the checkpoint); with
`--data` any source the data pipeline reads. Accuracy, macro-F1, per-class precision/recall/F1/support
(scikit-learn) and the confusion matrix with label names; for a multi-label model, subset accuracy,
micro- and macro-averaged precision, recall and F1, Hamming loss and a per-label table at the model's
thresholds (textclf.model.multilabel_metrics).
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from textclf.data.prepare import load_splits
from textclf.errors import TextclfError
from textclf.model.multilabel_metrics import multilabel_scores
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
    texts, labels = labelled_split(source, split, clf.label_names, clf.multi_label)
    if progress is not None:
        progress.total = len(texts)
    probs = in_slices(lambda t: clf.predict_proba(t, batch_size), texts, progress and progress.advance)
    if clf.multi_label:
        scores = multilabel_scores(probs, labels, clf.decision_thresholds(), clf.label_names)
        del scores["f1"]  # macro_f1 by its full name, as the single-label report has it
        result = {"split": split, "examples": len(texts), "subset_accuracy": scores.pop("acc"), **scores}
        gold = [[clf.label_names[j] for j in np.flatnonzero(row)] for row in labels]
    else:
        result = {"split": split, **classification_metrics(labels, probs.argmax(1), clf.label_names)}
        gold = [clf.label_names[i] for i in labels]
    if examples:
        result["examples_predicted"] = [{**record, "gold": g} for record, g in zip(clf.records(texts, probs), gold)]
    return result


def labelled_split(source: dict, split: str, label_names: list[str], multi_label: bool = False) -> tuple[list[str], np.ndarray]:
    """(texts, label ids in `label_names`) of `split` of `source` (multi-label: a 0/1 matrix, texts x labels);
    a split carved from train at training time is carved again the same way."""
    source = {**source, "multi_label": multi_label}
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
    if multi_label:
        labels = np.zeros((ds.num_rows, len(label_names)), dtype=np.float32)
        for row, ids in enumerate(ds["label"][:]):
            labels[row, ids] = 1
        return list(ds["text"][:]), labels
    labels = np.asarray(ds["label"][:])
    if (labels < 0).any():
        raise TextclfError(f"the {split} split has no labels: use `textclf predict` for unlabelled text")
    return list(ds["text"][:]), labels
