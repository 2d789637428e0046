"""Masked pooling: the head/tail split equals pooling with the whole mask, values and gradients,
with and without autograd."""

import pytest
import torch

from textclf.pooling import MaskedPooling


def plain(kind, states, mask):
    m = mask.unsqueeze(-1)
    if kind == "mean":
        return (states * m).sum(1) / m.sum(1).clamp(min=1)
    return states.masked_fill(~m, float("-inf")).max(1).values


@pytest.mark.parametrize("kind", ["mean", "max"])
@pytest.mark.parametrize("lengths", [[7, 7, 7], [7, 5, 6], [2, 7, 1], [7, 0, 3]], ids=["full", "near", "spread", "empty-row"])
def test_split_pooling_equals_masking_everything(kind, lengths):
    torch.manual_seed(0)
    lengths = torch.tensor(lengths)
    mask = torch.arange(7)[None] < lengths[:, None]
    states = torch.randn(3, 7, 5, requires_grad=True)
    # padding holds large values that must never win a max or enter a mean
    states_padded = torch.where(mask[..., None], states, torch.full_like(states, 100.0))
    ours = MaskedPooling(kind, 5)(states_padded, mask)
    ref = plain(kind, states_padded, mask)
    rows = lengths > 0
    torch.testing.assert_close(ours[rows], ref[rows])
    (g_ours,) = torch.autograd.grad(ours[rows].sum(), states, retain_graph=True)
    (g_ref,) = torch.autograd.grad(ref[rows].sum(), states)
    torch.testing.assert_close(g_ours, g_ref)
    assert (g_ours[~mask] == 0).all()
    with torch.inference_mode():  # without a gradient max takes another kernel (amax): the same values
        torch.testing.assert_close(MaskedPooling(kind, 5)(states_padded.detach(), mask)[rows], ref[rows].detach())
