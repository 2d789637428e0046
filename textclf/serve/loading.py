"""`load_classifier(path)`: any file textclf writes, ready to predict.

A checkpoint's archive names its kind (none for a single network); `LOADERS` maps each kind to the
function that builds its classifier, so a new kind is one function and one entry here. A `.onnx` file
from `textclf export` is run by onnxruntime (textclf.serve.onnx_model).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from textclf.errors import TextclfError
from textclf.model.checkpoint import CHECKPOINT_KEY, network_from, read_checkpoint
from textclf.serve.classifier import Classifier
from textclf.serve.ensemble import EnsembleClassifier, member_checkpoints
from textclf.serve.predictions import Predictions


@dataclass(frozen=True)
class LoadOptions:
    """How to run a network (see `load_classifier`); a TF-IDF model takes none but the device."""

    device: str = "cpu"
    quantize: bool = False
    precision: str = "fp32"
    compile: bool = False
    fold: bool = True

    def network_only(self) -> bool:
        """Whether an option that only a neural network has is set."""
        return self.quantize or self.compile or self.precision != "fp32"


def _network(ckpt: dict, path: str, options: LoadOptions) -> Predictions:
    model, archive = network_from(ckpt, path)
    if options.quantize:
        from textclf.serve.quantize import quantize_dynamic

        model = quantize_dynamic(model)
    return Classifier(model, archive, options.device, options.precision, options.compile, options.fold)


def _tfidf(ckpt: dict, path: str, options: LoadOptions) -> Predictions:
    from textclf.serve.tfidf import TfidfClassifier  # scikit-learn: imported only for a TF-IDF model

    if options.network_only():
        raise TextclfError(f"{path} is a TF-IDF baseline: --quantize, --precision and --compile apply to neural "
                           "checkpoints only; drop them")
    return TfidfClassifier(ckpt)


def _ensemble(ckpt: dict, path: str, options: LoadOptions) -> Predictions:
    members = [classifier_from(member, f"{path} (member {i + 1})", options)
               for i, member in enumerate(member_checkpoints(ckpt))]
    archive = ckpt[CHECKPOINT_KEY]
    return EnsembleClassifier(members, archive["label_names"], archive.get("data", {}))


# the archive's `kind` -> its classifier; a single network's archive has no kind
LOADERS: dict[str, Callable[[dict, str, LoadOptions], Predictions]] = {
    "network": _network,
    "tfidf": _tfidf,
    "ensemble": _ensemble,
}


def classifier_from(ckpt: dict, path: str, options: LoadOptions = LoadOptions()) -> Predictions:
    """The classifier of a checkpoint dict read from `path`."""
    kind = ckpt[CHECKPOINT_KEY].get("kind", "network")
    if kind not in LOADERS:
        raise TextclfError(f"{path} holds a model of kind {kind!r}, which this textclf cannot load "
                           f"(it loads {', '.join(LOADERS)}): upgrade textclf")
    return LOADERS[kind](ckpt, path, options)


def load_classifier(path: str, device: str = "cpu", quantize: bool = False, precision: str = "fp32",
                    compile: bool = False, fold: bool = True) -> Predictions:
    """Load a checkpoint for prediction. `quantize`: int8 dynamic quantization of the LSTM/GRU/Linear
    layers (CPU only), smaller and usually faster, at a small accuracy cost. `precision`: fp32 or
    bf16 (autocast). `compile`: torch.compile the Transformer encoder (a one-time cost of tens of
    seconds, then faster). `fold`: on CPU in fp32, run a one-layer RNN/LSTM/GRU with its embedding
    folded into the input weights (textclf.serve.speed.folded_rnn; same results, faster); False keeps torch's
    kernels. The accuracy change and speed of each are in bench/README.md (Performance). A `.onnx` file from
    `textclf export` loads as an OnnxClassifier (onnxruntime)."""
    if quantize and compile:
        raise TextclfError("--quantize and --compile do not combine: choose one")
    onnx = str(path).lower().endswith(".onnx")
    device = resolve_device(device, cpu_only="an ONNX model (onnxruntime)" if onnx else "--quantize" if quantize else None)
    options = LoadOptions(device, quantize, precision, compile, fold)
    if onnx:
        from textclf.serve.onnx_model import OnnxClassifier

        if options.network_only():
            raise TextclfError(f"{path} is an ONNX model (run by onnxruntime on CPU): --quantize, --precision, --compile "
                               "and --device apply to checkpoints only; drop them")
        if not os.path.isfile(path):
            raise TextclfError(f"{path} does not exist")
        return OnnxClassifier(path)
    return classifier_from(read_checkpoint(path), path, options)


DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(device: str, cpu_only: str | None = None) -> str:
    """`auto`: the GPU when there is one (CUDA, then Apple's MPS), else the CPU; the CPU where only it can run
    the model (`cpu_only` names why: an ONNX file, int8 quantization). A device that is not here is a
    one-line error."""
    import torch

    name = str(device).lower()
    kind = name.split(":")[0]
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if kind not in DEVICES:
        raise TextclfError(f"unknown --device {device!r}: choose one of {', '.join(DEVICES)} (or cuda:N)")
    if cpu_only and kind != "cpu":
        if kind == "auto":
            return "cpu"
        raise TextclfError(f"--device {device}: {cpu_only} runs on the CPU only: drop --device (or give cpu)")
    if kind == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    if kind == "cuda" and not torch.cuda.is_available():
        raise TextclfError(f"--device {device}: torch {torch.__version__} sees no CUDA GPU here: use --device cpu "
                           "(or auto), or install a CUDA build of torch")
    if kind == "cuda" and ":" in name and int(name.split(":")[1] or 0) >= torch.cuda.device_count():
        raise TextclfError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                           f"numbered from 0")
    if kind == "mps" and not mps:
        raise TextclfError(f"--device {device}: no Apple MPS device here: use --device cpu (or auto)")
    return name
