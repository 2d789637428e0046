"""The two directions of a bidirectional RNN layer, run at the same time on two CPU threads.

The directions of a layer do not depend on each other, but torch's CPU kernels (bidirectional or
not) run them one after the other, each step a small matrix product that two threads barely speed
up. Here each direction gets its own Python thread with half of torch's intra-op threads (torch
releases the GIL inside its kernels), for the forward and, through `TwoThreads`, the backward pass.

Used only where it helps and cannot change the meaning (`worth_threading`): the
`threaded_directions` switch on, CPU tensors, at least 2 intra-op threads, and when training,
batches of at least `MIN_TRAINING_TOKENS` slots (below that the second graph's fixed cost wins).
Grad mode, inference mode and CPU autocast, all per thread, are carried into the helper thread.
Figures: bench/README.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch
from torch import nn

from textclf.model.speed.switches import enabled

Run = Callable[[torch.Tensor], torch.Tensor]

MIN_TRAINING_TOKENS = 8192  # batch x time slots of a training batch; inference gains at any size


def worth_threading(x: torch.Tensor) -> bool:
    """Whether the (B, T, D) input `x` of a layer is worth splitting across threads, see above."""
    if not enabled("threaded_directions") or x.device.type != "cpu" or torch.get_num_threads() < 2:
        return False
    return not torch.is_grad_enabled() or x.shape[0] * x.shape[1] >= MIN_TRAINING_TOKENS


def run_in_two_threads(first: Callable[[], object], second: Callable[[], object]) -> tuple[object, object]:
    """`first()` in this thread and `second()` in a helper thread, each with half the intra-op threads."""
    threads = torch.get_num_threads()
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()
    autocast = torch.is_autocast_enabled("cpu")
    autocast_dtype = torch.get_autocast_dtype("cpu")
    result: dict[str, object] = {}

    def helper():
        try:
            torch.set_num_threads(max(1, threads // 2))
            with torch.inference_mode(inference), torch.set_grad_enabled(grad), \
                    torch.autocast("cpu", dtype=autocast_dtype, enabled=autocast):
                result["value"] = second()
        except BaseException as err:  # re-raised in the calling thread
            result["error"] = err

    torch.set_num_threads(max(1, threads // 2))
    try:
        thread = threading.Thread(target=helper, name="textclf-direction", daemon=True)
        thread.start()
        first_value = first()
        thread.join()
    finally:
        torch.set_num_threads(threads)
    if "error" in result:
        raise result["error"]
    return first_value, result["value"]


class TwoThreads(torch.autograd.Function):
    """Forward and backward of two independent RNN runs, each pair at the same time.

    The forward records each run's own graph (in its thread); the backward differentiates both graphs
    at once with `torch.autograd.grad` and hands the engine the gradients of the inputs and weights.
    """

    @staticmethod
    def forward(ctx, run_a: Run, run_b: Run, n_a: int, x_a: torch.Tensor, x_b: torch.Tensor, *weights: torch.Tensor):
        with torch.enable_grad():
            x_a_, x_b_ = x_a.detach().requires_grad_(), x_b.detach().requires_grad_()
            out_a, out_b = run_in_two_threads(lambda: run_a(x_a_), lambda: run_b(x_b_))
        ctx.graph = (x_a_, x_b_, out_a, out_b, weights[:n_a], weights[n_a:])
        return out_a.detach(), out_b.detach()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_a: torch.Tensor, grad_b: torch.Tensor):
        x_a_, x_b_, out_a, out_b, w_a, w_b = ctx.graph
        del ctx.graph  # the recorded graphs go with it
        g_a, g_b = run_in_two_threads(
            lambda: torch.autograd.grad(out_a, (x_a_, *w_a), grad_a, allow_unused=True),
            lambda: torch.autograd.grad(out_b, (x_b_, *w_b), grad_b, allow_unused=True),
        )
        return None, None, None, g_a[0], g_b[0], *g_a[1:], *g_b[1:]


def run_pair(rnn_a: nn.Module, rnn_b: nn.Module, run: Callable[[nn.Module, torch.Tensor], torch.Tensor],
                   x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`run(rnn_a, x_a)` and `run(rnn_b, x_b)` on two threads; with gradients when autograd records."""
    w_a = [p for p in rnn_a.parameters() if p.requires_grad]
    w_b = [p for p in rnn_b.parameters() if p.requires_grad]
    if not torch.is_grad_enabled() or not (w_a or w_b or x_a.requires_grad or x_b.requires_grad):
        return run_in_two_threads(lambda: run(rnn_a, x_a), lambda: run(rnn_b, x_b))
    return TwoThreads.apply(lambda x: run(rnn_a, x), lambda x: run(rnn_b, x), len(w_a), x_a, x_b, *w_a, *w_b)
