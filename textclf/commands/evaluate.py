"""`textclf evaluate CKPT`: metrics of a checkpoint on labelled data (by default the data it was trained on)."""

from __future__ import annotations

import json
import os

from textclf.commands import flags
from textclf.errors import TextclfError


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf evaluate", description="Metrics of a checkpoint on labelled data.")
    p.add_argument("checkpoint")
    flags.add_data_source(p, "the data the model was trained on")
    p.add_argument("--split", default="test", help="test, validation (dev, val) or train (without the rows carved "
                   "off as validation/test in training); default test")
    flags.add_batch_size(p)
    p.add_argument("--output", help="write the metrics as JSON")
    p.add_argument("--predictions", help="write every example's gold label, predicted label and probabilities "
                   "(.jsonl, .csv, .tsv or .parquet), for error analysis")
    args = p.parse_args(argv)

    from textclf.commands.tables import print_evaluation
    from textclf.serve.evaluate import evaluate
    from textclf.serve.loading import load_classifier
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint)
    source = flags.data_source(args) or dict(clf.data_source)
    if not source:
        raise TextclfError(f"{args.checkpoint} does not record its training data: pass --data.path")
    result = evaluate(clf, source, flags.split_name(args.split), examples=bool(args.predictions),
                      **flags.batch_size(args))
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


def _write_json(path: str, obj) -> None:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
    except OSError as err:
        raise TextclfError(f"cannot write {path}: {err.strerror}") from err
