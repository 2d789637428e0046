"""Find the text and label columns, and turn any label values into ids over a fixed list of names."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import datasets

from textclf.data.multilabel import is_list_feature, label_id_lists
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


def _label_name(value) -> str | None:
    """A label value as a name: integral numbers without a decimal point, empty and NaN as None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    name = str(value)
    return name if name.strip() else None


def value_names(ds: datasets.Dataset, label: str, split: str = "train") -> list[str | None]:
    """Every example's label as a name: ClassLabel ids become their names, other values their str()
    (numbers and strings mixed in one column are an error)."""
    feature = ds.features[label]
    _refuse_label_lists(feature, label, split)
    values = ds[label][:]
    if isinstance(feature, datasets.ClassLabel):
        return [feature.int2str(v) if v is not None and v >= 0 else None for v in values]
    _check_one_kind(values, label, split)
    return [_label_name(v) for v in values]


def _refuse_label_lists(feature, label: str, split: str) -> None:
    """A column of label lists (several labels per text) where one label per text is wanted (a single-label
    model's evaluation) is an error: taken as it is, each combination of labels would become one class."""
    if is_list_feature(feature):
        raise TextclfError(f"label column {label!r} of the {split} split holds a list of labels per text "
                           "(multi-label data), but this model takes one label per text: evaluate a model trained "
                           "on multi-label data, or choose a column of single labels with --data.label_column")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_one_kind(values: Sequence, label: str, split: str) -> None:
    """Numbers and strings mixed in one label column (JSON allows it) are a data error, not classes."""
    present = [v for v in values if v is not None]
    numbers = [v for v in present if _is_number(v)]
    if numbers and len(numbers) < len(present):
        word = next(v for v in present if not _is_number(v))
        raise TextclfError(f"label column {label!r} of the {split} split mixes numbers and strings "
                           f"(e.g. {numbers[0]!r} and {word!r}): write every label the same way")


# Above this many distinct numbers, a label column looks like scores or ids rather than classes.
MAX_NUMBER_CLASSES = 100
TRUST_HINT = ("choose the column of classes with --data.label_column, or pass --data.trust_labels true to take "
              "its values as classes")


def infer_label_names(train: datasets.Dataset, label: str, trust: bool = False) -> list[str]:
    """ClassLabel names when the dataset has them, else the train split's values in a sorted, fixed order.

    Values that do not look like classes are an error unless `trust`: numbers with decimals, more than
    MAX_NUMBER_CLASSES distinct numbers, or so many classes that most have a single example. Names that
    differ only in case or surrounding spaces are kept apart, with a warning naming them."""
    feature = train.features[label]
    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names)
    values = value_names(train, label)
    names = set(values) - {None}
    if not trust:
        _check_classes(train[label][:], values, names, label)
    _warn_near_duplicates(names, label)
    if all(n.lstrip("-").isdigit() for n in names):
        names = [str(n) for n in sorted(int(n) for n in names)]
    else:
        names = sorted(names)
    if len(names) < 2:
        raise TextclfError(f"the train split has {len(names)} class(es) {names} in column {label!r}: a classifier needs at least two")
    return names


def _check_classes(raw: Sequence, values: Sequence[str | None], names: set[str], label: str) -> None:
    numbers = [v for v in raw if _is_number(v) and v == v]  # NaN is a missing label, said elsewhere
    fractional = [v for v in numbers if isinstance(v, float) and not v.is_integer()]
    if fractional:
        raise TextclfError(f"label column {label!r} holds numbers with decimals (e.g. {fractional[0]!r}): scores, not "
                           f"classes; {TRUST_HINT}")
    if numbers and len(names) > MAX_NUMBER_CLASSES:
        raise TextclfError(f"label column {label!r} holds {len(names):,} distinct numbers: scores or ids, not classes; "
                           f"{TRUST_HINT}")
    counts: dict[str, int] = {}
    for name in values:
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    single = sum(1 for n in counts.values() if n == 1)
    if len(counts) > 10 and single > len(counts) / 2:
        raise TextclfError(f"label column {label!r} has {len(counts):,} classes in {sum(counts.values()):,} rows and "
                           f"{single:,} of them have a single example: not classes to learn; {TRUST_HINT}")


def _warn_near_duplicates(names: set[str], label: str) -> None:
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.strip().casefold(), []).append(name)
    for group in groups.values():
        if len(group) > 1:
            log.warning("labels %s of column %r differ only in case or surrounding spaces: they are %d classes; write "
                        "them one way if they mean one class", ", ".join(repr(n) for n in sorted(group)), label,
                        len(group))


def to_text_label(
    ds: datasets.Dataset,
    texts: list[str],
    label: str | None,
    label_names: list[str],
    split: str,
    classes: str = "the train split's labels",
    multi: bool = False,
    delimiter: str = ",",
) -> datasets.Dataset:
    """Reduce a split to a `text` column (joined with a space) and an int `label` column (-1 without labels);
    with `multi`, `label` holds each text's list of label ids (textclf.data.multilabel; [] without labels).

    Labels are matched by name only: integers become class ids where the names are those integers
    (or a ClassLabel feature names them), never by position. `classes` says whose label set
    `label_names` is, for the error message."""
    index = {name: i for i, name in enumerate(label_names)}
    names_of = None
    if multi:
        label_ids = [[]] * ds.num_rows if label is None else label_id_lists(ds, label, label_names, split, classes, delimiter)
    elif label is not None:
        names_of = value_names(ds, label, split)
        for row, name in enumerate(names_of):
            if name is None:
                raise TextclfError(f"row {row + 1} of the {split} split has no label (empty or NaN in column "
                                   f"{label!r}): fill it in or remove the row")
        unknown = sorted({n for n in names_of if n not in index}, key=str)
        if unknown:
            seen = sorted(set(names_of), key=str)
            raise TextclfError(f"the {split} split's labels {_short(seen)} are not all among {classes} "
                               f"{_short(label_names)} (unknown: {_short(unknown)}): give labels by those names")
    if not multi:
        label_ids = [-1] * ds.num_rows if names_of is None else [index[n] for n in names_of]

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
        features=datasets.Features({"text": datasets.Value("string"),
                                    "label": datasets.Sequence(datasets.Value("int64")) if multi else datasets.Value("int64")}),
        new_fingerprint=datasets.fingerprint.Hasher.hash((ds._fingerprint, texts, label, label_names, "text_label")
                                                         + ((multi, delimiter) if multi else ())),
    )


def _short(names: Sequence[str], most: int = 8) -> str:
    shown = ", ".join(map(str, names[:most]))
    return f"[{shown}{', ...' if len(names) > most else ''}]"
