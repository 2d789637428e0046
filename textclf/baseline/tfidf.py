"""The classical reference: TF-IDF over word 1-2 grams + logistic regression (scikit-learn).

Texts are split with the comparison's shared tokenizer, so Chinese (no spaces) works the same way
as English; the regularisation strength is chosen on the validation split, never on test.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from tokenizers import Tokenizer


def _token_strings(tokenizer: Tokenizer, texts: list[str]) -> list[str]:
    # encode_batch, not encode_batch_fast: the fast path leaves the token strings empty
    return [" ".join(e.tokens) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


def tfidf_logreg(tokenizer: Tokenizer, train: tuple[list[str], np.ndarray], val: tuple[list[str], np.ndarray],
                 test: tuple[list[str], np.ndarray] | None) -> dict:
    """Fit on train, pick C on validation, report validation/test accuracy and macro-F1, and predictions."""
    start = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", lowercase=False, sublinear_tf=True, min_df=1)
    x_train = vec.fit_transform(_token_strings(tokenizer, train[0]))
    x_val = vec.transform(_token_strings(tokenizer, val[0]))
    best = None
    for c in (0.3, 1.0, 3.0, 10.0, 30.0):
        clf = LogisticRegression(C=c, max_iter=2000).fit(x_train, train[1])
        score = f1_score(val[1], clf.predict(x_val), average="macro")
        if best is None or score > best[0]:
            best = (score, c, clf)
    _, c, clf = best
    out = {"C": c, "features": int(x_train.shape[1]),
           "val": {"acc": float(accuracy_score(val[1], clf.predict(x_val))), "f1": float(best[0])}}
    if test is not None:
        pred = clf.predict(vec.transform(_token_strings(tokenizer, test[0])))
        out["test"] = {"acc": float(accuracy_score(test[1], pred)), "f1": float(f1_score(test[1], pred, average="macro"))}
        out["test_predictions"] = pred.tolist()
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out
