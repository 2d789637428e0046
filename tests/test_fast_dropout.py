"""textclf/model/speed/fast_dropout.py, the cheap CPU dropout: keep rate, scaling, gradient, eval identity, edge
rates, and torch's own dropout when the switch is off."""

import pytest
import torch
import torch.nn.functional as F

from textclf.model import speed
from textclf.model.speed.fast_dropout import Dropout, keep_mask


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.9])
def test_keep_rate_matches_p_and_masks_differ_per_call(p):
    torch.manual_seed(0)
    a, b = keep_mask(torch.Size([1000, 1001]), p), keep_mask(torch.Size([1000, 1001]), p)
    assert a.dtype == torch.bool and a.shape == (1000, 1001)
    assert abs(a.float().mean().item() - (1 - p)) < 0.003  # sd is ~0.0005 for a million draws
    assert (a != b).float().mean() > 0.1
    # no structure across the four 16-bit parts of one 64-bit draw: every column keeps at the same rate
    quarters = a.reshape(-1)[: 4 * (a.numel() // 4)].view(-1, 4).float().mean(0)
    assert (quarters - (1 - p)).abs().max() < 0.005


def test_training_scales_kept_values_and_gradients_the_same_way():
    torch.manual_seed(0)
    drop = Dropout(0.25).train()
    x = torch.rand(64, 50, 32) + 1.0
    x.requires_grad_(True)
    y = drop(x)
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / 0.75)
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.75)


def test_eval_zero_and_one():
    x = torch.randn(4, 8)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))
    torch.manual_seed(1)
    a = Dropout(0.3).train()(x)
    torch.manual_seed(1)
    assert torch.equal(a, Dropout(0.3).train()(x)), "seeded runs must repeat"


def test_switch_off_is_torchs_dropout():
    x = torch.randn(16, 32)
    with speed.switched(fast_dropout=False):
        torch.manual_seed(2)
        ours = Dropout(0.3).train()(x)
    torch.manual_seed(2)
    torch.testing.assert_close(ours, F.dropout(x, 0.3, True))
