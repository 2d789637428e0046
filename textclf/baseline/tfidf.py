"""TF-IDF over word 1-2 grams + logistic regression (scikit-learn), fitted and saved as a checkpoint that
textclf.serve.tfidf predicts with. Multi-label data (a 0/1 matrix of labels) gets one-vs-rest logistic
regression, one binary model per label, decided at a threshold chosen on validation as for the networks.

Texts are split with the run's own tokenizer (the one the neural models would use), so Chinese (no
spaces) works the same way as English. The regularisation strength C is chosen on the validation
split, never on test. The fitted model is saved as plain values and tensors (the n-gram vocabulary,
idf weights, coefficients), so it loads with `torch.load(weights_only=True)` like every checkpoint.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.multiclass import OneVsRestClassifier
from tokenizers import Tokenizer

from textclf.errors import TextclfError
from textclf.model.multilabel_metrics import choose_thresholds, example_f1, multilabel_scores
from textclf.serve.tfidf import KIND, VECTORIZER, token_strings

log = logging.getLogger(__name__)

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
# L-BFGS keeps the coefficients, their gradient and 10 pairs of updates: about 22 float64 copies of them
LBFGS_COPIES = 22
MIN_FEATURES = 1000


def most_features(classes: int, memory_share: float = 0.5) -> int:
    """The most n-gram features whose logistic regression over `classes` fits in a share of this machine's memory."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): assume a small machine
        memory = 8 * 2**30
    rows = 1 if classes <= 2 else classes  # a binary model has one row of coefficients
    most = int(memory_share * memory / (rows * 8 * LBFGS_COPIES))
    if most < MIN_FEATURES:
        raise TextclfError(f"a TF-IDF model of {classes:,} classes does not fit in this machine's memory even with "
                           f"{MIN_FEATURES:,} features: check the label column (--data.label_column)")
    return most


def fit_tfidf(tokenizer: Tokenizer, train: tuple[list[str], np.ndarray], val: tuple[list[str], np.ndarray],
              test: tuple[list[str], np.ndarray] | None) -> tuple[dict, TfidfVectorizer, LogisticRegression]:
    """Fit on train, pick C on validation macro-F1; the validation/test accuracy and macro-F1 (with the
    test predictions), the vectorizer and the model."""
    start = time.perf_counter()
    train_tokens = token_strings(tokenizer, train[0])
    vec = TfidfVectorizer(**VECTORIZER, min_df=1)
    x_train = vec.fit_transform(train_tokens)
    if train[1].ndim == 2:
        return _fit_multilabel(tokenizer, vec, x_train, train, val, test, start)
    most = most_features(len(np.unique(train[1])))
    if x_train.shape[1] > most:
        log.warning("TF-IDF: %s classes x %s n-gram features would need more memory than this machine has: keeping "
                    "the %s most frequent features", f"{len(np.unique(train[1])):,}", f"{x_train.shape[1]:,}", f"{most:,}")
        vec = TfidfVectorizer(**VECTORIZER, min_df=1, max_features=most)
        x_train = vec.fit_transform(train_tokens)
    x_val = vec.transform(token_strings(tokenizer, val[0]))
    best = None
    for c in C_GRID:
        clf = LogisticRegression(C=c, max_iter=2000).fit(x_train, train[1])
        score = f1_score(val[1], clf.predict(x_val), average="macro")
        if best is None or score > best[0]:
            best = (score, c, clf)
    _, c, clf = best
    out = {"C": c, "features": int(x_train.shape[1]),
           "val": {"acc": float(accuracy_score(val[1], clf.predict(x_val))), "f1": float(best[0])}}
    if test is not None:
        pred = clf.predict(vec.transform(token_strings(tokenizer, test[0])))
        out["test"] = {"acc": float(accuracy_score(test[1], pred)), "f1": float(f1_score(test[1], pred, average="macro"))}
        out["test_predictions"] = pred.tolist()
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out, vec, clf


def _fit_multilabel(tokenizer, vec, x_train, train, val, test, start) -> tuple[dict, TfidfVectorizer, OneVsRestClassifier]:
    """One-vs-rest logistic regression per label; C and each label's threshold chosen on validation (as a
    network's default --model.thresholds per_label does it; C on macro-F1). One binary model's coefficients per label
    fit in memory as the multiclass model's do (`most_features` by label count)."""
    most = most_features(train[1].shape[1])
    if x_train.shape[1] > most:
        vec = TfidfVectorizer(**VECTORIZER, min_df=1, max_features=most)
        x_train = vec.fit_transform(token_strings(tokenizer, train[0]))
    x_val = vec.transform(token_strings(tokenizer, val[0]))
    best = None
    for c in C_GRID:
        clf = OneVsRestClassifier(LogisticRegression(C=c, max_iter=2000), n_jobs=min(os.cpu_count() or 1, 4))
        clf.fit(x_train, train[1].astype(int))
        probs = clf.predict_proba(x_val)
        thresholds = choose_thresholds(probs, val[1], "per_label")
        score = multilabel_scores(probs, val[1], thresholds)
        if best is None or score["f1"] > best[0]["f1"]:
            best = (score, c, clf, thresholds)
    val_scores, c, clf, thresholds = best
    clf.thresholds_ = thresholds
    out = {"C": c, "features": int(x_train.shape[1]), "thresholds": thresholds.round(3).tolist(), "val": val_scores}
    if test is not None:
        probs = clf.predict_proba(vec.transform(token_strings(tokenizer, test[0])))
        out["test"] = multilabel_scores(probs, test[1], thresholds)
        out["test_correct"] = example_f1(probs, test[1], thresholds).round(4).tolist()
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out, vec, clf


def to_checkpoint(vec: TfidfVectorizer, clf: LogisticRegression, num_classes: int, archive: dict) -> dict:
    """A checkpoint dict of the fitted model: `archive` (tokenizer, labels, data source) plus the n-gram
    vocabulary in column order and the weights as tensors. A binary model's one row of coefficients
    becomes two (the logits of class 0 and 1), so prediction is a softmax for every number of classes."""
    terms = [""] * len(vec.vocabulary_)
    for term, column in vec.vocabulary_.items():
        terms[column] = term
    if isinstance(clf, OneVsRestClassifier):  # multi-label: one row per label, each its own sigmoid
        archive = {**archive, "task": "multi", "thresholds": [float(t) for t in clf.thresholds_]}
        coef = torch.as_tensor(np.vstack([_coef(e, len(terms))[0] for e in clf.estimators_]), dtype=torch.float32)
        intercept = torch.as_tensor(np.concatenate([_coef(e, len(terms))[1] for e in clf.estimators_]), dtype=torch.float32)
    else:
        coef = torch.as_tensor(clf.coef_, dtype=torch.float32)
        intercept = torch.as_tensor(clf.intercept_, dtype=torch.float32)
    if num_classes == 2 and not isinstance(clf, OneVsRestClassifier):
        coef, intercept = torch.cat([torch.zeros_like(coef), coef]), torch.cat([torch.zeros_like(intercept), intercept])
    return {"textclf": {**archive, "kind": KIND, "tfidf": {"terms": terms, "C": float(getattr(clf, "C", None) or clf.estimator.C)}},
            "state_dict": {"idf": torch.as_tensor(vec.idf_, dtype=torch.float32), "coef": coef, "intercept": intercept}}


def _coef(estimator, features: int) -> tuple[np.ndarray, np.ndarray]:
    """A binary model's (1, features) coefficients and (1,) intercept; a label that train never (or always)
    has gets scikit-learn's constant predictor: no weights and a logit far below (or above) zero."""
    if hasattr(estimator, "coef_"):
        return estimator.coef_, estimator.intercept_
    always = float(np.ravel(getattr(estimator, "y_", [0]))[0]) > 0
    return np.zeros((1, features)), np.array([20.0 if always else -20.0])
