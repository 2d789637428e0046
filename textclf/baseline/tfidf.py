"""TF-IDF over word 1-2 grams + logistic regression (scikit-learn), as a checkpoint textclf can serve.

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

from textclf.data.tokenizer import tokenizer_from_json
from textclf.serve.predictions import Predictions

KIND = "tfidf"  # the archive's `kind`: a neural checkpoint has none
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
VECTORIZER = {"ngram_range": (1, 2), "token_pattern": r"\S+", "lowercase": False, "sublinear_tf": True}


def token_strings(tokenizer: Tokenizer, texts: list[str]) -> list[str]:
    """Each text as its tokens joined by spaces."""
    # encode_batch, not encode_batch_fast: the fast path leaves the token strings empty
    return [" ".join(e.tokens) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


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


class TfidfClassifier(Predictions):
    """A TF-IDF + logistic regression checkpoint: text in, labels out, as `Classifier`."""

    def __init__(self, ckpt: dict):
        archive, weights = ckpt["textclf"], ckpt["state_dict"]
        self.data_source = dict(archive.get("data", {}))  # where the training data came from (for `evaluate`)
        self.label_names = list(archive["label_names"])
        self.tokenizer = tokenizer_from_json(archive["tokenizer"])
        terms = archive["tfidf"]["terms"]
        self.vectorizer = TfidfVectorizer(**VECTORIZER, vocabulary={t: i for i, t in enumerate(terms)})
        self.vectorizer.idf_ = weights["idf"].double().numpy()
        self.coef = weights["coef"].double().numpy().T  # (features, classes)
        self.intercept = weights["intercept"].double().numpy()

    def predict_proba(self, texts, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, C) of `texts`, in input order (all at once: `batch_size` is not used)."""
        self.check_texts(texts)
        logits = self.vectorizer.transform(token_strings(self.tokenizer, list(texts))) @ self.coef + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)

    def __repr__(self) -> str:
        return f"TfidfClassifier(labels={self.label_names}, features={len(self.coef):,})"
