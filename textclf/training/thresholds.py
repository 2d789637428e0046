"""A finished multi-label run's decision thresholds: chosen on validation (--model.thresholds), written
into the best checkpoint's archive, and the validation and test scores at them (metrics.json)."""

from __future__ import annotations

import logging

import numpy as np
import torch

from textclf.model.checkpoint import CHECKPOINT_KEY, read_checkpoint, save_checkpoint
from textclf.model.multilabel_metrics import choose_thresholds, multilabel_scores

log = logging.getLogger(__name__)


def split_probabilities(model, loader) -> tuple[np.ndarray, np.ndarray]:
    """Sigmoid probabilities and 0/1 targets (N, labels) of every batch of `loader`, in split order."""
    probs, targets, index = [], [], []
    model.eval()
    with torch.inference_mode():
        for batch in loader:
            logits = model(batch["input_ids"].to(model.device), batch["lengths"].to(model.device))
            probs.append(torch.sigmoid(logits.float()).cpu().numpy())
            targets.append(batch["labels"].numpy())
            index.append(batch["index"].numpy())
    order = np.argsort(np.concatenate(index))
    return np.concatenate(probs)[order], np.concatenate(targets)[order]


def settle_thresholds(model, dm, best_path: str, test: bool) -> tuple[dict, dict | None]:
    """Choose the thresholds on validation, store them in `best_path`, and score validation (and test) at them."""
    val_probs, val_targets = split_probabilities(model, dm.val_dataloader())
    thresholds = choose_thresholds(val_probs, val_targets, model.hparams.thresholds)
    ckpt = read_checkpoint(best_path)
    ckpt[CHECKPOINT_KEY]["thresholds"] = thresholds.tolist()
    save_checkpoint(ckpt, best_path)
    model.archive.thresholds = thresholds.tolist()
    if model.hparams.thresholds == "global":
        log.info("decision threshold %.3f (chosen on validation macro-F1; stored in %s)", thresholds[0], best_path)
    else:
        log.info("decision thresholds per label %.3f to %.3f (chosen on validation; stored in %s)", thresholds.min(),
                 thresholds.max(), best_path)
    names = model.archive.label_names
    val = multilabel_scores(val_probs, val_targets, thresholds, names)
    scores = None
    if test and "test" in dm.splits:
        scores = multilabel_scores(*split_probabilities(model, dm.test_dataloader()), thresholds, names)
    return val, scores
