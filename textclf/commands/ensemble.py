"""`textclf ensemble A.ckpt B.ckpt ... --output E.ckpt` (textclf.serve.ensemble)."""

from __future__ import annotations

from textclf.commands import flags


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf ensemble", description="One checkpoint whose predict averages the class "
                     "probabilities of several (e.g. the seeds of one config).")
    p.add_argument("checkpoints", nargs="+", help="two or more checkpoints trained on the same labels")
    p.add_argument("--output", required=True, help="the ensemble checkpoint to write, e.g. runs/sst2-ensemble.ckpt")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)

    from textclf.serve.ensemble import make_ensemble

    archive = make_ensemble(args.checkpoints, args.output, args.overwrite)
    print(f"{args.output}: {len(archive['members'])} members, labels {', '.join(archive['label_names'])}")
    return 0
