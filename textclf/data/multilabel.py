"""Several labels per text: which label columns are multi-label, and each example's labels as names.

A column of lists (Hugging Face `Sequence(ClassLabel)`, JSON arrays, Parquet lists) is multi-label with
no flag; a column of delimited names (`joy,surprise` in a CSV) is when `--data.multi_label true` asks;
a fastText line with several `__label__` tags arrives here as a list (textclf.data.sources). An empty
list is an example with none of the labels, which multi-label data may have; a missing value is not.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets

from textclf.errors import TextclfError


def is_list_feature(feature) -> bool:
    return isinstance(feature, (list, tuple)) or type(feature).__name__ in ("List", "LargeList", "Sequence")


def _inner(feature):
    return feature[0] if isinstance(feature, (list, tuple)) else feature.feature


def is_multi_label(ds: datasets.Dataset, label: str, split: str, multi_label: bool | None) -> bool:
    """Whether `label` of `ds` gives several labels per text: lists always are (and are an error when
    `multi_label` is false); delimited strings are when `multi_label` is true."""
    lists = is_list_feature(ds.features[label])
    if lists and multi_label is False:
        raise TextclfError(f"label column {label!r} of the {split} split holds a list of labels per text, but "
                           "--data.multi_label is false: drop it (lists are multi-label), or choose a column of "
                           "single labels with --data.label_column")
    return lists or bool(multi_label)


def _name(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def label_lists(ds: datasets.Dataset, label: str, split: str, delimiter: str = ",") -> list[list[str] | None]:
    """Every example's labels as names: list items (ClassLabel ids as their names), or a string cut at
    `delimiter`; None where the value is missing."""
    feature = ds.features[label]
    out: list[list[str] | None] = []
    if is_list_feature(feature):
        inner = _inner(feature)
        names = inner.int2str if isinstance(inner, datasets.ClassLabel) else _name
        for value in ds[label][:]:
            out.append(None if value is None else [names(v) for v in value if v is not None and str(v).strip()])
        return out
    for value in ds[label][:]:
        if value is None or (isinstance(value, float) and value != value):
            out.append(None)
        elif isinstance(value, str):
            out.append([part.strip() for part in value.split(delimiter) if part.strip()])
        else:
            out.append([_name(value)])
    return out


def multi_label_names(train: datasets.Dataset, label: str, delimiter: str = ",") -> list[str]:
    """The label set: a ClassLabel's names when the column has them, else the train split's names, sorted
    (numerically when all are integers)."""
    feature = train.features[label]
    if is_list_feature(feature) and isinstance(_inner(feature), datasets.ClassLabel):
        return list(_inner(feature).names)
    lists = label_lists(train, label, "train", delimiter)
    if not is_list_feature(feature) and max((len(x) for x in lists if x), default=0) < 2:
        raise TextclfError(f"--data.multi_label is true, but no text of the train split has more than one label in "
                           f"column {label!r} (cut at --data.label_delimiter {delimiter!r}): drop --data.multi_label "
                           "for one label per text, or set --data.label_delimiter to what separates the labels")
    names = {n for labels in lists if labels for n in labels}
    if all(n.lstrip("-").isdigit() for n in names):
        names = [str(n) for n in sorted(int(n) for n in names)]
    else:
        names = sorted(names)
    if len(names) < 2:
        raise TextclfError(f"the train split has {len(names)} label(s) {names} in column {label!r}: multi-label "
                           "classification needs at least two")
    return names


def label_id_lists(ds: datasets.Dataset, label: str, label_names: Sequence[str], split: str, classes: str,
                   delimiter: str = ",") -> list[list[int]]:
    """Each example's labels as ids into `label_names`; a missing value or an unknown name is an error."""
    index = {name: i for i, name in enumerate(label_names)}
    lists = label_lists(ds, label, split, delimiter)
    unknown: set[str] = set()
    for row, names in enumerate(lists):
        if names is None:
            raise TextclfError(f"row {row + 1} of the {split} split has no labels (empty or NaN in column {label!r}): "
                               "fill it in or remove the row")
        unknown.update(n for n in names if n not in index)
    if unknown:
        shown = sorted(unknown)[:8]
        raise TextclfError(f"the {split} split has labels {shown} that are not among {classes} "
                           f"{list(label_names)[:8]}{' ...' if len(label_names) > 8 else ''}: give labels by those names")
    return [sorted({index[n] for n in names}) for names in lists]
