"""`textclf analyze RUN|CKPT|COMPARE_DIR ... --output DIR` (textclf.compare.analyze)."""

from __future__ import annotations

import os

from textclf.commands import flags


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf analyze", description="Compare the pooled representations of trained checkpoints: "
                     "linear CKA, neighbour agreement, linear probes and 2-D maps.")
    p.add_argument("checkpoints", nargs="+", help="checkpoints, run directories or textclf compare outputs")
    flags.add_data_source(p, "the first checkpoint's training data")
    p.add_argument("--split", default="test", help="split to analyse (default test)")
    p.add_argument("--output", required=True, help="report folder")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier analysis in --output")
    args = p.parse_args(argv)
    from textclf.compare.analyze import analyze

    res = analyze(args.checkpoints, flags.data_source(args), flags.split_name(args.split), args.output, args.overwrite)
    for line in res["findings"]:
        print(f"- {line}")
    print(f"report: {os.path.join(args.output, 'report.md')}")
    return 0
