"""Data pipeline figures: padding share with length bucketing vs plain shuffled batches, and
tokenization throughput of the whole train split, first run vs cached run.

    python bench/data_pipeline.py [--data ../shared/data/imdb] [--max_length 400] [--batch_size 64]

The first run uses a fresh datasets cache (a temporary HF_DATASETS_CACHE), so it really tokenizes;
the second run in a new process finds the encoded split in that cache.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time, warnings, logging
warnings.filterwarnings("ignore"); logging.disable(logging.WARNING)
import datasets; datasets.disable_progress_bars()
import numpy as np
from textclf.data.datamodule import TextDataModule
from textclf.data.batching import BucketBatchSampler, padding_share
path, max_length, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
dm = TextDataModule(path, max_length=max_length, batch_size=batch_size, seed=0)
t0 = time.perf_counter(); dm.setup("fit"); seconds = time.perf_counter() - t0
lengths = dm.splits["train"].lengths
n = len(dm.texts["train"])
shares = {"bucketed": [], "plain": []}
for epoch in range(3):
    s = BucketBatchSampler(lengths, batch_size, seed=0); s.set_epoch(epoch)
    shares["bucketed"].append(padding_share(lengths, list(s)))
    perm = np.random.default_rng(epoch).permutation(len(lengths))
    shares["plain"].append(padding_share(lengths, [perm[i:i + batch_size] for i in range(0, len(perm), batch_size)]))
print(json.dumps({"texts": n, "setup_seconds": seconds, "texts_per_second": n / seconds, "padding": shares}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/imdb")
    p.add_argument("--max_length", type=int, default=400)
    p.add_argument("--batch_size", type=int, default=64)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "HF_DATASETS_CACHE": cache, "PYTHONWARNINGS": "ignore"}
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", CHILD, args.data, str(args.max_length), str(args.batch_size)],
                                 env=env, capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, cached = runs
    pad = first["padding"]
    print(f"{args.data}: train {first['texts']:,} texts, max_length {args.max_length}, batch {args.batch_size}\n")
    print("| | epoch 1 | epoch 2 | epoch 3 |\n|---|---|---|---|")
    for kind in ("bucketed", "plain"):
        print(f"| padding share, {kind} | " + " | ".join(f"{100 * x:.1f}%" for x in pad[kind]) + " |")
    print("\n| data step (load, split, train tokenizer, tokenize) | seconds | texts/s |\n|---|---|---|")
    print(f"| first run (empty cache) | {first['setup_seconds']:.1f} | {first['texts_per_second']:,.0f} |")
    print(f"| second run (cached) | {cached['setup_seconds']:.1f} | {cached['texts_per_second']:,.0f} |")


if __name__ == "__main__":
    main()
