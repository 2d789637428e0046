"""Find the text and label columns, and turn any label values into ids over a fixed list of names."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import datasets

from textclf.errors import TextclfError

log = logging.getLogger(__name__)

TEXT_COLUMNS = ("text", "sentence", "content", "review", "document", "question")
LABEL_COLUMNS = ("label", "labels", "class", "category", "sentiment", "coarse_label")


def detect_column(columns: Sequence[str], candidates: Sequence[str], kind: str, where: str) -> str:
    """Pick the one column whose name (case-insensitive) is a known `kind` column name."""
    found = [c for c in columns if c.lower() in candidates]
    option = f"--data.{kind}_column"
    if len(found) == 1:
        log.info("%s column: %r (detected; set %s to choose another)", kind, found[0], option)
        return found[0]
    if not found:
        raise TextclfError(f"{where} has no {kind} column among {list(candidates)}; its columns are {list(columns)}: set {option}")
    raise TextclfError(f"{where} has several possible {kind} columns {found}; its columns are {list(columns)}: set {option}")


def resolve_columns(
    columns: Sequence[str],
    text_column: str | list[str] | None,
    label_column: str | None,
    where: str,
    need_label: bool = True,
) -> tuple[list[str], str | None]:
    """Text columns (a list: AG News joins title + description) and the label column, checked to exist."""
    if text_column is None:
        texts = [detect_column(columns, TEXT_COLUMNS, "text", where)]
    else:
        texts = [text_column] if isinstance(text_column, str) else list(text_column)
        for col in texts:
            if col not in columns:
                raise TextclfError(f"{where} has no text column {col!r}; its columns are {list(columns)}")
    if not need_label and label_column is None and not any(c.lower() in LABEL_COLUMNS for c in columns):
        return texts, None
    if label_column is None:
        label = detect_column([c for c in columns if c not in texts], LABEL_COLUMNS, "label", where)
    elif label_column not in columns:
        raise TextclfError(f"{where} has no label column {label_column!r}; its columns are {list(columns)}")
    else:
        label = label_column
    return texts, label


def value_names(ds: datasets.Dataset, label: str) -> list[str]:
    """Every example's label as a name: ClassLabel ids become their names, other values their str()."""
    feature = ds.features[label]
    values = ds[label][:]
    if isinstance(feature, datasets.ClassLabel):
        return [feature.int2str(v) if v is not None and v >= 0 else None for v in values]
    return [None if v is None else str(v) for v in values]


def infer_label_names(train: datasets.Dataset, label: str) -> list[str]:
    """ClassLabel names when the dataset has them, else the train split's values in a sorted, fixed order."""
    feature = train.features[label]
    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names)
    values = {v for v in train.unique(label) if v is not None}
    if all(isinstance(v, (int, float)) and float(v).is_integer() for v in values):
        names = [str(int(v)) for v in sorted(values)]
    else:
        names = sorted(str(v) for v in values)
    if len(names) < 2:
        raise TextclfError(f"the train split has {len(names)} class(es) {names} in column {label!r}: a classifier needs at least two")
    return names


def to_text_label(
    ds: datasets.Dataset,
    texts: list[str],
    label: str | None,
    label_names: list[str],
    split: str,
) -> datasets.Dataset:
    """Reduce a split to a `text` column (joined with a space) and an int `label` column (-1 without labels)."""
    index = {name: i for i, name in enumerate(label_names)}
    names_of = value_names(ds, label) if label is not None else None

    # Integer values that are not names are read as ids (hub sets without ClassLabel features).
    def label_id(name: str | None) -> int:
        if name in index:
            return index[name]
        if name is not None and name.lstrip("-").isdigit() and 0 <= int(name) < len(label_names):
            return int(name)
        raise TextclfError(
            f"label {name!r} in the {split} split is not one of the model's classes {label_names}: "
            "fix the data or train on a set that has it"
        )

    if names_of is not None:
        missing = sorted({n for n in names_of if n is None or n not in index}, key=str)
        for name in missing:
            label_id(name)  # raises for labels that are neither names nor ids
    label_ids = [-1] * ds.num_rows if names_of is None else [label_id(n) for n in names_of]

    def reduce(batch, indices):
        if len(texts) == 1:
            text = [t if isinstance(t, str) else "" for t in batch[texts[0]]]
        else:
            text = [" ".join(str(x) for x in parts if x) for parts in zip(*(batch[c] for c in texts))]
        return {"text": text, "label": [label_ids[i] for i in indices]}

    return ds.map(
        reduce,
        batched=True,
        with_indices=True,
        remove_columns=ds.column_names,
        desc=f"columns ({split})",
        features=datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("int64")}),
        new_fingerprint=datasets.fingerprint.Hasher.hash((ds._fingerprint, texts, label, label_names, "text_label")),
    )
