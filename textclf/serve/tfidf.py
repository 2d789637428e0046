"""Prediction with a TF-IDF + logistic regression checkpoint (`textclf baseline` fits and saves one:
textclf.baseline.tfidf).

The checkpoint holds plain values and tensors: the n-gram vocabulary in column order, the idf weights
and the coefficients, so it loads with `torch.load(weights_only=True)` like every checkpoint. Texts are
split with the run's own tokenizer, as in training.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from tokenizers import Tokenizer

from textclf.data.tokenizer import tokenizer_from_json
from textclf.model.checkpoint import task_of
from textclf.serve.onnx_model import squash
from textclf.serve.predictions import Predictions

KIND = "tfidf"  # the archive's `kind`: a neural checkpoint has none
# how texts become features, the same when fitting and predicting
VECTORIZER = {"ngram_range": (1, 2), "token_pattern": r"\S+", "lowercase": False, "sublinear_tf": True}


def token_strings(tokenizer: Tokenizer, texts: list[str]) -> list[str]:
    """Each text as its tokens joined by spaces."""
    # encode_batch, not encode_batch_fast: the fast path leaves the token strings empty
    return [" ".join(e.tokens) for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


class TfidfClassifier(Predictions):
    """A TF-IDF + logistic regression checkpoint: text in, labels out, as `Classifier`."""

    def __init__(self, ckpt: dict):
        archive, weights = ckpt["textclf"], ckpt["state_dict"]
        self.data_source = dict(archive.get("data", {}))  # where the training data came from (for `evaluate`)
        self.label_names = list(archive["label_names"])
        self.task, self.thresholds = task_of(archive), archive.get("thresholds")  # multi-label: one-vs-rest
        self.tokenizer = tokenizer_from_json(archive["tokenizer"], pad_id=archive.get("preprocessing", {}).get("pad_id"))
        terms = archive["tfidf"]["terms"]
        self.vectorizer = TfidfVectorizer(**VECTORIZER, vocabulary={t: i for i, t in enumerate(terms)})
        self.vectorizer.idf_ = weights["idf"].double().numpy()
        self.coef = weights["coef"].double().numpy().T  # (features, classes)
        self.intercept = weights["intercept"].double().numpy()

    def predict_proba(self, texts, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, C) of `texts` (multi-label: each label's), in input order (all at once:
        `batch_size` is not used)."""
        self.check_texts(texts)
        logits = self.vectorizer.transform(token_strings(self.tokenizer, list(texts))) @ self.coef + self.intercept
        return squash(np.asarray(logits), self.multi_label).astype(np.float32)

    def __repr__(self) -> str:
        return f"TfidfClassifier(labels={self.label_names}, features={len(self.coef):,})"
