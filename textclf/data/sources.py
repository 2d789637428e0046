"""Load any supported source into a `datasets.DatasetDict` whose splits are named train/validation/test.

Every source goes through `datasets.load_dataset`: a hub id, a local dataset folder, one data file
(splits are carved later) or one file per split. Nothing here parses CSV or JSON by hand.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import datasets

from textclf.data.hub import before_hub_download
from textclf.data.json_lines import json_lines
from textclf.errors import TextclfError

log = logging.getLogger(__name__)

# Split names users and hub datasets use, mapped onto the three we know.
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}

# File ending -> (datasets builder, extra builder options).
FILE_FORMATS: dict[str, tuple[str, dict]] = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"sep": "\t", "quoting": 3}),  # QUOTE_NONE: quotes in TSV text are literal
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
    ".txt": ("text", {}),  # fastText format: "__label__pos some text"
}
FASTTEXT_PREFIX = "__label__"


def canonical_split(name: str) -> str | None:
    """Map a split name (dev, valid, val, ...) onto train/validation/test, or None if unknown."""
    return SPLIT_ALIASES.get(name.lower())


def load_raw(
    path: str | None = None,
    name: str | None = None,
    revision: str | None = None,
    files: dict[str, str] | None = None,
    encoding: str | None = None,
    single_split: str = "train",
    labelled: bool = True,
) -> datasets.DatasetDict:
    """Load a source as a DatasetDict with canonical split names (unknown splits are dropped).
    One data file becomes the split `single_split` (train for training, the evaluated split otherwise).
    `labelled=False` (a pretraining corpus): a .txt file is one text per line, not fastText lines."""
    if files:
        raw = _load_files(files, encoding, labelled)
    elif path is None:
        raise TextclfError("no data source given: set --data.path (hub id, dataset folder or file) or --data.files.train")
    elif os.path.isfile(path):
        raw = _load_files({single_split: path}, encoding, labelled)
    elif os.path.isdir(path):
        raw = _load_folder(path, name)
    elif _looks_like_path(path):
        raise TextclfError(f"{path} does not exist: give an existing file or folder, or a hub id such as stanfordnlp/imdb")
    else:
        raw = _load_hub(path, name, revision)
    return _canonical_splits(raw, source=", ".join(files.values()) if files else path)


def _looks_like_path(path: str) -> bool:
    return path.startswith((".", "/", "~")) or Path(path).suffix.lower() in FILE_FORMATS or path.count("/") > 1


def _canonical_splits(raw: datasets.DatasetDict, source: str) -> datasets.DatasetDict:
    out = {}
    for split, ds in raw.items():
        canon = canonical_split(split)
        if canon is None:
            log.info("ignoring split %r of %s (not train/validation/test)", split, source)
        elif canon in out:
            raise TextclfError(f"{source} has two splits that both mean {canon!r}: rename one of them")
        else:
            out[canon] = ds
    if not out:
        raise TextclfError(
            f"{source} has no train/validation/test split (it has: {', '.join(raw) or 'none'}); "
            "name the files per split with --data.files.train/--data.files.test"
        )
    return datasets.DatasetDict(out)


def _file_format(file: str) -> tuple[str, dict]:
    suffix = Path(file).suffix.lower()
    if suffix not in FILE_FORMATS:
        raise TextclfError(
            f"{file}: unsupported file type {suffix or '(none)'!r}; use one of {', '.join(FILE_FORMATS)}"
        )
    return FILE_FORMATS[suffix]


def _load_files(files: dict[str, str], encoding: str | None, labelled: bool = True) -> datasets.DatasetDict:
    formats = {}
    for split, file in files.items():
        if canonical_split(split) is None:
            raise TextclfError(f"unknown split {split!r} in --data.files; use train, validation (dev, val) or test")
        if os.path.isdir(file):
            raise TextclfError(f"{file} is a folder, not a file (given for split {split!r}): give a data file, or "
                               "the folder as --data.path")
        if not os.path.isfile(file):
            raise TextclfError(f"{file} does not exist (given for split {split!r})")
        if os.path.getsize(file) == 0:
            raise TextclfError(f"{file} is empty: give a file with a header row and examples")
        formats[split] = _file_format(file)
    builders = {builder for builder, _ in formats.values()}
    if len(builders) > 1:
        raise TextclfError(f"files of different types cannot be mixed: {files}; convert them to one format")
    builder, options = next(iter(formats.values()))
    options = dict(options)
    if encoding and builder in ("csv", "json", "text"):
        options["encoding"] = encoding
    data_files = {split: os.path.abspath(file) for split, file in files.items()}
    try:
        raw = datasets.load_dataset(builder, data_files=data_files, **options)
    except Exception as err:  # datasets wraps parser errors; say which file and what fixes it
        raise _file_error(err, files, encoding) from err
    if builder == "text" and labelled:
        raw = datasets.DatasetDict({split: _parse_fasttext(ds, files[split]) for split, ds in raw.items()})
    for split, ds in raw.items():
        if ds.num_rows == 0:
            raise TextclfError(f"{files[split]} has no rows: give a file with examples")
    return raw


def _exception_chain(err: BaseException) -> list[BaseException]:
    """`err` and every exception it was raised from or during (datasets wraps the parser's error)."""
    chain, e = [], err
    while e is not None:
        chain.append(e)
        e = e.__cause__ or e.__context__
    return chain


def _file_error(err: Exception, files: dict[str, str], encoding: str | None) -> TextclfError:
    chain = _exception_chain(err)
    text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
    which = ", ".join(files.values())
    if any(isinstance(e, UnicodeDecodeError) for e in chain) or "utf-8" in text.lower() or "utf8" in text.lower():
        if encoding:
            return TextclfError(f"{which} could not be read as {encoding}: set --data.encoding to the file's encoding")
        return TextclfError(f"{which} is not valid UTF-8: set --data.encoding to its encoding (e.g. --data.encoding latin-1 or gb18030)")
    if "corresponds to no data" in text:
        return TextclfError(f"{which} has no examples (a header row only?): give a file with examples")
    for file in files.values():
        bad = _bad_json_line(file, encoding) if _file_format(file)[0] == "json" else None
        if bad:
            return bad
    last = chain[-1]
    return TextclfError(f"could not read {which}: {type(last).__name__}: {str(last).splitlines()[0] if str(last) else ''}")


def _bad_json_line(file: str, encoding: str | None) -> TextclfError | None:
    """The error of the first line of a JSON-lines file that is not a JSON object, or None."""
    with open(file, encoding=encoding or "utf-8", errors="replace") as f:
        if f.read(1) == "[":
            return None  # one JSON array, not JSON lines: the datasets error says what is wrong
        f.seek(0)
        try:
            for _ in json_lines(f, file):
                pass
        except TextclfError as err:
            return err
    return None



def _parse_fasttext(ds: datasets.Dataset, file: str) -> datasets.Dataset:
    """`__label__pos some text` lines -> label/text columns. A line may carry several tags (`__label__a
    __label__b text`): then every line's labels are a list, which is multi-label data."""

    def parse(batch, indices):
        labels, texts = [], []
        for line, i in zip(batch["text"], indices):
            words = line.split()
            if not words:
                labels.append(None)
                texts.append("")
                continue
            if not words[0].startswith(FASTTEXT_PREFIX):
                raise TextclfError(
                    f"{file} line {i + 1} does not start with {FASTTEXT_PREFIX}<label>: "
                    "a .txt file must be in fastText format"
                )
            tags = 0
            while tags < len(words) and words[tags].startswith(FASTTEXT_PREFIX):
                tags += 1
            labels.append([w[len(FASTTEXT_PREFIX):] for w in words[:tags]])
            texts.append(line.strip().split(None, tags)[tags] if tags < len(words) else "")
        return {"label": labels, "text": texts}

    ds = ds.map(parse, batched=True, with_indices=True, desc="parse fastText")
    if all(tags is None or len(tags) == 1 for tags in ds["label"][:]):  # one label per line: single-label
        ds = ds.map(lambda row: {"label": row["label"][0] if row["label"] else None},
                    features=datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("string")}),
                    desc="fastText labels")
    return ds


def _load_folder(path: str, name: str | None) -> datasets.DatasetDict:
    try:
        raw = datasets.load_dataset(path, name)
    except Exception as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TextclfError(f"could not load the dataset folder {path}: {msg}") from err
    if not isinstance(raw, datasets.DatasetDict):
        raw = datasets.DatasetDict({"train": raw})
    return raw


def _load_hub(path: str, name: str | None, revision: str | None) -> datasets.DatasetDict:
    try:
        before_hub_download()
        return datasets.load_dataset(path, name, revision=revision)
    except Exception as err:
        text = " ".join(f"{type(e).__name__} {e}" for e in _exception_chain(err)).lower()
        offline = any(
            word in text
            for word in ("offline", "reach", "connection", "connect", "resolve", "network", "timed out", "timeout", "unreachable")
        )
        if offline:
            raise TextclfError(
                f"could not reach the Hugging Face Hub to load {path!r}: no network; "
                "give a local dataset folder or files instead (e.g. --data.path data/sst2)"
            ) from err
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TextclfError(f"could not load {path!r} from the Hugging Face Hub: {msg}") from err
