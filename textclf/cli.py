"""The `textclf` command: dispatches to one module per command (textclf.commands, `COMMANDS` at the bottom).

Every user error is one line on stderr naming the problem and the fix, exit code 2, no traceback
(`--debug` shows it); an interrupt exits with 128 + the signal.
"""

from __future__ import annotations

import importlib
import os
import sys

from textclf.errors import Interrupted, TextclfError
from textclf.logs import quiet_libraries

USAGE = """usage: textclf {train,pretrain,evaluate,predict,embed,serve,export,compare,analyze,tune,baseline,ensemble,data} ...

  train     --config configs/sst2.yaml [--model.encoder lstm] [--trainer.max_epochs 5] [--seed 1] [--run_dir runs/x]
  pretrain  --data.path CORPUS [--model.encoder gru] [--budget 20m] --run_dir runs/p   (then: train --model.pretrained runs/p)
  evaluate  runs/x/best.ckpt [--data PATH_OR_HUB_ID] [--split test] [--output metrics.json]
  predict   runs/x/best.ckpt "a text" ... | --input FILE|- [--output preds.jsonl] [--top_k 2] [--device auto]
  embed     runs/x/best.ckpt "a text" ... | --input FILE|- [--output vectors.npy|.parquet|.jsonl]   (pooled vectors)
  serve     runs/x/best.ckpt [--port 8000]   (HTTP: POST /predict {"texts": [...]}, docs at /docs)
  export    runs/x/best.ckpt --format onnx --output model.onnx   (predict/serve/evaluate take the .onnx too)
  compare   --config configs/sst2.yaml | --data.* ... --encoders bag,rnn,lstm,gru,transformer --seeds 3 --output reports/sst2
  analyze   runs/a runs/b reports/sst2 ... --output reports/reps   (compare the pooled representations)
  tune      --config configs/sst2.yaml | --data.* ... --encoder gru --budget 20m --output tune/sst2-gru   (then: train --config tune/sst2-gru/best.yaml)
  baseline  --config configs/sst2.yaml [--data.*] [--run_dir runs/t]   (TF-IDF + logistic regression: the number to beat)
  ensemble  runs/a/best.ckpt runs/b/best.ckpt ... --output runs/ab.ckpt   (predict averages the members)
  data      --config configs/sst2.yaml [--data.*]   (load, tokenize and report on the data)

Run `textclf COMMAND --help` for a command's options; --verbose shows the libraries' own messages, --debug
also tracebacks; --version prints the version."""


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
    quiet_libraries(debug)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    try:
        if command not in COMMANDS:
            raise TextclfError(f"unknown command {command!r}: choose one of {', '.join(COMMANDS)}")
        return importlib.import_module(f"textclf.commands.{command}").run(rest) or 0
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


# the commands in the order of USAGE; each is the module textclf.commands.<name>, imported when it runs
COMMANDS = ("train", "pretrain", "evaluate", "predict", "embed", "serve", "export", "compare", "analyze", "tune", "baseline",
            "ensemble", "data")


if __name__ == "__main__":
    sys.exit(main())
