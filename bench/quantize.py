"""Accuracy of the faster number formats of `textclf predict` on a checkpoint's test split:
int8 dynamic quantization (`--quantize`) and bf16 autocast (`--precision bf16`), against fp32.

    python bench/quantize.py runs/x/best.ckpt [more.ckpt ...]

Speed is measured by bench/throughput.py; the texts/s here include loading the data.
"""

from __future__ import annotations

import sys
import warnings

warnings.filterwarnings("ignore")

import datasets  # noqa: E402

from textclf.serve.evaluate import evaluate  # noqa: E402
from textclf.serve.loading import load_classifier  # noqa: E402

datasets.disable_progress_bars()

FORMATS = {"fp32": {}, "int8": {"quantize": True}, "bf16": {"precision": "bf16"}}


def main() -> None:
    print("| checkpoint | encoder | test acc fp32 | int8 (change, pts) | bf16 (change, pts) |")
    print("|---|---|---|---|---|")
    for path in sys.argv[1:]:
        acc = {}
        for name, options in FORMATS.items():
            clf = load_classifier(path, **options)
            acc[name] = evaluate(clf, clf.archive.data_source, "test")["accuracy"]
        encoder = clf.archive.network.encoder
        cells = [f"{acc[n]:.4f} ({100 * (acc[n] - acc['fp32']):+.2f})" for n in ("int8", "bf16")]
        print(f"| {path} | {encoder} | {acc['fp32']:.4f} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
