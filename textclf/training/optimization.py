"""The optimiser and learning-rate schedule of a run: AdamW with weight decay on matrices only, linear warmup,
then cosine or linear decay (or constant).

A pretrained encoder's body learns at its own, smaller rate (`pretrained_lr`), optionally smaller again for
each layer further from the head (`layer_decay`, as in ELECTRA and the BERT fine-tuning literature); the
new parts (pooling, head) learn at `lr`. A frozen body is left out of the optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

SCHEDULES = ("cosine", "linear", "constant")


def decays(name: str, p: torch.Tensor) -> bool:
    """Weight decay on matrices only: not on biases, norms, embeddings or position tables."""
    return p.ndim >= 2 and not name.startswith("network.embedding") and "embeddings" not in name and "positions" not in name


def param_groups(module: nn.Module, lr: float, weight_decay: float, pretrained_lr: float | None = None,
                 layer_decay: float = 1.0) -> list[dict]:
    """AdamW's parameter groups of a LitTextClassifier: by learning rate (the pretrained body's, each of its
    layers' under `layer_decay`, the rest's) and by weight decay."""
    encoder = module.network.encoder
    pretrained = getattr(encoder, "brings_embedding", False)
    from_run = getattr(module, "from_run", None)  # a `textclf pretrain` run: its embedding and encoder
    groups: dict[tuple[float, bool], list[torch.Tensor]] = {}
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        rate = lr
        if from_run and name.startswith(("network.embedding.", "network.encoder.")) and not name.startswith(
                ("network.encoder.pool.", "network.encoder.cls")):
            rate = lr if pretrained_lr is None else pretrained_lr
        elif pretrained and name.startswith("network.encoder.body."):
            depth = encoder.layer_depth(name.removeprefix("network.encoder.body."))
            rate = (pretrained_lr or 1e-4) * layer_decay ** (0 if depth is None else max(encoder.num_layers - depth, 0))
        groups.setdefault((rate, decays(name, p)), []).append(p)
    return [{"params": params, "lr": rate, "weight_decay": weight_decay if decay else 0.0}
            for (rate, decay), params in sorted(groups.items(), key=lambda g: (-g[0][0], not g[0][1]))]


def lr_factor(schedule: str, warmup: int, total: int) -> Callable[[int], float]:
    """The learning rate at each step as a share of the peak: linear warmup over `warmup` steps, then the schedule."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return 0.5 * (1 + math.cos(math.pi * progress)) if schedule == "cosine" else 1 - progress

    return factor


def adamw(groups: list[dict], lr: float) -> torch.optim.AdamW:
    """AdamW over parameter groups, fused (one kernel over all tensors; on CPU the default is a Python loop
    per tensor) where every parameter is a float tensor on a device that has it (CPU and CUDA; not MPS)."""
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for g in groups for p in g["params"])
    return torch.optim.AdamW(groups, lr=lr, fused=fused or None)


def optimiser_and_schedule(module, total_steps: int) -> dict:
    """What LightningModule.configure_optimizers returns for the module's options."""
    hp = module.hparams
    groups = param_groups(module, hp.lr, hp.weight_decay, hp.get("pretrained_lr"), hp.get("layer_decay", 1.0))
    optimizer = adamw(groups, hp.lr)
    total = max(int(total_steps), 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(hp.schedule, int(hp.warmup_ratio * total), total))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
