"""Directions side by side (textclf/directions.py): the same outputs and gradients as running them in turn."""

import pytest
import torch

from textclf import directions
from textclf.directions import can_run_side_by_side, run_side_by_side
from textclf.encoders import build_encoder


@pytest.fixture
def two_threads(monkeypatch):
    """Two intra-op threads, and side by side even for the tiny training batches here."""
    monkeypatch.setattr(directions, "MIN_TRAINING_TOKENS", 0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def pair(name, **kw):
    """Two encoders with the same weights: one side by side, one in turn."""
    torch.manual_seed(0)
    a = build_encoder(name, 16, hidden_size=12, num_layers=2, pooling="mean", side_by_side=True, **kw)
    b = build_encoder(name, 16, hidden_size=12, num_layers=2, pooling="mean", side_by_side=False, **kw)
    b.load_state_dict(a.state_dict())
    return a, b


def batch(requires_grad=True):
    torch.manual_seed(1)
    lengths = torch.tensor([9, 4, 7, 1])
    x = torch.randn(4, 9, 16, requires_grad=requires_grad)
    return x, lengths, torch.arange(9)[None] < lengths[:, None]


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_same_outputs_and_gradients_as_in_turn(name, packed, two_threads):
    a, b = pair(name, packed=packed)
    x, lengths, mask = batch()
    assert can_run_side_by_side(x)
    out_a = a(x, lengths, mask)
    (out_a**2).sum().backward()
    grad_x_a, x.grad = x.grad, None
    out_b = b(x, lengths, mask)
    (out_b**2).sum().backward()
    torch.testing.assert_close(out_a, out_b, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(grad_x_a, x.grad, atol=1e-5, rtol=1e-4)
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0, n
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=n)
    for mode in (torch.no_grad, torch.inference_mode):
        with mode():
            torch.testing.assert_close(a(x, lengths, mask), b(x, lengths, mask), atol=1e-5, rtol=1e-4)


def test_frozen_inputs_and_weights_still_train_the_rest(two_threads):
    """Inputs without gradients (frozen embeddings) and a frozen first layer: the others still learn."""
    a, b = pair("gru")
    for enc in (a, b):
        enc.layers[0].requires_grad_(False)
    x, lengths, mask = batch(requires_grad=False)
    for enc in (a, b):
        (enc(x, lengths, mask) ** 2).sum().backward()
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        if n.startswith("layers.0"):
            assert p.grad is None, n
        else:
            torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=n)


def test_thread_count_restored_and_helper_errors_raised_here(two_threads):
    def fails():
        raise ValueError("from the helper")

    with pytest.raises(ValueError, match="from the helper"):
        run_side_by_side(lambda: torch.ones(2).sum(), fails)
    assert torch.get_num_threads() == 2
    threads_seen = run_side_by_side(torch.get_num_threads, torch.get_num_threads)
    assert threads_seen == (1, 1) and torch.get_num_threads() == 2


def test_grad_and_inference_mode_reach_the_helper(two_threads):
    probe = lambda: (torch.is_grad_enabled(), torch.is_inference_mode_enabled())  # noqa: E731
    with torch.inference_mode():
        assert run_side_by_side(probe, probe) == ((False, True), (False, True))
    with torch.no_grad():
        assert run_side_by_side(probe, probe) == ((False, False), (False, False))
    assert run_side_by_side(probe, probe) == ((True, False), (True, False))


def test_one_thread_runs_in_turn():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert not can_run_side_by_side(torch.zeros(64, 256, 1))
    finally:
        torch.set_num_threads(before)


def test_autocast_reaches_the_helper(two_threads):
    probe = lambda: (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))  # noqa: E731
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert run_side_by_side(probe, probe) == ((True, torch.bfloat16), (True, torch.bfloat16))
    assert run_side_by_side(probe, probe)[1][0] is False


def test_small_training_batches_run_in_turn_inference_side_by_side():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        small, large = torch.zeros(64, 16, 1), torch.zeros(64, 128, 1)
        assert not can_run_side_by_side(small) and can_run_side_by_side(large)
        with torch.no_grad():
            assert can_run_side_by_side(small)
    finally:
        torch.set_num_threads(before)
