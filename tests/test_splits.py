import math
from collections import Counter

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


def _train_only_csv(tmp_path):
    """TREC's train split alone, as a user's CSV with string labels: a source without validation or test."""
    import csv

    splits, names = load_splits(str(DATA / "trec"), carve=False)
    path = tmp_path / "train.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for text, label in zip(splits["train"]["text"][:], splits["train"]["label"][:]):
            w.writerow([text, names[label]])
    return str(path)


def test_test_split_carved_only_when_asked(tmp_path, caplog):
    path = _train_only_csv(tmp_path)
    with caplog.at_level("INFO"):
        splits, _ = load_splits(path, test_fraction=0.0)
    assert set(splits) == {"train", "validation"}
    assert "no test split and --data.test_fraction is 0: test metrics will be absent" in caplog.text

    splits, _ = load_splits(path, test_fraction=0.2, val_fraction=0.1, seed=3)
    assert set(splits) == {"train", "validation", "test"}
    sizes = {k: v.num_rows for k, v in splits.items()}
    assert sum(sizes.values()) == 5452 and sizes["test"] == math.ceil(0.2 * 5452)
    # a partition: every row in exactly one split (TREC repeats some questions, so rows are counted, not texts)
    rows = Counter(zip(*(load_splits(path, carve=False)[0]["train"][c][:] for c in ("text", "label"))))
    carved = sum((Counter(zip(v["text"][:], v["label"][:])) for v in splits.values()), Counter())
    assert carved == rows


def test_a_source_with_its_own_splits_is_not_carved():
    splits, _ = load_splits(str(DATA / "sst2"), test_fraction=0.2)
    assert {k: v.num_rows for k, v in splits.items()} == {"train": 6920, "validation": 872, "test": 1821}


def test_the_carving_log_says_stratified_only_when_it_was(tmp_path, caplog):
    f = tmp_path / "one_of_a_kind.csv"
    f.write_text("text,label\n" + "".join(f"text {i},{'rare' if i == 0 else ['a', 'b'][i % 2]}\n" for i in range(40)))
    with caplog.at_level("INFO", logger="textclf.data.splits"):
        load_splits(str(f))
    carved = [r.getMessage() for r in caplog.records if r.getMessage().startswith("carved")]
    assert carved and all("not stratified" in line for line in carved), carved
    assert "carved without stratification" in caplog.text
