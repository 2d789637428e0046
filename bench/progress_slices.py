"""Does following prediction with a progress bar cost speed? `textclf predict`, `embed` and `evaluate`
predict a file in slices of SLICE texts (textclf.serve.predictions) so that a bar can move; this times
one call over all the texts against the same texts in slices, alternating, on ag_news's 7,600 test
texts, for a GRU and a Transformer trained for a few steps on TREC here (speed does not depend on how
well they were trained).

    python bench/progress_slices.py        (about 2 minutes on 2 cores; run it with nothing else running)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from textclf import load_classifier  # noqa: E402
from textclf.serve.predictions import SLICE, in_slices  # noqa: E402
from textclf.training.run import train  # noqa: E402

DATA = os.path.join(ROOT, "..", "shared", "data", "ag_news")


def main() -> None:
    import datasets

    texts = datasets.load_dataset(DATA, split="test")["text"]
    print(f"{len(texts):,} ag_news test texts, slices of {SLICE}; texts/s, best of 3 alternations")
    print("| encoder | one call | in slices | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for encoder in ("gru", "transformer"):
            run_dir = os.path.join(tmp, encoder)
            train(["--data.path", os.path.join(ROOT, "data", "trec"), "--model.encoder", encoder, "--run_dir", run_dir,
                   "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "20", "--trainer.enable_progress_bar",
                   "false"])
            clf = load_classifier(os.path.join(run_dir, "best.ckpt"))
            clf.predict_proba(texts[:512])  # warm-up
            whole, sliced = [], []
            for _ in range(3):
                t0 = time.perf_counter()
                a = clf.predict_proba(texts)
                whole.append(len(texts) / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                b = in_slices(clf.predict_proba, texts, lambda n: None)
                sliced.append(len(texts) / (time.perf_counter() - t0))
                np.testing.assert_allclose(a, b, atol=1e-5)  # the same answers either way
            print(f"| {encoder} | {max(whole):,.0f} | {max(sliced):,.0f} | {max(sliced) / max(whole):.2f}x |")


if __name__ == "__main__":
    main()
