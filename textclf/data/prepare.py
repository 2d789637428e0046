"""Source -> {split: Dataset(text, label)} with known label names: the step shared by training and
evaluation, so both see a source the same way."""

from __future__ import annotations

import datasets

from textclf.data.columns import infer_label_names, resolve_columns, to_text_label
from textclf.data.multilabel import is_multi_label, multi_label_names
from textclf.data.sources import load_raw
from textclf.data.splits import complete_splits, drop_empty
from textclf.errors import TextclfError


def load_splits(
    path: str | None = None,
    name: str | None = None,
    revision: str | None = None,
    files: dict[str, str] | None = None,
    text_column: str | list[str] | None = None,
    label_column: str | None = None,
    encoding: str | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.0,
    seed: int | None = 42,
    label_names: list[str] | None = None,
    single_split: str = "train",
    carve: bool = True,
    trust_labels: bool = False,
    multi_label: bool | None = None,
    label_delimiter: str = ",",
) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """Load, reduce to text/label, drop empty texts and (with `carve`) carve missing splits; returns the
    splits and the label names (multi-label data, several labels per text, has lists in its `label`
    column: `is_multi_label_split`).

    Without `label_names` they come from the train split (checked to look like classes unless
    `trust_labels`), and a column of label lists is multi-label unless `multi_label` is false; with them
    (evaluation of a trained model) every label is matched by name and an unknown one is an error, and
    `multi_label` is the model's.
    """
    raw = load_raw(path, name, revision, files, encoding, single_split=single_split)
    where = ", ".join(files.values()) if files else path
    if label_names is None and "train" not in raw:
        raise TextclfError(f"{where} has no train split (it has {', '.join(raw)}): add one or set --data.files.train")
    first = raw["train"] if "train" in raw else next(iter(raw.values()))
    texts, label = resolve_columns(first.column_names, text_column, label_column, where)
    classes = "the model's classes"
    if label_names is None:
        multi = is_multi_label(raw["train"], label, "train", multi_label)
        label_names = (multi_label_names(raw["train"], label, label_delimiter) if multi
                       else infer_label_names(raw["train"], label, trust_labels))
        classes = "the train split's labels"
    else:
        multi = bool(multi_label)
    splits = {}
    for split, ds in raw.items():
        t, lab = resolve_columns(ds.column_names, texts, label, f"the {split} split of {where}")
        reduced = to_text_label(ds, t, lab, label_names, split, classes, multi, label_delimiter)
        splits[split] = drop_empty(reduced, split, where)
    if carve:
        splits = complete_splits(splits, val_fraction, test_fraction, 42 if seed is None else seed)
    return splits, label_names


def is_multi_label_split(ds: datasets.Dataset) -> bool:
    """Whether a split of `load_splits` holds several labels per text (a list of label ids in `label`)."""
    return not isinstance(ds.features["label"], datasets.Value)
