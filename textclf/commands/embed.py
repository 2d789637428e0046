"""`textclf embed CKPT "a text" ... | --input FILE [--output vectors.npy|.parquet|.jsonl]`: the pooled vectors
(JSON lines on stdout without --output)."""

from __future__ import annotations

import os
import sys

from textclf.commands import flags
from textclf.errors import TextclfError
from textclf.files import check_output

FORMATS = (".npy", ".parquet", ".jsonl")


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf embed", description="The pooled vector the classifier head sees, one row per text.")
    p.add_argument("checkpoint")
    flags.add_text_input(p, "texts to embed")
    p.add_argument("--output", help="vectors.npy (an N x D float32 array, input order), vectors.parquet or "
                   ".jsonl (the text or the input's columns, and a `vector` column); default JSON lines on stdout")
    flags.add_batch_size(p)
    flags.add_device(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    flags.add_output_columns(p, "vector")
    args = p.parse_args(argv)
    flags.check_text_input(args)
    ext = os.path.splitext(args.output)[1].lower() if args.output else ".jsonl"
    if ext not in FORMATS:
        raise TextclfError(f"--output {args.output}: write {', '.join(FORMATS)} (e.g. --output vectors.npy)")
    if args.output:
        check_output(args.output, args.overwrite, inputs=[args.checkpoint, args.input])

    from textclf.commands.progress import TextProgress, bar_wanted
    from textclf.serve.loading import load_classifier
    from textclf.serve.predictions import in_slices
    from textclf.serve.record_output import renamed, vector_names, write_vectors
    from textclf.serve.text_input import read_chunks
    from textclf.training.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint, device=args.device)
    texts, columns = list(args.texts), {}
    if args.input:
        for chunk in read_chunks(args.input, args.text_column, args.encoding):
            blank = [i for i, t in enumerate(chunk.texts) if t is None]
            if blank:
                raise TextclfError(f"text {chunk.first + blank[0]} of {args.input} is empty: a vector needs a text; "
                                   "fill it in or remove it")
            texts += chunk.texts
            for name, values in chunk.columns.items():
                columns.setdefault(name, []).extend(values)
    names = vector_names(columns, args.prefix) if ext != ".npy" else {}  # a clash stops us before the work
    note = renamed(names) if args.prefix is None else None
    with TextProgress("embed", len(texts), show=bar_wanted(args.output)) as progress:
        vectors = in_slices(lambda t: clf.embed(t, **flags.batch_size(args)), texts, progress.advance)
    write_vectors(args.output, vectors, texts, columns, args.prefix)
    if note:
        print(f"textclf embed: {note}", file=sys.stderr)
    if args.input or args.output:
        progress.done(args.output or "stdout", f"vectors of {vectors.shape[1]}")
    return 0
