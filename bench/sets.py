"""The five datasets the default recipe is chosen and measured on, written as local dataset folders.

    python bench/sets.py [--root bench/results/sets] [--shared ../shared/data]

Each folder holds train/validation[/test].parquet with the `ClassLabel` names, so `textclf train
--data.path <root>/<name>` needs no config. Two variants of each set:

- `<root>/select/<name>`: train and validation only. Choosing a setting there cannot touch a test split.
- `<root>/report/<name>`: train, validation and test, for the reported figures.

The carving (seed 0) is fixed, so every run sees the same rows:
- sst2, chnsenticorp: the shared splits as they are.
- trec: validation is 10% of train (the shared set has no validation split); test as shared.
- imdb10k: 10,000 train reviews and a 2,500-review validation set drawn from the other train reviews;
  test is the full 25,000-review test split. Full IMDB (25k train) is too slow to compare settings on
  2 cores.
- ag_news: the shared set is the 7,600-row test split only: 5,600 train, 1,000 validation, 1,000 test.
- `<root>/corpus/imdb10k-unused.parquet`: the 12,500 IMDB training reviews imdb10k uses neither for
  training nor for validation, text only (labels dropped): in-domain unlabelled text for `textclf pretrain`.
- imdb5k (not one of the five; `prepare(..., names=["imdb5k"])`): the IMDB of the committed compare report,
  the first 5,000 of imdb10k's train reviews, 1,000 of its validation and a fixed 5,000 of the test split.
"""

from __future__ import annotations

import argparse
import os

import datasets

datasets.disable_progress_bars()

NAMES = ("sst2", "trec", "chnsenticorp", "imdb10k", "ag_news")
SEED = 0
# imdb10k: the first 10,000 shuffled IMDB training reviews train, the next 2,500 validate, the rest are unused
IMDB10K_TRAIN, IMDB10K_USED = 10_000, 12_500


def imdb_train(shared: str) -> datasets.Dataset:
    """IMDB's 25,000 training reviews in the fixed order every IMDB set is carved from."""
    return datasets.load_dataset(os.path.join(shared, "imdb"))["train"].shuffle(seed=SEED)


def carve(shared: str, name: str) -> datasets.DatasetDict:
    if name in ("sst2", "chnsenticorp"):
        return datasets.load_dataset(os.path.join(shared, name))
    if name == "trec":
        d = datasets.load_dataset(os.path.join(shared, "trec"))
        parts = d["train"].train_test_split(test_size=0.1, seed=SEED)
        return datasets.DatasetDict(train=parts["train"], validation=parts["test"], test=d["test"])
    if name == "imdb10k":
        train, test = imdb_train(shared), datasets.load_dataset(os.path.join(shared, "imdb"))["test"]
        return datasets.DatasetDict(train=train.select(range(IMDB10K_TRAIN)),
                                    validation=train.select(range(IMDB10K_TRAIN, IMDB10K_USED)), test=test)
    if name == "imdb5k":  # the compare report's IMDB: 5 encoders x seeds at 10k would take hours on 2 cores
        train, test = imdb_train(shared), datasets.load_dataset(os.path.join(shared, "imdb"))["test"]
        return datasets.DatasetDict(train=train.select(range(5_000)),
                                    validation=train.select(range(IMDB10K_TRAIN, IMDB10K_TRAIN + 1_000)),
                                    test=test.shuffle(seed=SEED).select(range(5_000)))
    if name == "ag_news":
        rows = datasets.load_dataset(os.path.join(shared, "ag_news"))["test"].shuffle(seed=SEED)
        return datasets.DatasetDict(train=rows.select(range(5_600)), validation=rows.select(range(5_600, 6_600)),
                                    test=rows.select(range(6_600, 7_600)))
    raise ValueError(f"unknown set {name!r}: choose one of {', '.join(NAMES)}")


def unused_imdb(root: str, shared: str = "../shared/data") -> str:
    """Write imdb10k's unused training reviews (text only) as a pretraining corpus; returns its path."""
    path = os.path.join(root, "corpus", "imdb10k-unused.parquet")
    if not os.path.exists(path):
        train = imdb_train(shared)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        train.select(range(IMDB10K_USED, len(train))).select_columns(["text"]).to_parquet(path)
    return path


def prepare(root: str, shared: str = "../shared/data", names=NAMES) -> dict[str, dict[str, str]]:
    """Write the folders that are missing; returns {variant: {name: folder}}."""
    folders: dict[str, dict[str, str]] = {"select": {}, "report": {}}
    for name in names:
        for variant in folders:
            folder = os.path.join(root, variant, name)
            folders[variant][name] = folder
            if os.path.exists(os.path.join(folder, "train.parquet")):
                continue
            d = carve(shared, name)
            os.makedirs(folder, exist_ok=True)
            for split in ("train", "validation", "test"):
                if split == "test" and variant == "select":
                    continue
                d[split].to_parquet(os.path.join(folder, f"{split}.parquet"))
    return folders


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", default="bench/results/sets")
    p.add_argument("--shared", default="../shared/data")
    args = p.parse_args()
    for variant, names in prepare(args.root, args.shared).items():
        for name, folder in names.items():
            print(variant, name, folder)
    print("corpus imdb10k-unused", unused_imdb(args.root, args.shared))
