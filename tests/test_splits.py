import math

import numpy as np
from conftest import DATA

from textclf.data.prepare import load_splits


def test_stratified_validation_keeps_class_proportions_within_one_point():
    splits, names = load_splits(str(DATA / "trec"), val_fraction=0.1, seed=7)
    train, val = np.asarray(splits["train"]["label"][:]), np.asarray(splits["validation"]["label"][:])
    assert len(val) == math.ceil(0.1 * 5452)  # scikit-learn rounds the held-out share up
    for c in range(len(names)):
        assert abs((train == c).mean() - (val == c).mean()) < 0.01


def test_carving_is_deterministic_per_seed_and_disjoint():
    a, _ = load_splits(str(DATA / "trec"), seed=1)
    b, _ = load_splits(str(DATA / "trec"), seed=1)
    c, _ = load_splits(str(DATA / "trec"), seed=2)
    assert a["validation"]["text"][:] == b["validation"]["text"][:]
    assert a["validation"]["text"][:] != c["validation"]["text"][:]
    assert a["train"].num_rows + a["validation"].num_rows == 5452


def test_test_split_carved_only_when_asked(caplog):
    with caplog.at_level("WARNING"):
        splits, _ = load_splits(str(DATA / "sst2"), files=None)
    assert "test" in splits  # sst2 has its own test split
    splits, _ = load_splits(str(DATA / "trec"), test_fraction=0.0)
    assert splits["test"].num_rows == 500
