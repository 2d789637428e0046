"""Checkpoints are archives: weights, the network's config, tokenizer JSON, label names, preprocessing.

They hold tensors and plain Python values only and are read with `torch.load(weights_only=True)`,
so a file with a pickled object in it is refused before anything in it runs. A checkpoint is a
Lightning checkpoint with textclf's archive under CHECKPOINT_KEY; `load_network` rebuilds the plain
network that prediction needs, without importing Lightning. Checkpoints of earlier formats are
upgraded as they are read (`upgrade`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import torch

from textclf.errors import TextclfError
from textclf.files import write_whole
from textclf.model.encoders import encoder_options, foreign_options, resolve_options
from textclf.model.network import PARTS, NetworkConfig, TextNetwork

CHECKPOINT_KEY = "textclf"  # the archive part of a checkpoint
SINGLE, MULTI = "single", "multi"  # an archive's task: one label per text, or several
PRETRAIN = "pretrain"  # the task of a `textclf pretrain` checkpoint: an embedding and encoder, no classifier
# 1: textclf 0.1 before the package layout (network parts at the top of the state dict); 2: the network
# config's `bigrams` was called `bigram_buckets`; 3: now. Every one of them is read, and upgraded as it is.
CHECKPOINT_FORMAT = 3
READABLE_FORMATS = (1, 2, 3)
NETWORK_PREFIX = "network."  # the network's weights in the Lightning module's state dict


@dataclass
class Archive:
    """What prediction needs besides the weights: how to rebuild the network and to see text as training did."""

    network: NetworkConfig
    tokenizer_json: str
    label_names: list[str]
    preprocessing: dict = field(default_factory=dict)  # max_length, truncation: applied to every text
    data_source: dict = field(default_factory=dict)  # where the training data came from, for `evaluate`
    task: str = SINGLE  # single (one label per text: softmax) or multi (several: a sigmoid per label)
    thresholds: list[float] | None = None  # multi: each label's decision threshold, chosen on validation

    def to_dict(self) -> dict:
        out = {"format": CHECKPOINT_FORMAT, "network": asdict(self.network), "tokenizer": self.tokenizer_json,
               "label_names": list(self.label_names), "preprocessing": dict(self.preprocessing),
               "data": dict(self.data_source), "task": self.task}
        if self.thresholds is not None:
            out["thresholds"] = [float(t) for t in self.thresholds]
        return out

    @classmethod
    def from_dict(cls, archive: Mapping) -> Archive:
        thresholds = archive.get("thresholds")
        return cls(NetworkConfig(**archive["network"]), archive["tokenizer"], list(archive["label_names"]),
                   dict(archive.get("preprocessing", {})), dict(archive.get("data", {})), task_of(archive),
                   None if thresholds is None else list(thresholds))


def task_of(archive: Mapping) -> str:
    """An archive's task: `multi` for a multi-label model; checkpoints from before multi-label are `single`."""
    return archive.get("task", SINGLE)


def save_checkpoint(ckpt: dict, path: str) -> None:
    """`torch.save` of a checkpoint dict, whole or not at all."""
    write_whole(path, lambda tmp: torch.save(ckpt, tmp))


def read_checkpoint(path: str, map_location="cpu") -> dict:
    """The checkpoint dict, safely loaded, checked to be a textclf archive, in the current format."""
    if not os.path.exists(path):
        raise TextclfError(f"checkpoint {path} does not exist: give the path of a best.ckpt or last.ckpt from a textclf run")
    if os.path.isdir(path):
        raise TextclfError(f"{path} is a folder: give the checkpoint file inside it, e.g. {os.path.join(path, 'best.ckpt')}")
    if str(path).lower().endswith(".onnx"):
        raise TextclfError(f"{path} is an ONNX model: predict, evaluate and serve take it, but this needs a checkpoint "
                           "(.ckpt) written by textclf train")
    if not zipfile.is_zipfile(path):  # torch.save writes zip archives; anything else is damaged or foreign
        raise TextclfError(f"{path} is not a readable checkpoint (corrupt or truncated?): retrain or copy it again")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise TextclfError(
            f"{path} contains pickled Python objects and was refused (not run); textclf checkpoints hold only "
            "tensors and plain values: use a checkpoint written by textclf"
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise TextclfError(f"{path} is not a readable checkpoint (corrupt or truncated?): retrain or copy it again") from err
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt or "state_dict" not in ckpt:
        raise TextclfError(f"{path} is not a textclf checkpoint (no tokenizer/labels archive): train one with `textclf train`")
    fmt = ckpt[CHECKPOINT_KEY].get("format")
    if fmt not in READABLE_FORMATS:
        raise TextclfError(f"{path} has checkpoint format {fmt}, this textclf reads {', '.join(map(str, READABLE_FORMATS))}: "
                           "upgrade textclf")
    return upgrade(ckpt)


# Hyperparameters of format 1 that are no longer options: speed switches (now textclf.model.speed, chosen at
# run time) and sizes from the data (now in the archive's network config).
RETIRED_OPTIONS = ("packed", "side_by_side", "num_embeddings", "num_classes", "label_names")


def upgrade_model_options(options: Mapping) -> dict:
    """A format-1 model section (a checkpoint's hyperparameters or a run's config.yaml `model:`) as the
    current LitTextClassifier takes it: the retired keys dropped, the options its encoder does not take unset."""
    foreign = foreign_options(options.get("encoder", "gru"))
    return {key: (None if key in foreign else value) for key, value in options.items() if key not in RETIRED_OPTIONS}


def upgrade_archive(archive: Mapping) -> dict:
    """An archive of format 2 or 3 (a checkpoint's, an ensemble member's, an ONNX file's metadata) in the
    current format: the network config's `bigram_buckets` is `bigrams`."""
    archive = dict(archive)
    if archive.get("format") == 2:
        if "network" in archive:
            network = dict(archive["network"])
            network["bigrams"] = network.pop("bigram_buckets", 0)
            archive["network"] = network
        if "members" in archive:
            archive["members"] = [upgrade_archive(member) for member in archive["members"]]
        archive["format"] = CHECKPOINT_FORMAT
    return archive


def upgrade(ckpt: dict) -> dict:
    """A checkpoint of an earlier format rewritten in place to the current format (a current one is returned
    as it is). Format 1: the network config gathered from the flat hyperparameters, options that the
    encoder does not take unset, the network's weights under `network.`; format 2: `upgrade_archive`."""
    archive = ckpt[CHECKPOINT_KEY]
    if archive.get("format") == CHECKPOINT_FORMAT:
        return ckpt
    if archive.get("format") != 1:
        ckpt[CHECKPOINT_KEY] = upgrade_archive(archive)
        return ckpt
    hp = ckpt["hyper_parameters"]
    name = hp["encoder"]
    options = {key: hp[key] for key in encoder_options(name) if hp.get(key) is not None}
    if "max_positions" in encoder_options(name):
        options["max_positions"] = hp.get("max_positions") or 512
    network = NetworkConfig(name, hp["num_embeddings"], hp["num_classes"], hp["embedding_dim"], hp["embedding_dropout"],
                            hp["dropout"], hp.get("head_hidden", 0),
                            encoder_options=resolve_options(name, options))
    preprocessing = archive.get("preprocessing", {})
    ckpt[CHECKPOINT_KEY] = Archive(
        network, archive["tokenizer"], list(archive["label_names"]),
        {k: preprocessing[k] for k in ("max_length", "truncation") if k in preprocessing}, archive.get("data", {}),
    ).to_dict()
    ckpt["hyper_parameters"] = upgrade_model_options(hp)
    ckpt["state_dict"] = {(NETWORK_PREFIX + key if key.split(".", 1)[0] in PARTS else key): value
                          for key, value in ckpt["state_dict"].items()}
    return ckpt


def network_weights(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The network's weights from a Lightning module's state dict (loss weights and the rest left out)."""
    return {k.removeprefix(NETWORK_PREFIX): v for k, v in state_dict.items() if k.startswith(NETWORK_PREFIX)}


@contextlib.contextmanager
def weights_of(path: str):
    """load_state_dict's missing, unexpected or wrongly shaped weights as one line naming the file."""
    try:
        yield
    except RuntimeError as err:
        detail = next((line.strip().rstrip(":.") for line in str(err).splitlines()
                       if any(w in line for w in ("Missing key", "Unexpected key", "size mismatch"))), None)
        if detail is None:
            raise
        raise TextclfError(f"{path} does not hold this model's weights ({detail[:200]}): the file was changed or "
                           "damaged; use a checkpoint as textclf wrote it, or retrain") from err


def load_network(path: str, map_location="cpu") -> tuple[TextNetwork, Archive]:
    """The trained network (in eval mode) and its archive from one file, for prediction (no Lightning import)."""
    return network_from(read_checkpoint(path, map_location), path)


def network_from(ckpt: dict, path: str) -> tuple[TextNetwork, Archive]:
    """The network (in eval mode) and archive of a checkpoint dict read from `path`."""
    if "network" not in ckpt[CHECKPOINT_KEY]:
        kind = ckpt[CHECKPOINT_KEY].get("kind", "unknown")
        raise TextclfError(f"{path} holds a {kind} model, not a network: load it with textclf.load_classifier")
    refuse_pretraining(ckpt, path)
    archive = Archive.from_dict(ckpt[CHECKPOINT_KEY])
    network = TextNetwork(archive.network)
    with weights_of(path):
        network.load_state_dict(network_weights(ckpt["state_dict"]))
    return network.eval(), archive


def refuse_pretraining(ckpt: dict, path: str) -> None:
    """A pretraining checkpoint has no classifier: say what to do with it instead."""
    if task_of(ckpt[CHECKPOINT_KEY]) == PRETRAIN:
        run = os.path.dirname(path) or "."
        raise TextclfError(f"{path} is a pretraining checkpoint (textclf pretrain): it has no classifier; fine-tune one "
                           f"from it with textclf train --model.pretrained {run} --data.path DATASET")
