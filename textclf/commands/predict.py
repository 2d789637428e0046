"""`textclf predict CKPT "a text" ... | --input FILE`: labels from a checkpoint alone, as JSON lines or a file."""

from __future__ import annotations

import sys

from textclf.commands import flags
from textclf.files import check_output


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf predict", description="Labels for texts, from a checkpoint alone.")
    p.add_argument("checkpoint", help="a checkpoint (best.ckpt), an ensemble or baseline checkpoint, or a model.onnx")
    flags.add_text_input(p, "texts to classify (a lone - reads stdin)")
    p.add_argument("--output", help="predictions.jsonl, .csv, .tsv or .parquet (the input's columns kept); "
                   "default JSON lines on stdout")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    flags.add_output_columns(p, "label, score, probs or prob_<label>")
    p.add_argument("--top_k", type=flags.positive_int, help="keep the k most likely labels in probs (k >= 1); a "
                   "multi-label model's labels: at most k")
    p.add_argument("--threshold", type=float, help="a multi-label model's decision threshold for every label "
                   "(default: its own, chosen on validation)")
    p.add_argument("--strict", action="store_true", help="an empty line or text is an error (default: a null prediction)")
    flags.add_batch_size(p)
    flags.add_device(p)
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU): faster, slightly less exact")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: autocast to bfloat16, faster on CPUs with AMX/AVX512-BF16 and on GPUs")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the transformer encoder: tens of seconds once, then faster (large inputs)")
    args = p.parse_args(argv)
    if args.texts == ["-"] and not args.input:
        args.texts, args.input = [], "-"
    flags.check_text_input(args)
    if args.output:
        check_output(args.output, args.overwrite, inputs=[args.checkpoint, args.input])

    from textclf.commands.progress import TextProgress, bar_wanted, count_texts
    from textclf.serve.loading import load_classifier
    from textclf.serve.record_output import Writer, predict_chunks
    from textclf.serve.text_input import Chunk, read_chunks
    from textclf.training.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint, device=args.device, quantize=args.quantize, precision=args.precision,
                          compile=args.compile)
    clf.decision_thresholds(args.threshold)  # --threshold on a single-label model, or out of [0, 1]: an error now
    chunks = iter([Chunk(list(args.texts), 1, {})]) if args.texts else read_chunks(args.input, args.text_column, args.encoding)
    where = "line" if not args.input or args.input == "-" or args.input.lower().endswith(".txt") else "row"
    writer, ok = Writer(args.output, clf.label_names, args.prefix), False
    try:
        show = bool(args.input) and bar_wanted(args.output)
        with TextProgress("predict", count_texts(args.input, args.texts) if show else None, show=show) as progress:
            empty = predict_chunks(clf, chunks, writer, args.input or "the texts", where, strict=args.strict,
                                   top_k=args.top_k, progress=progress.advance, threshold=args.threshold,
                                   **flags.batch_size(args))
        ok = True
    finally:
        writer.close(ok)
    if writer.renamed:
        print(f"textclf predict: {writer.renamed}", file=sys.stderr)
    if empty:
        shown = ", ".join(map(str, empty[:5])) + (", ..." if len(empty) > 5 else "")
        print(f"textclf predict: {len(empty):,} empty text(s) got a null prediction ({where}s {shown}); --strict makes "
              "an empty text an error", file=sys.stderr)
    if args.input:
        progress.done(args.output or "stdout")
    return 0
