"""Several checkpoints as one: `textclf ensemble A.ckpt B.ckpt ... --output E.ckpt` writes one checkpoint
whose `predict` averages the members' class probabilities (e.g. the seeds of one config).

The members are stored whole (each with its own tokenizer, preprocessing and weights), so they may
differ in encoder or tokenizer; they must share their label names, in the same order. Loading builds
each member through the loader table (textclf.serve.loading) and hands them to `EnsembleClassifier`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from textclf.errors import TextclfError
from textclf.files import check_output
from textclf.model.checkpoint import CHECKPOINT_FORMAT, read_checkpoint, save_checkpoint, task_of
from textclf.serve.predictions import Predictions

KIND = "ensemble"


def make_ensemble(paths: Sequence[str], output: str, overwrite: bool = False) -> dict:
    """Write the ensemble of the checkpoints `paths` to `output`; returns its archive."""
    if len(paths) < 2:
        raise TextclfError("an ensemble needs at least two checkpoints")
    check_output(output, overwrite, inputs=paths)
    members = [read_checkpoint(p) for p in paths]
    labels = list(members[0]["textclf"]["label_names"])
    for path, member in zip(paths, members):
        if member["textclf"].get("kind") == KIND:
            raise TextclfError(f"{path} is an ensemble already: give its members instead")
        if list(member["textclf"]["label_names"]) != labels:
            raise TextclfError(f"{path} has the labels {member['textclf']['label_names']} but {paths[0]} has {labels}: "
                               "ensemble members must be trained on the same labels")
        if task_of(member["textclf"]) != task_of(members[0]["textclf"]):
            raise TextclfError(f"{path} is a {task_of(member['textclf'])}-label model but {paths[0]} is "
                               f"{task_of(members[0]['textclf'])}-label: ensemble members must share their task")
    archive = {"format": CHECKPOINT_FORMAT, "kind": KIND, "label_names": labels,
               "data": dict(members[0]["textclf"].get("data", {})), "members": [m["textclf"] for m in members],
               "sources": [os.path.abspath(p) for p in paths]}
    state = {f"{i}.{key}": value for i, m in enumerate(members) for key, value in m["state_dict"].items()}
    save_checkpoint({"textclf": archive, "state_dict": state}, output)  # an earlier file stays whole on failure
    return archive


def member_checkpoints(ckpt: dict) -> list[dict]:
    """The members of an ensemble checkpoint dict, each a checkpoint dict of its own."""
    members = []
    for i, member in enumerate(ckpt["textclf"]["members"]):
        prefix = f"{i}."
        weights = {k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
        members.append({"textclf": member, "state_dict": weights})
    return members


class EnsembleClassifier(Predictions):
    """The members' classifiers; `predict_proba` is the mean of theirs. A multi-label ensemble decides each
    label at the mean of the members' thresholds (each chosen on the same validation split)."""

    def __init__(self, members: Sequence[Predictions], label_names: list[str], data_source: dict):
        self.members = list(members)
        self.label_names = list(label_names)
        self.data_source = dict(data_source)
        self.task = self.members[0].task
        if self.multi_label:
            self.thresholds = np.mean([m.decision_thresholds() for m in self.members], axis=0).tolist()

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """The mean of the members' class probabilities (N, C), rows in input order."""
        return np.mean([m.predict_proba(texts, batch_size) for m in self.members], axis=0)

    def __repr__(self) -> str:
        return f"EnsembleClassifier({len(self.members)} members, labels={self.label_names})"
