"""Dropout whose random mask is cheap on CPU: the dropout layer of every textclf network.

torch's CPU dropout draws one 32-bit Mersenne Twister number per element, single-threaded. Here one
64-bit draw gives four 16-bit uniform numbers, each compared with `p` (to 1/65536), with the same keep
rate and the same 1/(1-p) scaling (figures: bench/README.md). On other devices (fast counter-based
RNGs), or with the `fast_dropout` switch off, torch's own dropout runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from textclf.model.speed.switches import enabled


def keep_mask(shape: torch.Size, p: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """Bool tensor of `shape`, each element True with probability 1 - p (p in 1/65536 steps)."""
    n = shape.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(2**63), 2**63 - 1)
    uniform16 = words.view(torch.int16)[:n].view(shape)  # uniform over [-32768, 32767]
    return uniform16 >= round(p * 65536) - 32768


class Dropout(nn.Dropout):
    """`nn.Dropout` with the cheap CPU mask above; identical in eval mode and off the CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu" or self.p == 1.0 or not enabled("fast_dropout"):
            return F.dropout(x, self.p, True, self.inplace)
        # the scale folded into a float mask: one multiply forward and backward
        return x * keep_mask(x.shape, self.p).to(x.dtype).mul_(1.0 / (1.0 - self.p))
