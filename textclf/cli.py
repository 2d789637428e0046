"""The `textclf` command: train, evaluate, predict, compare, data (`COMMANDS` at the bottom).

train and data parse with LightningCLI (textclf.train.command: config files and --model.*, --data.*,
--trainer.* flags); evaluate, predict and compare parse here with argparse. Every user error is one
line on stderr naming the problem and the fix, exit code 2, no traceback (`--debug` shows it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable

from textclf.errors import Interrupted, TextclfError

# --batch_size of evaluate and predict; unset, Classifier.batch_size decides
BATCH_SIZE_HELP = "texts per forward pass (default: the fastest measured on CPU for the model's path)"
USAGE = """usage: textclf {train,evaluate,predict,embed,serve,export,compare,analyze,tune,baseline,ensemble,data} ...

  train     --config configs/sst2.yaml [--model.encoder lstm] [--trainer.max_epochs 5] [--seed 1] [--run_dir runs/x]
  evaluate  runs/x/best.ckpt [--data PATH_OR_HUB_ID] [--split test] [--output metrics.json]
  predict   runs/x/best.ckpt "a text" ... | --input FILE|- [--output preds.jsonl] [--top_k 2]
  embed     runs/x/best.ckpt "a text" ... | --input FILE|- --output vectors.npy|.parquet   (pooled vectors)
  serve     runs/x/best.ckpt [--port 8000]   (HTTP: POST /predict {"texts": [...]}, docs at /docs)
  export    runs/x/best.ckpt --format onnx --output model.onnx   (predict/serve/evaluate take the .onnx too)
  compare   --config configs/sst2.yaml --encoders bag,rnn,lstm,gru,transformer --seeds 3 --output reports/sst2
  analyze   runs/a runs/b reports/sst2 ... --output reports/reps   (compare the pooled representations)
  tune      --config configs/sst2.yaml --encoder gru --budget 20m --output tune/sst2-gru   (then: train --config tune/sst2-gru/best.yaml)
  baseline  --config configs/sst2.yaml [--data.*] [--run_dir runs/t]   (TF-IDF + logistic regression: the number to beat)
  ensemble  runs/a/best.ckpt runs/b/best.ckpt ... --output runs/ab.ckpt   (predict averages the members)
  data      --config configs/sst2.yaml [--data.*]   (load, tokenize and report on the data)

Run `textclf COMMAND --help` for a command's options; --verbose shows the libraries' own messages, --debug
also tracebacks; --version prints the version."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise TextclfError(f"{message} (see {self.prog} --help)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if "--verbose" in argv or debug:  # the libraries' own INFO lines too (subprocesses of compare/tune inherit it)
        os.environ["TEXTCLF_VERBOSE"] = "1"
    if argv[:1] in (["--version"], ["-V"]):
        from textclf import __version__

        print(f"textclf {__version__}")
        return 0
    argv = [a for a in argv if a not in ("--debug", "--verbose")]
    _quiet_libraries(debug)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    try:
        if command not in COMMANDS:
            raise TextclfError(f"unknown command {command!r}: choose one of {', '.join(COMMANDS)}")
        return COMMANDS[command](rest) or 0
    except TextclfError as err:
        if debug:
            raise
        print(f"textclf {command}: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        print(f"textclf {command}: {stop.message}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print(f"textclf {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`textclf predict ... | head`): stop quietly, as SIGPIPE would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's own flush at exit does not raise again
        return 141


def _quiet_libraries(debug: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, format="%(message)s")
    if not debug:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
        for name in ("datasets", "fsspec", "httpx", "huggingface_hub", "urllib3", "filelock", "lightning.pytorch",
                     "lightning.fabric", "lightning"):
            logging.getLogger(name).setLevel(logging.ERROR)
        # datasets reads these when imported; `predict` on texts never imports it (a slow import)
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("DATASETS_VERBOSITY", "error")
        if "datasets" in sys.modules:  # already imported (main() called in process): tell it directly
            datasets = sys.modules["datasets"]
            datasets.disable_progress_bars()
            datasets.logging.set_verbosity_error()


# -- train ----------------------------------------------------------------------------------------


def train_command(argv: list[str]) -> int:
    from textclf.help import short_help, wants_help

    if wants_help(argv) == "short":
        print(short_help("train"))
        return 0
    argv = ["--help" if a == "--help=all" else a for a in argv]
    from textclf.train.command import train

    metrics = train(argv)
    if metrics is not None:
        print_run_summary(metrics)
    return 0


def print_run_summary(m: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{m['dataset']} / {m['encoder']}", show_header=True)
    table.add_column("split")
    table.add_column("accuracy", justify="right")
    table.add_column("macro-F1", justify="right")
    for split in ("val", "test"):
        if m.get(split):
            table.add_row(split, f"{m[split]['acc']:.4f}", f"{m[split]['f1']:.4f}")
    console = Console()
    console.print(table)
    if m["encoder"] == "tfidf":
        console.print(f"C {m['C']} (chosen on validation), {m['features']:,} n-gram features, {m['wall_seconds']:.1f}s wall")
    else:
        console.print(
            f"best epoch {m['best_epoch']} of {m['epochs']}, {m['wall_seconds']:.1f}s wall, "
            f"{m['train_tokens_per_second']:,.0f} train tokens/s, {m['parameters']['total']:,} parameters"
        )
    run_dir = os.path.dirname(m["best_checkpoint"])
    console.print(f"best checkpoint: {m['best_checkpoint']}", soft_wrap=True)
    console.print(f"metrics: {os.path.join(run_dir, 'metrics.json')}", soft_wrap=True)
    logs = [os.path.join(run_dir, "logs", "metrics.csv")]
    if os.path.isdir(os.path.join(run_dir, "tensorboard")):
        logs.append(f"tensorboard --logdir {os.path.join(run_dir, 'tensorboard')}")
    console.print("logs: " + ", ".join(logs), soft_wrap=True)


# -- data -----------------------------------------------------------------------------------------


def tune_command(argv: list[str]) -> int:
    from textclf.compare.plan import duration_seconds
    from textclf.tune.search import tune

    p = _Parser(prog="textclf tune", description="Search hyperparameters on the validation split (Optuna: TPE "
                "sampler, median pruner); the test split is never scored.",
                epilog="Other flags (--model.*, --data.*, --trainer.*) go to every trial. Running the same command "
                       "again continues the search in --output.")
    p.add_argument("--config", help="a config of configs/ (or give the data with --data.* flags)")
    p.add_argument("--encoder", default="gru", help="the encoder to tune (default gru)")
    p.add_argument("--budget", default="30m", help="no trial starts after this much wall time, e.g. 20m or 1h; "
                   "the one running then finishes (default 30m)")
    p.add_argument("--trials", type=_positive_int, help="stop after this many trials (default: when the budget ends)")
    p.add_argument("--output", required=True, help="search folder: study.db, trials/, best.yaml, search.png")
    p.add_argument("--sampler_seed", type=int, default=0, help="seed of the TPE sampler (default 0)")
    args, passthrough = p.parse_known_args(argv)
    _only_config_flags(passthrough, "tune")
    base = (["--config", args.config] if args.config else []) + passthrough
    summary = tune(base, args.encoder, duration_seconds(args.budget, "--budget"), args.output, args.trials,
                   args.sampler_seed)
    print(f"best: trial {summary['best_trial']}, validation accuracy {summary['val_acc']:.4f} "
          f"({summary['complete']} complete, {summary['pruned']} pruned of {summary['trials']} trials)")
    print(f"its checkpoint: {summary['checkpoint']}")
    print(f"train it again: textclf train --config {os.path.join(args.output, 'best.yaml')}")
    return 0


def _only_config_flags(passthrough: list[str], command: str) -> None:
    """Flags a command passes on to train must be --model.*, --data.* or --trainer.*."""
    bad = [a for a in passthrough if a.startswith("--") and not re.match(r"--(model|data|trainer)\.", a)]
    if bad:
        raise TextclfError(f"unknown flag {bad[0]} for textclf {command}: see textclf {command} --help")


def ensemble_command(argv: list[str]) -> int:
    p = _Parser(prog="textclf ensemble", description="One checkpoint whose predict averages the class probabilities "
                "of several (e.g. the seeds of one config).")
    p.add_argument("checkpoints", nargs="+", help="two or more checkpoints trained on the same labels")
    p.add_argument("--output", required=True, help="the ensemble checkpoint to write, e.g. runs/sst2-ensemble.ckpt")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)

    from textclf.serve.ensemble import make_ensemble

    archive = make_ensemble(args.checkpoints, args.output, args.overwrite)
    print(f"{args.output}: {len(archive['members'])} members, labels {', '.join(archive['label_names'])}")
    return 0


def baseline_command(argv: list[str]) -> int:
    """TF-IDF + logistic regression on train's data and splits, saved as a checkpoint."""
    from textclf.help import short_help, wants_help

    if wants_help(argv):
        print(short_help("baseline"))
        return 0
    from textclf.baseline.command import baseline

    print_run_summary(baseline(argv))
    return 0


def data_command(argv: list[str]) -> int:
    """Load and tokenize the data of a config, and print its splits' statistics."""
    from textclf.help import short_help, wants_help

    if wants_help(argv):
        print(short_help("data"))
        return 0
    from rich.console import Console
    from rich.table import Table

    from textclf.train.command import parse_train_args

    cli = parse_train_args(argv)
    dm = cli.datamodule
    dm.prepare_data()
    dm.setup("fit")
    table = Table(title=f"{dm.source_name}: {dm.num_classes} classes, vocabulary {dm.vocab_size:,}")
    for col in ("split", "texts", "mean", "p50", "p95", "max", "truncated"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, s in dm.stats.items():
        table.add_row(split, f"{s['examples']:,}", f"{s['mean']:.1f}", f"{s['p50']:.0f}", f"{s['p95']:.0f}",
                      f"{s['max']}", f"{100 * s['truncated']:.1f}%")
    Console().print(table)
    print(f"labels: {', '.join(dm.label_names)}; data step {dm.setup_seconds:.2f}s")
    return 0


# -- evaluate -------------------------------------------------------------------------------------


def evaluate_command(argv: list[str]) -> int:
    p = _Parser(prog="textclf evaluate", description="Metrics of a checkpoint on labelled data.")
    p.add_argument("checkpoint")
    # the --data.* names are train's; the short ones stay as aliases
    p.add_argument("--data.path", "--data", dest="data",
                   help="hub id, dataset folder or file (default: the data the model was trained on)")
    p.add_argument("--data.name", "--name", dest="name", help="hub config name of --data.path")
    p.add_argument("--split", default="test", help="test, validation (dev, val) or train (without the rows carved "
                   "off as validation/test in training); default test")
    p.add_argument("--data.text_column", "--text_column", dest="text_column",
                   help="text column of --data.path (detected when unset)")
    p.add_argument("--data.label_column", "--label_column", dest="label_column",
                   help="label column of --data.path (detected when unset)")
    p.add_argument("--data.encoding", "--encoding", dest="encoding", help="encoding of a --data.path file that is not UTF-8")
    p.add_argument("--batch_size", type=_positive_int, help=BATCH_SIZE_HELP)
    p.add_argument("--output", help="write the metrics as JSON")
    p.add_argument("--predictions", help="write every example's gold label, predicted label and probabilities "
                   "(.jsonl, .csv, .tsv or .parquet), for error analysis")
    args = p.parse_args(argv)

    from textclf.serve.loading import load_classifier
    from textclf.serve.evaluate import evaluate
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint)
    source = dict(clf.data_source)
    if args.data:
        source = {"path": args.data, "name": args.name, "encoding": args.encoding,
                  "text_column": args.text_column, "label_column": args.label_column}
    elif not source:
        raise TextclfError(f"{args.checkpoint} does not record its training data: pass --data.path")
    result = evaluate(clf, source, _split(args.split), examples=bool(args.predictions), **_batch_size(args))
    examples = result.pop("examples_predicted", None)
    print_evaluation(result)
    if args.output:
        _write_json(args.output, result)
    if args.predictions:
        from textclf.serve.predict_io import Writer

        writer, ok = Writer(args.predictions, clf.label_names), False
        try:
            writer.write([{k: r[k] for k in ("text", "gold", "label", "score", "probs")} for r in examples], {})
            ok = True
        finally:
            writer.close(ok)
    return 0


def _split(name: str) -> str:
    """--split as train, validation or test (dev, val, valid, ... accepted as in --data.files)."""
    from textclf.data.sources import canonical_split

    split = canonical_split(name)
    if split is None:
        raise TextclfError(f"unknown --split {name!r}: choose train, validation (dev, val) or test")
    return split


def print_evaluation(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"{r['split']}: {r['examples']:,} examples, accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f}")
    per = Table(show_header=True)
    for col in ("label", "precision", "recall", "f1", "support"):
        per.add_column(col, justify="left" if col == "label" else "right")
    for name, m in r["per_class"].items():
        per.add_row(name, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", str(m["support"]))
    console.print(per)
    cm = r["confusion_matrix"]
    conf = Table(title="confusion matrix (rows: true, columns: predicted)", show_header=True)
    conf.add_column("")
    for name in cm["labels"]:
        conf.add_column(name, justify="right")
    for name, row in zip(cm["labels"], cm["matrix"]):
        conf.add_row(name, *map(str, row))
    console.print(conf)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _batch_size(args) -> dict:
    """--batch_size when given; otherwise the model's prediction default (Classifier.batch_size)."""
    return {} if args.batch_size is None else {"batch_size": args.batch_size}


def _write_json(path: str, obj) -> None:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
    except OSError as err:
        raise TextclfError(f"cannot write {path}: {err.strerror}") from err


# -- predict --------------------------------------------------------------------------------------


def predict_command(argv: list[str]) -> int:
    p = _Parser(prog="textclf predict", description="Labels for texts, from a checkpoint alone.")
    p.add_argument("checkpoint", help="a checkpoint (best.ckpt), an ensemble or baseline checkpoint, or a model.onnx")
    p.add_argument("texts", nargs="*", help="texts to classify (a lone - reads stdin)")
    p.add_argument("--input", help="a .txt file (one text per line), .csv/.tsv/.jsonl/.json/.parquet, or - for stdin")
    p.add_argument("--data.text_column", "--text_column", dest="text_column",
                   help="text column of a table --input (detected when unset)")
    p.add_argument("--data.encoding", "--encoding", dest="encoding", help="encoding of an --input file that is not UTF-8")
    p.add_argument("--output", help="predictions.jsonl, .csv, .tsv or .parquet (the input's other columns kept); "
                   "default JSON lines on stdout")
    p.add_argument("--top_k", type=_positive_int, help="keep the k most likely labels in probs (k >= 1)")
    p.add_argument("--strict", action="store_true", help="an empty line or text is an error (default: a null prediction)")
    p.add_argument("--batch_size", type=_positive_int, help=BATCH_SIZE_HELP)
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU): faster, slightly less exact")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: autocast to bfloat16, faster on CPUs with AMX/AVX512-BF16 and on GPUs")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the transformer encoder: tens of seconds once, then faster (large inputs)")
    args = p.parse_args(argv)
    if args.texts == ["-"] and not args.input:
        args.texts, args.input = [], "-"
    if bool(args.texts) == bool(args.input):
        raise TextclfError("give texts as arguments or --input FILE (or - for stdin), not both and not neither")

    from textclf.serve.loading import load_classifier
    from textclf.serve.predict_io import Chunk, Writer, read_chunks
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint, quantize=args.quantize, precision=args.precision, compile=args.compile)
    chunks = iter([Chunk(list(args.texts), 1, {})]) if args.texts else read_chunks(args.input, args.text_column, args.encoding)
    where = "line" if not args.input or args.input == "-" or args.input.lower().endswith(".txt") else "row"
    writer, empty, ok = Writer(args.output, clf.label_names), [], False
    try:
        for chunk in chunks:
            blank = [i for i, t in enumerate(chunk.texts) if t is None or not t.strip()]
            if blank and args.strict:
                raise TextclfError(f"{where} {chunk.first + blank[0]} of {args.input or 'the texts'} is empty: "
                                   "fill it in or remove it, or drop --strict to get a null prediction for it")
            empty += [chunk.first + i for i in blank]
            keep = [i for i, t in enumerate(chunk.texts) if t is not None and t.strip()]
            found = dict(zip(keep, clf.predict([chunk.texts[i] for i in keep], top_k=args.top_k, **_batch_size(args))
                         if keep else []))
            records = [found.get(i) or {"text": t or "", "label": None, "score": None, "probs": None}
                       for i, t in enumerate(chunk.texts)]
            writer.write(records, chunk.columns)
        ok = True
    finally:
        writer.close(ok)
    if empty:
        shown = ", ".join(map(str, empty[:5])) + (", ..." if len(empty) > 5 else "")
        print(f"textclf predict: {len(empty):,} empty text(s) got a null prediction ({where}s {shown}); --strict makes "
              "an empty text an error", file=sys.stderr)
    return 0


# -- embed ----------------------------------------------------------------------------------------

EMBED_FORMATS = (".npy", ".parquet")


def embed_command(argv: list[str]) -> int:
    p = _Parser(prog="textclf embed", description="The pooled vector the classifier head sees, one row per text.")
    p.add_argument("checkpoint")
    p.add_argument("texts", nargs="*", help="texts to embed")
    p.add_argument("--input", help="a .txt file (one text per line), .csv/.tsv/.jsonl/.json/.parquet, or - for stdin")
    p.add_argument("--data.text_column", "--text_column", dest="text_column",
                   help="text column of a table --input (detected when unset)")
    p.add_argument("--data.encoding", "--encoding", dest="encoding", help="encoding of an --input file that is not UTF-8")
    p.add_argument("--output", required=True, help="vectors.npy (an N x D float32 array, input order) or "
                   "vectors.parquet (the text, the input's other columns, and a `vector` column)")
    p.add_argument("--batch_size", type=_positive_int, help=BATCH_SIZE_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)
    if bool(args.texts) == bool(args.input):
        raise TextclfError("give texts as arguments or --input FILE (or - for stdin), not both and not neither")
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in EMBED_FORMATS:
        raise TextclfError(f"--output {args.output}: write {' or '.join(EMBED_FORMATS)} (e.g. --output vectors.npy)")
    if os.path.exists(args.output) and not args.overwrite:
        raise TextclfError(f"--output {args.output} exists: choose another path or pass --overwrite to replace it")

    from textclf.serve.loading import load_classifier
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint)
    texts, columns = list(args.texts), {}
    if args.input:
        from textclf.serve.predict_io import read_chunks

        for chunk in read_chunks(args.input, args.text_column, args.encoding):
            blank = [i for i, t in enumerate(chunk.texts) if t is None]
            if blank:
                raise TextclfError(f"text {chunk.first + blank[0]} of {args.input} is empty: a vector needs a text; "
                                   "fill it in or remove it")
            texts += chunk.texts
            for name, values in chunk.columns.items():
                columns.setdefault(name, []).extend(values)
    vectors = clf.embed(texts, **_batch_size(args))
    _write_vectors(args.output, vectors, texts, columns)
    print(f"{args.output}: {vectors.shape[0]:,} vectors of {vectors.shape[1]}", file=sys.stderr)
    return 0


def _write_vectors(path: str, vectors, texts: list[str], columns: dict[str, list]) -> None:
    """vectors.npy, or a Parquet table of the text, the input's other columns and the vectors; an earlier
    file stays whole if the write fails."""
    import numpy as np

    from textclf.model.checkpoint import write_whole

    def write(tmp: str) -> None:
        if path.lower().endswith(".npy"):
            with open(tmp, "wb") as f:
                np.save(f, vectors)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = {"text": texts, **{c: v for c, v in columns.items() if c != "text"},
                 "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])}
        pq.write_table(pa.table(table), tmp)

    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_whole(path, write)
    except OSError as err:
        raise TextclfError(f"cannot write {path}: {err.strerror}") from err


def analyze_command(argv: list[str]) -> int:
    p = _Parser(prog="textclf analyze", description="Compare the pooled representations of trained checkpoints: "
                "linear CKA, neighbour agreement, linear probes and 2-D maps.")
    p.add_argument("checkpoints", nargs="+", help="checkpoints, run directories or textclf compare outputs")
    p.add_argument("--data.path", "--data", dest="data",
                   help="hub id, dataset folder or file (default: the first checkpoint's training data)")
    p.add_argument("--data.name", "--name", dest="name", help="hub config name of --data.path")
    p.add_argument("--data.text_column", "--text_column", dest="text_column", help="text column of --data.path")
    p.add_argument("--data.label_column", "--label_column", dest="label_column", help="label column of --data.path")
    p.add_argument("--data.encoding", "--encoding", dest="encoding", help="encoding of a --data.path file that is not UTF-8")
    p.add_argument("--split", default="test", help="split to analyse (default test)")
    p.add_argument("--output", required=True, help="report folder")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier analysis in --output")
    args = p.parse_args(argv)
    from textclf.compare.analyze import analyze

    source = None
    if args.data:
        source = {"path": args.data, "name": args.name, "encoding": args.encoding,
                  "text_column": args.text_column, "label_column": args.label_column}
    res = analyze(args.checkpoints, source, _split(args.split), args.output, args.overwrite)
    for line in res["findings"]:
        print(f"- {line}")
    print(f"report: {os.path.join(args.output, 'report.md')}")
    return 0


# -- serve ----------------------------------------------------------------------------------------


def serve_command(argv: list[str]) -> int:
    p = _Parser(prog="textclf serve", description="An HTTP server that answers POST /predict as textclf predict does "
                "(OpenAPI docs at /docs).")
    p.add_argument("checkpoint")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max_batch", type=_positive_int, default=64,
                   help="texts of concurrent requests run as one batch, at most (default 64)")
    p.add_argument("--max_wait_ms", type=float, default=5.0,
                   help="how long a batch waits for more requests before it runs (default 5 ms)")
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU)")
    args = p.parse_args(argv)
    _require("serve", ("fastapi", "uvicorn"), "pip install 'fastapi>=0.110' 'uvicorn>=0.29'")
    from textclf.serve.loading import load_classifier
    from textclf.serve.http import serve
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint, quantize=args.quantize)
    print(f"serving {args.checkpoint} ({', '.join(clf.label_names)}) on http://{args.host}:{args.port} "
          f"(docs: /docs); Ctrl-C stops", file=sys.stderr, flush=True)
    serve(clf, args.host, args.port, args.max_batch, args.max_wait_ms, name=os.path.basename(args.checkpoint))
    return 0


def _require(command: str, modules: tuple[str, ...], install: str) -> None:
    """A one-line error naming the missing optional package of `command` and how to install it."""
    import importlib.util

    for name in modules:
        if importlib.util.find_spec(name) is None:
            raise TextclfError(f"textclf {command} needs {name}: {install}")


def export_command(argv: list[str]) -> int:
    p = _Parser(prog="textclf export", description="Export a checkpoint's network for other runtimes.")
    p.add_argument("checkpoint")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="onnx: token ids and lengths in, logits out, "
                   "dynamic batch and length; tokenizer, labels and preprocessing in the file's metadata")
    p.add_argument("--output", required=True, help="e.g. model.onnx")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)
    _require("export", ("onnx", "onnxruntime"), "pip install 'onnx>=1.16' 'onnxruntime>=1.18'")
    from textclf.serve.onnx_export import export_onnx
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    done = export_onnx(args.checkpoint, args.output, args.overwrite)
    print(f"{done['output']}: {done['encoder']} network, {done['bytes'] / 2**20:.1f} MiB; onnxruntime's logits within "
          f"{done['max_abs_diff']:.1g} of the checkpoint's. Use it like a checkpoint: textclf predict {done['output']} "
          "\"a text\"")
    return 0


def compare_command(argv: list[str]) -> int:
    from textclf.compare.plan import parse_duration, parse_vary
    from textclf.compare.runner import run_comparison
    from textclf.model.encoders import ENCODERS, encoder_class

    p = _Parser(
        prog="textclf compare",
        description="Train every encoder on the same data, tokenizer and budget over several seeds, and report.",
        epilog="Other flags (--model.*, --data.*, --trainer.*) are passed to every run.",
    )
    p.add_argument("--config", required=True, help="a config of configs/, e.g. configs/sst2.yaml")
    p.add_argument("--encoders", default=",".join(ENCODERS), help="comma-separated encoders")
    p.add_argument("--seeds", type=int, default=3, help="seeds per encoder (1, 2, ... N)")
    p.add_argument("--vary", action="append", default=[], help="KEY=V1,V2: another axis, e.g. model.init=default,orthogonal")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max_epochs", type=int, help="epochs per run (default: the config's)")
    budget.add_argument("--max_time", help="wall time per run, e.g. 10m")
    p.add_argument("--output", required=True, help="report folder, e.g. reports/sst2")
    p.add_argument("--no_tfidf", action="store_true", help="skip the TF-IDF + logistic regression reference")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an --output made by another config or data (once the new comparison has finished)")
    args, passthrough = p.parse_known_args(argv)
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    for name in encoders:
        encoder_class(name)  # an unknown name: the registry's error, listing the known ones
    if args.seeds < 1:
        raise TextclfError("--seeds must be at least 1")
    _only_config_flags(passthrough, "compare")
    axes = parse_vary(args.vary)
    budget_args = []
    if args.max_epochs:
        budget_args = ["--trainer.max_epochs", str(args.max_epochs)]
    elif args.max_time:
        budget_args = ["--trainer.max_time", parse_duration(args.max_time)]
    return run_comparison(args.config, encoders, list(range(1, args.seeds + 1)), axes, budget_args, passthrough,
                          args.output, tfidf=not args.no_tfidf, overwrite=args.overwrite)


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "train": train_command,
    "evaluate": evaluate_command,
    "predict": predict_command,
    "embed": embed_command,
    "serve": serve_command,
    "export": export_command,
    "compare": compare_command,
    "analyze": analyze_command,
    "tune": tune_command,
    "baseline": baseline_command,
    "ensemble": ensemble_command,
    "data": data_command,
}


if __name__ == "__main__":
    sys.exit(main())
