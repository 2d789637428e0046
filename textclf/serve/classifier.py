"""Prediction from a checkpoint alone: `load_classifier(path).predict(texts)`.

Texts are encoded exactly as in training (the tokenizer and preprocessing come from the checkpoint),
batched in length order under `torch.inference_mode()`, and returned in input order. On CPU a
one-layer RNN/LSTM/GRU runs folded with its embedding (textclf.serve.speed.folded_rnn), the same model
faster, and batches run in parallel threads, one per core (textclf.serve.speed.batch_threads), where that
was measured faster. The model is the plain network: prediction does not import Lightning.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

import numpy as np
import torch

from textclf.data.batching import BucketBatchSampler, TokenizedSplit
from textclf.data.encoding import text_encoder_of
from textclf.errors import TextclfError, check_at_least
from textclf.model.checkpoint import Archive
from textclf.model.encoders import ENCODERS
from textclf.model.network import TextNetwork
from textclf.serve.predictions import Predictions
from textclf.serve.speed.batch_threads import run_batches
from textclf.serve.speed.folded_rnn import FoldedRNN, can_fold

# Texts per forward pass of the model, unless its encoder names its own (`predict_batch_size`: the
# Transformer) or it runs folded (textclf.serve.speed.folded_rnn): the fastest measured on CPU
# (bench/README.md); small batches stay in cache.
BATCH_SIZE = 64

# Number formats for the forward pass: fp32, or bf16 autocast (matrix products in bfloat16, fast on CPUs
# with AMX or AVX512-BF16 and on recent GPUs, slow on CPUs without them).
PRECISIONS = ("fp32", "bf16")


class Classifier(Predictions):
    """A trained network with its archive (tokenizer, labels, preprocessing): text in, labels out.

    `batch_size` (texts per forward pass) and `batch_threads` (batches run at once,
    textclf.serve.speed.batch_threads; 1: in turn on all intra-op threads) hold the fastest measured for
    this model's path and may be set."""

    def __init__(self, model: TextNetwork, archive: Archive, device: str | torch.device = "cpu",
                 precision: str = "fp32", compile: bool = False, fold: bool = True):
        if precision not in PRECISIONS:
            raise TextclfError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
        self.precision = precision
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.archive = archive
        # what predict_proba runs: the model, or on CPU in fp32 a one-layer RNN/LSTM/GRU with its embedding
        # folded in; its default batch size; and how many batches run at once: on CPU one per intra-op
        # thread, except where that was measured slower (folded GRU and RNN) or is unsafe (a compiled
        # encoder: torch.compile's first call compiles, not to be raced by a second thread)
        self.forward, threaded = self.model, not compile
        self.batch_size = getattr(self.model.encoder, "predict_batch_size", BATCH_SIZE)
        if compile:
            self.model.encoder = compile_encoder(self.model.encoder, self.device)
        if fold and self.device.type == "cpu" and precision == "fp32" and can_fold(self.model):
            self.forward = FoldedRNN(self.model).eval()
            self.batch_size, threaded = self.forward.batch_size, self.forward.batch_threaded
        self.batch_threads = torch.get_num_threads() if threaded and self.device.type == "cpu" else 1
        self.label_names: list[str] = list(archive.label_names)
        self.task, self.thresholds = archive.task, archive.thresholds
        self.text_encoder = text_encoder_of(archive.tokenizer_json, archive.preprocessing)
        self.tokenizer, self.max_length = self.text_encoder.tokenizer, self.text_encoder.max_length

    def encode(self, texts: Sequence[str]) -> TokenizedSplit:
        """Token ids of `texts`, as training saw them; an empty text is an error naming its position."""
        self.check_texts(texts)
        enc = self.text_encoder(texts)
        return TokenizedSplit(flat=enc.flat, offsets=enc.offsets, pad_id=self.text_encoder.pad_id)

    def predict_proba(self, texts: Sequence[str] | TokenizedSplit, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities (N, C) (multi-label: each label's sigmoid), rows in input order. `batch_size`: texts
        per forward pass, by default the fastest measured for this model's path (`self.batch_size`);
        `self.batch_threads` of them at once."""
        squash = torch.sigmoid if self.multi_label else lambda logits: torch.softmax(logits, dim=-1)
        return self._batched(texts, batch_size, len(self.label_names),
                             lambda ids, lengths: squash(self.forward(ids, lengths).float()))

    def embed(self, texts: Sequence[str] | TokenizedSplit, batch_size: int | None = None) -> np.ndarray:
        """The pooled vectors (N, D) the head sees (D: `self.embedding_dim`), rows in input order, batched
        and on the same path (folded RNN, threads, precision) as `predict_proba`."""
        return self._batched(texts, batch_size, self.embedding_dim,
                             lambda ids, lengths: self.forward.pooled(ids, lengths).float())

    @property
    def embedding_dim(self) -> int:
        """Size of the pooled vector: the encoder's output."""
        return self.model.encoder.output_dim

    def _batched(self, texts: Sequence[str] | TokenizedSplit, batch_size: int | None, width: int, step) -> np.ndarray:
        """`step(input_ids, lengths) -> (B, width)` over length-sorted batches, rows back in input order."""
        check_at_least("batch_size", batch_size, 1)
        data = texts if isinstance(texts, TokenizedSplit) else self.encode(texts)
        out = np.zeros((len(data), width), dtype=np.float32)

        def run(indices):  # inference mode and autocast are per thread: set here, in the batch's own thread
            batch = data[indices]
            with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16,
                                                        enabled=self.precision == "bf16"):
                rows = step(batch["input_ids"].to(self.device), batch["lengths"].to(self.device))
                out[batch["index"].numpy()] = rows.cpu().numpy()

        # longest first, so that the parallel threads finish together
        batches = list(BucketBatchSampler(data.lengths, batch_size or self.batch_size, shuffle=False))[::-1]
        run_batches(run, batches, self.batch_threads)
        return out

    def __repr__(self) -> str:
        path = "folded RNN" if isinstance(self.forward, FoldedRNN) else "plain"
        return (f"Classifier(encoder={self.model.config.encoder}, labels={self.label_names}, "
                f"parameters={self.model.parameter_counts()['total']:,}, device={self.device}, path={path})")

    @property
    def data_source(self) -> dict:
        """Where the training data came from (for `evaluate`)."""
        return self.archive.data_source


def compile_encoder(encoder: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """`torch.compile` of an encoder that gains from it (`compilable`: the Transformer, whose norms,
    activations and residual adds are fused around the matrix products). Shapes are dynamic, so the
    one compilation serves every batch; it takes tens of seconds, worth it for large inputs only."""
    if not getattr(encoder, "compilable", False):
        names = [name for name, cls in ENCODERS.items() if getattr(cls, "compilable", False)]
        raise TextclfError(f"--compile applies to the {', '.join(names)} encoder only; this model's "
                           f"{type(encoder).__name__} already runs fused kernels: drop --compile")
    compilers = [c for c in (os.environ.get("CXX"), "g++", "clang++", "c++") if c]
    if device.type == "cpu" and not any(shutil.which(c) for c in compilers):
        raise TextclfError("--compile on CPU needs a C++ compiler (g++ or clang++) on PATH: install one or drop --compile")
    return torch.compile(encoder, dynamic=True)
