"""Masked mean and max pooling for CPU tensors, equal to textclf.model.pooling's plain ones.

Length-bucketed batches are nearly all real tokens. The positions before the shortest text's end
need no mask, so only the short tail after it is masked, instead of copying the whole (B, T, D)
tensor. The prefix length is read from the mask, which costs nothing on the CPU (on a GPU it would
wait for the device, so the plain pooling runs there).

Max pooling: with a gradient, `max(1).values`, whose backward scatters to the argmax instead of
comparing every element; without one, `amax`, which finds no indices. Figures: bench/README.md.
"""

from __future__ import annotations

import torch


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D), (B, T) -> (B, D), as textclf.model.pooling.masked_mean."""
    m = mask.unsqueeze(-1)
    full = int(mask.sum(1).min())
    head, tail = states[:, :full], states[:, full:]
    return (head.sum(1) + tail.mul(m[:, full:]).sum(1)) / m.sum(1).clamp(min=1)


def masked_max(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, T, D), (B, T) -> (B, D), as textclf.model.pooling.masked_max."""
    full = int(mask.sum(1).min())
    top = _max_values if states.requires_grad else _amax
    tail = states[:, full:].masked_fill(~mask[:, full:].unsqueeze(-1), float("-inf"))
    if full == 0:
        return top(tail)
    if tail.shape[1] == 0:
        return top(states)
    return torch.maximum(top(states[:, :full]), top(tail))


def _max_values(states: torch.Tensor) -> torch.Tensor:
    return states.max(1).values


def _amax(states: torch.Tensor) -> torch.Tensor:
    return states.amax(1)
