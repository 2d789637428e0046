"""textclf/model/speed/fast_pooling.py: masking only the tail equals the plain pooling of textclf.model.pooling,
values and gradients, with and without autograd, and through MaskedPooling with the switch either way."""

import pytest
import torch

from textclf.model import pooling, speed
from textclf.model.pooling import MaskedPooling
from textclf.model.speed import fast_pooling


def plain(kind, states, mask):
    return (pooling.masked_mean if kind == "mean" else pooling.masked_max)(states, mask)


def fast(kind, states, mask):
    return (fast_pooling.masked_mean if kind == "mean" else fast_pooling.masked_max)(states, mask)


@pytest.mark.parametrize("kind", ["mean", "max"])
@pytest.mark.parametrize("lengths", [[7, 7, 7], [7, 5, 6], [2, 7, 1], [7, 0, 3]], ids=["full", "near", "spread", "empty-row"])
def test_split_pooling_equals_masking_everything(kind, lengths):
    torch.manual_seed(0)
    lengths = torch.tensor(lengths)
    mask = torch.arange(7)[None] < lengths[:, None]
    states = torch.randn(3, 7, 5, requires_grad=True)
    # padding holds large values that must never win a max or enter a mean
    states_padded = torch.where(mask[..., None], states, torch.full_like(states, 100.0))
    ours = fast(kind, states_padded, mask)
    ref = plain(kind, states_padded, mask)
    rows = lengths > 0
    torch.testing.assert_close(ours[rows], ref[rows])
    (g_ours,) = torch.autograd.grad(ours[rows].sum(), states, retain_graph=True)
    (g_ref,) = torch.autograd.grad(ref[rows].sum(), states)
    torch.testing.assert_close(g_ours, g_ref)
    assert (g_ours[~mask] == 0).all()
    with torch.inference_mode():  # without a gradient max takes another kernel (amax): the same values
        torch.testing.assert_close(fast(kind, states_padded.detach(), mask)[rows], ref[rows].detach())
    for on in (True, False):  # the layer takes the fast path only with the switch on: the same values
        with speed.switched(fast_pooling=on):
            torch.testing.assert_close(MaskedPooling(kind, 5)(states_padded, mask)[rows], ref[rows])


def test_plain_pooling_ignores_padding():
    states = torch.tensor([[[1.0], [3.0], [50.0]]])
    mask = torch.tensor([[True, True, False]])
    assert pooling.masked_mean(states, mask).item() == 2.0
    assert pooling.masked_max(states, mask).item() == 3.0
