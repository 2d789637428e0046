"""The metrics a run logs per epoch as `{stage}_acc` and `{stage}_f1` (and, multi-label, `{stage}_micro_f1`).

Single-label: accuracy and macro-F1 (torchmetrics). Multi-label: subset accuracy, macro- and micro-F1 of
the sigmoid probabilities thresholded as textclf.model.multilabel_metrics does it; on validation at the
one threshold that gives the best macro-F1 there (what model selection compares, as the finished model
will be thresholded on validation), on test at the thresholds stored in the archive.
"""

from __future__ import annotations

import numpy as np
import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score
from torchmetrics.utilities import dim_zero_cat

from textclf.model.multilabel_metrics import DEFAULT_THRESHOLD, choose_thresholds, multilabel_scores


class MultiLabelScore(Metric):
    """One of multilabel_scores' values (`key`) over an epoch's probabilities; `thresholds` None chooses one
    global threshold on these data."""

    full_state_update = False

    def __init__(self, key: str, thresholds=None):
        super().__init__()
        self.key, self.thresholds = key, thresholds
        self.add_state("probs", default=[], dist_reduce_fx="cat")
        self.add_state("targets", default=[], dist_reduce_fx="cat")

    def update(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        self.probs.append(torch.sigmoid(logits.float()))
        self.targets.append(targets)

    def compute(self) -> torch.Tensor:
        probs, targets = dim_zero_cat(self.probs).cpu().numpy(), dim_zero_cat(self.targets).cpu().numpy()
        thresholds = choose_thresholds(probs, targets) if self.thresholds is None else self.thresholds
        return torch.tensor(multilabel_scores(probs, targets, thresholds)[self.key], dtype=torch.float32)


def stage_metrics(num_classes: int, multi: bool, thresholds: list[float] | None = None) -> dict[str, MetricCollection]:
    """{stage: its metrics} for train, val and test; `thresholds`: the archive's (multi-label test)."""
    if not multi:
        metrics = MetricCollection({"acc": MulticlassAccuracy(num_classes, average="micro"),
                                    "f1": MulticlassF1Score(num_classes, average="macro")})
        return {stage: metrics.clone(prefix=f"{stage}_") for stage in ("train", "val", "test")}
    fixed = np.full(num_classes, DEFAULT_THRESHOLD)
    chosen = {"train": fixed, "val": None, "test": fixed if thresholds is None else np.asarray(thresholds)}
    return {stage: MetricCollection({key: MultiLabelScore(key, chosen[stage]) for key in ("acc", "f1", "micro_f1")},
                                    prefix=f"{stage}_", compute_groups=False)
            for stage in ("train", "val", "test")}
