"""TF-IDF over word 1-2 grams + logistic regression (scikit-learn), fitted and saved as a checkpoint that
textclf.serve.tfidf predicts with.

Texts are split with the run's own tokenizer (the one the neural models would use), so Chinese (no
spaces) works the same way as English. The regularisation strength C is chosen on the validation
split, never on test. The fitted model is saved as plain values and tensors (the n-gram vocabulary,
idf weights, coefficients), so it loads with `torch.load(weights_only=True)` like every checkpoint.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from tokenizers import Tokenizer

from textclf.serve.tfidf import KIND, VECTORIZER, token_strings

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def fit_tfidf(tokenizer: Tokenizer, train: tuple[list[str], np.ndarray], val: tuple[list[str], np.ndarray],
              test: tuple[list[str], np.ndarray] | None) -> tuple[dict, TfidfVectorizer, LogisticRegression]:
    """Fit on train, pick C on validation macro-F1; the validation/test accuracy and macro-F1 (with the
    test predictions), the vectorizer and the model."""
    start = time.perf_counter()
    vec = TfidfVectorizer(**VECTORIZER, min_df=1)
    x_train = vec.fit_transform(token_strings(tokenizer, train[0]))
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


def to_checkpoint(vec: TfidfVectorizer, clf: LogisticRegression, num_classes: int, archive: dict) -> dict:
    """A checkpoint dict of the fitted model: `archive` (tokenizer, labels, data source) plus the n-gram
    vocabulary in column order and the weights as tensors. A binary model's one row of coefficients
    becomes two (the logits of class 0 and 1), so prediction is a softmax for every number of classes."""
    terms = [""] * len(vec.vocabulary_)
    for term, column in vec.vocabulary_.items():
        terms[column] = term
    coef = torch.as_tensor(clf.coef_, dtype=torch.float32)
    intercept = torch.as_tensor(clf.intercept_, dtype=torch.float32)
    if num_classes == 2:
        coef, intercept = torch.cat([torch.zeros_like(coef), coef]), torch.cat([torch.zeros_like(intercept), intercept])
    return {"textclf": {**archive, "kind": KIND, "tfidf": {"terms": terms, "C": float(clf.C)}},
            "state_dict": {"idf": torch.as_tensor(vec.idf_, dtype=torch.float32), "coef": coef, "intercept": intercept}}
