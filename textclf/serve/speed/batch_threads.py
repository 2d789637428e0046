"""Prediction batches run in parallel threads on the CPU: one batch per core, each op on one thread.

torch splits every op of a batch across its intra-op threads. The ops of a prediction pass are many
and small (layer norms, activations, the steps of an RNN), and each split costs a fork and a join,
so the threads wait on each other. Running whole batches at once instead, each Python thread with
one intra-op thread, keeps every core busy on its own batch (torch releases the GIL inside its
kernels). Which model paths gain is measured (bench/README.md); `Classifier.batch_threads` holds
the choice.

With few batches this loses: the last batch leaves the other cores idle. So the threads run only
with at least `MIN_BATCHES_PER_THREAD` batches per thread, and callers should hand over the costliest
batches first (predict: the longest).

The threads setting is process-wide: for the call it is 1, then restored. One threaded call runs
at a time in a process (a lock), so calls from several user threads cannot undo each other's setting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
_ONE_AT_A_TIME = threading.Lock()
MIN_BATCHES_PER_THREAD = 4


def run_batches(run: Callable[[T], object], batches: Sequence[T], threads: int) -> None:
    """`run(batch)` for every batch: `threads` at a time, each on one intra-op thread, or (threads 1,
    or under MIN_BATCHES_PER_THREAD batches a thread) one after the other on all of them. `run` must
    not depend on the order of the batches, nor on thread-local state set by the caller (inference
    mode and autocast are per thread: set them inside `run`). An exception in a batch is raised here."""
    if threads <= 1 or len(batches) < MIN_BATCHES_PER_THREAD * threads:
        for batch in batches:
            run(batch)
        return
    with _ONE_AT_A_TIME:
        intra_op = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(threads, thread_name_prefix="textclf-batch") as pool:
                for _ in pool.map(run, batches):  # consumed, so that an error is raised
                    pass
        finally:
            torch.set_num_threads(intra_op)
