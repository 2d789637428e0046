"""Flags several commands share, declared once: the data source (--data.*), texts from arguments or a
file (--input), the prediction batch size, --split; and the parser whose errors are one line."""

from __future__ import annotations

import argparse
import importlib.util
import re

from textclf.errors import TextclfError

# --batch_size of evaluate, predict and embed; unset, Classifier.batch_size decides
BATCH_SIZE_HELP = "texts per forward pass (default: the fastest measured on CPU for the model's path)"


class Parser(argparse.ArgumentParser):
    """argparse whose errors are a TextclfError: one line, exit 2, no usage block."""

    def error(self, message):
        raise TextclfError(f"{message} (see {self.prog} --help)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def add_data_source(p: argparse.ArgumentParser, default: str) -> None:
    """--data.path and the options that read it; the --data.* names are train's, the short ones stay as
    aliases. `default` says what is read without --data.path."""
    p.add_argument("--data.path", "--data", dest="data", help=f"hub id, dataset folder or file (default: {default})")
    p.add_argument("--data.name", "--name", dest="name", help="hub config name of --data.path")
    p.add_argument("--data.text_column", "--text_column", dest="text_column",
                   help="text column of --data.path (detected when unset)")
    p.add_argument("--data.label_column", "--label_column", dest="label_column",
                   help="label column of --data.path (detected when unset)")
    p.add_argument("--data.encoding", "--encoding", dest="encoding", help="encoding of a --data.path file that is not UTF-8")


def data_source(args: argparse.Namespace) -> dict | None:
    """The source --data.* names (keyword arguments of textclf.data.prepare.load_splits), or None."""
    if not args.data:
        return None
    return {"path": args.data, "name": args.name, "encoding": args.encoding, "text_column": args.text_column,
            "label_column": args.label_column}


def add_text_input(p: argparse.ArgumentParser, what: str) -> None:
    """Texts as arguments or --input FILE (a lone - reads stdin), with the table's text column and encoding."""
    p.add_argument("texts", nargs="*", help=what)
    p.add_argument("--input", help="a .txt file (one text per line), .csv/.tsv/.jsonl/.json/.parquet, or - for stdin")
    p.add_argument("--data.text_column", "--text_column", dest="text_column",
                   help="text column of a table --input (detected when unset)")
    p.add_argument("--data.encoding", "--encoding", dest="encoding", help="encoding of an --input file that is not UTF-8")


def check_text_input(args: argparse.Namespace) -> None:
    if bool(args.texts) == bool(args.input):
        raise TextclfError("give texts as arguments or --input FILE (or - for stdin), not both and not neither")


def add_output_columns(p: argparse.ArgumentParser, added: str) -> None:
    """--prefix: how the columns a command adds to the input's are named apart from them."""
    p.add_argument("--prefix", help=f"put this before the name of every column the command adds ({added}), e.g. "
                   "out_ (default: none, or pred_/emb_ where the input has a column of one of those names)")


def add_batch_size(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch_size", type=positive_int, help=BATCH_SIZE_HELP)


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto (the GPU when there is one, else the CPU), cpu, cuda, "
                   "cuda:N or mps (default auto)")


def batch_size(args: argparse.Namespace) -> dict:
    """--batch_size when given; otherwise the model's prediction default (Classifier.batch_size)."""
    return {} if args.batch_size is None else {"batch_size": args.batch_size}


def split_name(name: str) -> str:
    """--split as train, validation or test (dev, val, valid, ... accepted as in --data.files)."""
    from textclf.data.sources import canonical_split

    split = canonical_split(name)
    if split is None:
        raise TextclfError(f"unknown --split {name!r}: choose train, validation (dev, val) or test")
    return split


def only_config_flags(passthrough: list[str], command: str) -> None:
    """Flags a command passes on to train must be --model.*, --data.* or --trainer.*."""
    bad = [a for a in passthrough if a.startswith("--") and not re.match(r"--(model|data|trainer)\.", a)]
    if bad:
        raise TextclfError(f"unknown flag {bad[0]} for textclf {command}: see textclf {command} --help")


def require(command: str, modules: tuple[str, ...], install: str) -> None:
    """A one-line error naming the missing optional package of `command` and how to install it."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise TextclfError(f"textclf {command} needs {name}: {install}")


def duration_seconds(text: str, flag: str = "--max_time") -> int:
    """`90s`, `10m`, `1h30m` -> seconds; anything else is a one-line error naming `flag`."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not text.strip() or not m or not any(m.groups()):
        raise TextclfError(f"{flag} {text!r}: write a duration such as 90s, 10m or 1h30m")
    h, mi, s = (int(g or 0) for g in m.groups())
    if not h * 3600 + mi * 60 + s:
        raise TextclfError(f"{flag} {text!r}: give a duration longer than 0, such as 90s, 10m or 1h30m")
    return h * 3600 + mi * 60 + s


def parse_duration(text: str) -> str:
    """`90s`, `10m`, `1h30m` -> Lightning's DD:HH:MM:SS."""
    total = duration_seconds(text)
    return f"{total // 86400:02d}:{total % 86400 // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
