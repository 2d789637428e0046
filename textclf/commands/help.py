"""Short `--help` for `textclf train`, `textclf data` and `textclf baseline`: textclf's own options first, one line each.

The option names, defaults and one-line help are read from the signatures and docstrings of the model
(textclf.training.module.LitTextClassifier) and the data module (textclf.data.datamodule.TextDataModule),
so they cannot drift from the code. LightningCLI's full help, with every Trainer option, stays behind
`--help=all`.
"""

from __future__ import annotations

import inspect
import re

TRAIN_USAGE = """usage: textclf train [--config FILE] [--data.path P | --data.files.train F ...] [--model.encoder E] [options]

Train a classifier; with no config the default recipe (docs/recipe.md). Examples:
  textclf train --data.path data/sst2 --model.encoder lstm
  textclf train --data.files.train my.csv --data.files.test test.csv --run_dir runs/mine

run:
  --config FILE            a YAML of any of the options below (configs/*.yaml)
  --seed N                 seed of weights, data carving and batch order (default 42)
  --run_dir DIR            run directory (default runs/<dataset>-<encoder>-<timestamp>)
  --patience N             early stopping: epochs without a better validation macro-F1 (default 3)
  --resume / --overwrite   continue the run in --run_dir / replace it once the new run has finished
  --trainer.max_epochs N   epochs (default 8; 3 with --model.pretrained); every Trainer option is --trainer.NAME
                           (see --help=all)
  --trainer.accelerator A  cpu, gpu, auto (default auto)
  --verbose                the libraries' own messages too"""

DATA_USAGE = """usage: textclf data [--config FILE] [--data.path P | --data.files.train F ...] [--data.*]

Load and tokenize the data as `textclf train` would, and print each split's size and token lengths."""


BASELINE_USAGE = """usage: textclf baseline [--config FILE] [--data.path P | --data.files.train F ...] [--run_dir DIR] [--data.*]

TF-IDF over word 1-2 grams of the run's tokenizer + logistic regression (C chosen on validation; one-vs-rest
with each label's threshold chosen on validation for multi-label data), on the data and splits `textclf
train` would use; saved as best.ckpt, which predict, evaluate, serve and ensemble accept. --model.* and
--trainer.* do not apply.

run:
  --config FILE            a YAML of the data options below (configs/*.yaml; its model and trainer are ignored)
  --seed N                 seed of the data carving (default 42)
  --run_dir DIR            run directory (default runs/<dataset>-tfidf-<timestamp>)
  --overwrite              replace --run_dir once the new run has finished"""


PRETRAIN_USAGE_HEAD = """usage: textclf pretrain --data.path CORPUS [--data.add_train DATASET] [--model.encoder E] [--budget 20m] [options]

Pretrain an encoder (rnn, lstm, gru, transformer) on unlabelled text with a self-supervised objective, then
fine-tune a classifier from it: textclf train --model.pretrained RUN_DIR --data.path DATASET. Examples:
  textclf pretrain --data.path ../shared/data/zh_reviews --data.add_train data/chnsenticorp --budget 10m
  textclf pretrain --data.path reviews.txt --model.encoder lstm --model.objective lm --budget 5Mtok

run:
  --budget B               a time (90s, 20m, 1.5h) or tokens (500ktok, 5Mtok) (default 10m)
  --seed N                 seed of weights, held-out share and batch order (default 42)
  --run_dir DIR            run directory (default runs/pretrain-<corpus>-<encoder>-<timestamp>)
  --resume / --overwrite   continue the run in --run_dir / replace it once the new run has finished
  --trainer.accelerator A  cpu, gpu, auto (default auto); every Trainer option is --trainer.NAME (--help=all)"""


def _documented(cls) -> list[tuple[str, str, str]]:
    """(name, default, first line of help) of every documented argument of `cls.__init__`."""
    doc = inspect.getdoc(cls.__init__) or ""
    helps, name = {}, None
    for line in doc.split("Args:", 1)[-1].splitlines():
        m = re.match(r"\s{0,4}(\w+): (.*)", line)
        if m:
            name = m.group(1)
            helps[name] = m.group(2).strip()
        elif name and line.strip():
            helps[name] += " " + line.strip()
    out = []
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name == "self" or param.name not in helps:
            continue
        default = "" if param.default is inspect.Parameter.empty else param.default
        out.append((param.name, "null" if default is None else str(default), helps[param.name]))
    return out


def _section(title: str, prefix: str, cls) -> list[str]:
    lines = ["", f"{title}:"]
    for name, default, text in _documented(cls):
        flag = f"--{prefix}.{name}"
        lines.append(f"  {flag:<31}{text.rstrip('.')}" + (f" (default {default})" if default not in ("", "null") else ""))
    return lines


def short_help(command: str) -> str:
    from textclf.data.datamodule import TextDataModule

    data_only = {"data": DATA_USAGE, "baseline": BASELINE_USAGE}
    if command in data_only:
        return "\n".join([data_only[command], *_section("data", "data", TextDataModule)])
    from textclf.training.module import LitTextClassifier

    return "\n".join([TRAIN_USAGE, *_section("model", "model", LitTextClassifier),
                      *_section("data", "data", TextDataModule), "",
                      "--help=all: every option, the Trainer's included (LightningCLI's full help)."])


def pretrain_help() -> str:
    from textclf.data.corpus_module import CorpusDataModule
    from textclf.pretraining.module import LitPretrainer

    return "\n".join([PRETRAIN_USAGE_HEAD, *_section("model", "model", LitPretrainer),
                      *_section("data", "data", CorpusDataModule), "",
                      "--help=all: every option, the Trainer's included (LightningCLI's full help)."])


def wants_help(argv: list[str]) -> str | None:
    """"short" for -h/--help, "all" for --help=all, None otherwise."""
    if "--help=all" in argv:
        return "all"
    return "short" if any(a in ("-h", "--help") for a in argv) else None
