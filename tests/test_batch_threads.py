"""textclf/serve/speed/batch_threads.py: prediction batches in parallel threads give what batches in turn give."""

import threading

import numpy as np
import pytest
import torch

from textclf import load_classifier
from textclf.serve.speed.batch_threads import MIN_BATCHES_PER_THREAD, run_batches


def test_batches_run_two_at_a_time_on_one_intra_op_thread_each_and_the_setting_is_restored():
    threads_before = torch.get_num_threads()
    seen = {}
    two_at_once = threading.Barrier(2, timeout=30)  # broken, and raising, unless two batches run at once

    def run(batch):
        two_at_once.wait()
        seen[batch] = (threading.get_ident(), torch.get_num_threads())

    run_batches(run, list(range(8)), threads=2)
    assert sorted(seen) == list(range(8))
    assert len({ident for ident, _ in seen.values()}) == 2
    assert {n for _, n in seen.values()} == {1}
    assert torch.get_num_threads() == threads_before


@pytest.mark.parametrize("threads, batches", [(1, 9), (2, 2 * MIN_BATCHES_PER_THREAD - 1)])
def test_one_thread_or_few_batches_run_in_the_calling_thread_with_all_threads(threads, batches):
    seen = []
    run_batches(lambda b: seen.append((b, threading.get_ident(), torch.get_num_threads())), list(range(batches)),
                threads=threads)
    assert seen == [(b, threading.get_ident(), torch.get_num_threads()) for b in range(batches)]


def test_an_error_in_a_batch_is_raised_and_the_setting_restored():
    threads_before = torch.get_num_threads()

    def run(batch):
        if batch == 5:
            raise ValueError("batch 5 failed")

    with pytest.raises(ValueError, match="batch 5 failed"):
        run_batches(run, list(range(8)), threads=2)
    assert torch.get_num_threads() == threads_before


@pytest.mark.parametrize("fold", [True, False])
def test_threaded_predictions_equal_batches_in_turn(trained_run, fold):
    ckpt = str(trained_run[0] / "best.ckpt")  # a one-layer BiGRU
    texts = ["an utterly charming , hilarious film .", "dull", "the plot is a mess and the acting wooden .",
             "not bad at all", "a film that never quite finds its feet , but the cast is wonderful"] * 9
    clf = load_classifier(ckpt, fold=fold)
    clf.batch_threads = 1
    in_turn = clf.predict_proba(texts, batch_size=4)
    clf.batch_threads = 2
    threaded = clf.predict_proba(texts, batch_size=4)  # 12 batches over 2 threads
    np.testing.assert_allclose(threaded, in_turn, atol=1e-6)
    assert not torch.is_inference_mode_enabled()  # inference mode stayed inside the threads
