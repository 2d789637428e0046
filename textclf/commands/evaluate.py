"""`textclf evaluate CKPT`: metrics of a checkpoint on labelled data (by default the data it was trained on)."""

from __future__ import annotations

import json
import sys

from textclf.commands import flags
from textclf.errors import TextclfError
from textclf.files import check_output, same_file, write_whole


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf evaluate", description="Metrics of a checkpoint on labelled data.")
    p.add_argument("checkpoint")
    flags.add_data_source(p, "the data the model was trained on")
    p.add_argument("--split", default="test", help="test, validation (dev, val) or train (without the rows carved "
                   "off as validation/test in training); default test")
    flags.add_batch_size(p)
    flags.add_device(p)
    p.add_argument("--output", help="write the metrics as JSON")
    p.add_argument("--predictions", help="write every example's gold label, predicted label, whether it is correct "
                   "and the probabilities (.jsonl, .csv, .tsv or .parquet), for error analysis")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output or --predictions")
    args = p.parse_args(argv)
    inputs = [args.checkpoint, args.data]
    for flag, path in (("--output", args.output), ("--predictions", args.predictions)):
        if path:
            check_output(path, args.overwrite, inputs, flag)
    if args.output and args.predictions and same_file(args.output, args.predictions):
        raise TextclfError("--output and --predictions name one file: give each its own")

    from textclf.commands.progress import TextProgress
    from textclf.commands.tables import print_evaluation
    from textclf.serve.evaluate import evaluate
    from textclf.serve.loading import load_classifier
    from textclf.training.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint, device=args.device)
    source = flags.data_source(args) or dict(clf.data_source)
    if not source:
        raise TextclfError(f"{args.checkpoint} does not record its training data: pass --data.path")
    data_files = [source.get("path"), *(source.get("files") or {}).values()]
    for flag, path in (("--output", args.output), ("--predictions", args.predictions)):
        if path:
            check_output(path, args.overwrite, data_files, flag)
    with TextProgress("evaluate") as progress:
        result = evaluate(clf, source, flags.split_name(args.split), examples=bool(args.predictions),
                          progress=progress, **flags.batch_size(args))
    examples = result.pop("examples_predicted", None)
    print_evaluation(result)
    if args.output:
        write_whole(args.output, lambda tmp: _write_json(tmp, result))
        print(f"metrics: {args.output}", file=sys.stderr)
    if args.predictions:
        from textclf.serve.record_output import Writer

        writer, ok = Writer(args.predictions, clf.label_names), False
        try:
            writer.write([{"text": r["text"], "gold": r["gold"], **_predicted(r), "correct": _correct(r),
                           "score": r["score"], "probs": r["probs"]} for r in examples], {})
            ok = True
        finally:
            writer.close(ok)
        wrong = sum(not _correct(r) for r in examples)
        print(f"predictions: {args.predictions} ({len(examples):,} examples, {wrong:,} wrong)", file=sys.stderr)
    progress.done(None, "texts scored")
    return 0


def _predicted(record: dict) -> dict:
    """The prediction a record is judged on: its label, or a multi-label model's labels."""
    return {"labels": record["labels"]} if "labels" in record else {"label": record["label"]}


def _correct(record: dict) -> bool:
    """Single-label: the label is the gold one; multi-label: the labels are exactly the gold ones."""
    if "labels" in record:
        return sorted(record["labels"]) == sorted(record["gold"])
    return record["gold"] == record["label"]


def _write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
