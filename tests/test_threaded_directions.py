"""textclf/model/speed/threaded_directions.py: the two directions on two threads give the same outputs and
gradients as the plain path, which runs them in turn."""

import threading

import pytest
import torch

from textclf.model import speed
from textclf.model.encoders import build_encoder
from textclf.model.speed import threaded_directions
from textclf.model.speed.threaded_directions import run_in_two_threads, worth_threading


@pytest.fixture
def two_threads(monkeypatch):
    """Two intra-op threads, and threads even for the tiny training batches here."""
    monkeypatch.setattr(threaded_directions, "MIN_TRAINING_TOKENS", 0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


class Switched:
    """An encoder that runs with the threaded_directions switch set one way."""

    def __init__(self, encoder, threaded: bool):
        self.encoder, self.threaded = encoder, threaded

    def __call__(self, *args):
        with speed.switched(threaded_directions=self.threaded):
            return self.encoder(*args)

    def __getattr__(self, name):
        return getattr(self.encoder, name)


def pair(name, **kw):
    """Two encoders with the same weights: one threaded, one in turn (the plain path)."""
    torch.manual_seed(0)
    a = build_encoder(name, 16, hidden_size=12, num_layers=2, pooling="mean", **kw)
    b = build_encoder(name, 16, hidden_size=12, num_layers=2, pooling="mean", **kw)
    b.load_state_dict(a.state_dict())
    return Switched(a, True), Switched(b, False)


def batch(requires_grad=True):
    torch.manual_seed(1)
    lengths = torch.tensor([9, 4, 7, 1])
    x = torch.randn(4, 9, 16, requires_grad=requires_grad)
    return x, lengths, torch.arange(9)[None] < lengths[:, None]


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_same_outputs_and_gradients_as_in_turn(name, packed, two_threads, monkeypatch):
    a, b = pair(name)
    x, lengths, mask = batch()
    assert worth_threading(x)
    pairs_run = []
    real_run_pair = threaded_directions.run_pair
    monkeypatch.setattr(threaded_directions, "run_pair", lambda *args: pairs_run.append(1) or real_run_pair(*args))
    with speed.switched(packed_rnn=packed):
        out_a = a(x, lengths, mask)
        (out_a**2).sum().backward()
        assert len(pairs_run) == 2  # both layers ran threaded
        grad_x_a, x.grad = x.grad, None
        out_b = b(x, lengths, mask)
        (out_b**2).sum().backward()
    assert len(pairs_run) == 2  # and the plain path did not
    torch.testing.assert_close(out_a, out_b, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(grad_x_a, x.grad, atol=1e-5, rtol=1e-4)
    for (n, p), q in zip(a.encoder.named_parameters(), b.encoder.parameters()):
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
    for (n, p), q in zip(a.encoder.named_parameters(), b.encoder.parameters()):
        if n.startswith("layers.0"):
            assert p.grad is None, n
        else:
            torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=n)


def test_thread_count_restored_and_helper_errors_raised_here(two_threads):
    def fails():
        raise ValueError("from the helper")

    with pytest.raises(ValueError, match="from the helper"):
        run_in_two_threads(lambda: torch.ones(2).sum(), fails)
    assert torch.get_num_threads() == 2
    threads_seen = run_in_two_threads(torch.get_num_threads, torch.get_num_threads)
    assert threads_seen == (1, 1) and torch.get_num_threads() == 2


def test_grad_and_inference_mode_reach_the_helper(two_threads):
    probe = lambda: (torch.is_grad_enabled(), torch.is_inference_mode_enabled())  # noqa: E731
    with torch.inference_mode():
        assert run_in_two_threads(probe, probe) == ((False, True), (False, True))
    with torch.no_grad():
        assert run_in_two_threads(probe, probe) == ((False, False), (False, False))
    assert run_in_two_threads(probe, probe) == ((True, False), (True, False))


def test_one_thread_runs_in_turn():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert not worth_threading(torch.zeros(64, 256, 1))
    finally:
        torch.set_num_threads(before)


def test_autocast_reaches_the_helper(two_threads):
    probe = lambda: (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))  # noqa: E731
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert run_in_two_threads(probe, probe) == ((True, torch.bfloat16), (True, torch.bfloat16))
    assert run_in_two_threads(probe, probe)[1][0] is False


def test_both_functions_run_at_the_same_time(two_threads):
    both_running = threading.Barrier(2, timeout=30)  # broken, and raising, unless the two meet
    assert run_in_two_threads(both_running.wait, both_running.wait) is not None


def test_the_switch_turns_threads_off(two_threads):
    x = torch.zeros(64, 128, 1)
    assert worth_threading(x)
    with speed.switched(threaded_directions=False):
        assert not worth_threading(x)
    assert worth_threading(x)


def test_small_training_batches_run_in_turn_inference_threaded():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        small, large = torch.zeros(64, 16, 1), torch.zeros(64, 128, 1)
        assert not worth_threading(small) and worth_threading(large)
        with torch.no_grad():
            assert worth_threading(small)
    finally:
        torch.set_num_threads(before)
