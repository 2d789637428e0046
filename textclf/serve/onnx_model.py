"""Prediction from a `.onnx` file written by `textclf export` (textclf.serve.onnx_export), with onnxruntime only.

The file's metadata holds everything prediction needs besides the network: the tokenizer JSON, the label
names, the preprocessing (max_length, truncation) and the network config, so an `OnnxClassifier`
predicts with nothing beside the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from textclf.data.batching import BucketBatchSampler, TokenizedSplit
from textclf.data.encoding import text_encoder_of
from textclf.errors import TextclfError
from textclf.model.checkpoint import Archive, upgrade_archive
from textclf.serve.predictions import Predictions

METADATA = "textclf"  # the metadata key holding the archive JSON


def onnx_session(path: str):
    """An onnxruntime session on the CPU with torch's number of threads."""
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


class OnnxClassifier(Predictions):
    """An exported model run by onnxruntime: text in, labels out, as `Classifier`."""

    batch_size = 64

    def __init__(self, path: str):
        import onnx

        try:
            meta = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
        except Exception as err:  # protobuf's DecodeError and others: not an ONNX file, or a truncated one
            raise TextclfError(f"{path} is not a readable ONNX model (truncated, or not ONNX?): export it again with "
                               "textclf export CKPT --format onnx") from err
        if METADATA not in meta:
            raise TextclfError(f"{path} is not an ONNX model exported by textclf export: export one with "
                               "textclf export CKPT --format onnx")
        self.archive = Archive.from_dict(upgrade_archive(json.loads(meta[METADATA])))
        self.path = path
        try:
            self.session = onnx_session(path)
        except Exception as err:  # onnxruntime's own errors: a model it cannot run
            raise TextclfError(f"onnxruntime cannot run {path} ({str(err).splitlines()[0][:200]}): export it "
                               "again with textclf export") from err
        self.label_names = list(self.archive.label_names)
        self.task, self.thresholds = self.archive.task, self.archive.thresholds
        self.data_source = self.archive.data_source
        self.text_encoder = text_encoder_of(self.archive.tokenizer_json, self.archive.preprocessing, path)

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        self.check_texts(texts)
        enc = self.text_encoder(texts)
        data = TokenizedSplit(flat=enc.flat, offsets=enc.offsets, pad_id=self.text_encoder.pad_id)
        probs = np.zeros((len(data), len(self.label_names)), dtype=np.float32)
        for indices in BucketBatchSampler(data.lengths, batch_size or self.batch_size, shuffle=False):
            batch = data[indices]
            logits = self.session.run(None, {"input_ids": batch["input_ids"].numpy(),
                                             "lengths": batch["lengths"].numpy()})[0]
            probs[batch["index"].numpy()] = squash(logits, self.multi_label)
        return probs

    def __repr__(self) -> str:
        return f"OnnxClassifier(encoder={self.archive.network.encoder}, labels={self.label_names}, path={self.path})"


def squash(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Logits (N, C) as probabilities: a softmax over the classes, or each label's sigmoid (multi-label)."""
    if multi_label:
        with np.errstate(over="ignore"):  # a very negative logit: exp overflows to inf, the probability is 0
            return 1.0 / (1.0 + np.exp(-logits))
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)
