"""`textclf embed CKPT "a text" ... | --input FILE --output vectors.npy|.parquet`: the pooled vectors."""

from __future__ import annotations

import os
import sys

from textclf.commands import flags
from textclf.errors import TextclfError
from textclf.files import check_output

FORMATS = (".npy", ".parquet")


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf embed", description="The pooled vector the classifier head sees, one row per text.")
    p.add_argument("checkpoint")
    flags.add_text_input(p, "texts to embed")
    p.add_argument("--output", required=True, help="vectors.npy (an N x D float32 array, input order) or "
                   "vectors.parquet (the text, the input's other columns, and a `vector` column)")
    flags.add_batch_size(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    flags.add_output_columns(p, "vector")
    args = p.parse_args(argv)
    flags.check_text_input(args)
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in FORMATS:
        raise TextclfError(f"--output {args.output}: write {' or '.join(FORMATS)} (e.g. --output vectors.npy)")
    check_output(args.output, args.overwrite, inputs=[args.checkpoint, args.input])

    from textclf.serve.loading import load_classifier
    from textclf.serve.record_output import renamed, vector_names, write_vectors
    from textclf.serve.text_input import read_chunks
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint)
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
    names = vector_names(columns, args.prefix) if ext == ".parquet" else {}  # a clash stops us before the work
    note = renamed(names) if args.prefix is None else None
    vectors = clf.embed(texts, **flags.batch_size(args))
    write_vectors(args.output, vectors, texts, columns, args.prefix)
    if note:
        print(f"textclf embed: {note}", file=sys.stderr)
    print(f"{args.output}: {vectors.shape[0]:,} vectors of {vectors.shape[1]}", file=sys.stderr)
    return 0
