"""Accuracy and speed of int8 dynamic quantization (`textclf predict --quantize`) on a checkpoint's test split.

    python bench/quantize.py runs/x/best.ckpt [more.ckpt ...]
"""

from __future__ import annotations

import sys
import time
import warnings

warnings.filterwarnings("ignore")

import datasets  # noqa: E402

from textclf.evaluate import evaluate  # noqa: E402
from textclf.predict import load_classifier  # noqa: E402

datasets.disable_progress_bars()


def measure(path: str, quantize: bool) -> tuple[float, float]:
    clf = load_classifier(path, quantize=quantize)
    start = time.perf_counter()
    result = evaluate(clf, clf.model.data_source, "test")
    return result["accuracy"], result["examples"] / (time.perf_counter() - start)


def main() -> None:
    print("| checkpoint | encoder | test acc fp32 | test acc int8 | change (pts) | texts/s fp32 | texts/s int8 |")
    print("|---|---|---|---|---|---|---|")
    for path in sys.argv[1:]:
        encoder = load_classifier(path).model.hparams.encoder
        acc, speed = measure(path, False)
        qacc, qspeed = measure(path, True)
        print(f"| {path} | {encoder} | {acc:.4f} | {qacc:.4f} | {100 * (qacc - acc):+.2f} | {speed:,.0f} | {qspeed:,.0f} |")


if __name__ == "__main__":
    main()
