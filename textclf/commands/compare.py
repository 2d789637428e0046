"""`textclf compare [--config C] [--data.* ...] --encoders ... --seeds N --output DIR` (textclf.compare.runner)."""

from __future__ import annotations

from textclf.commands import flags
from textclf.errors import TextclfError


def run(argv: list[str]) -> int:
    from textclf.compare.plan import parse_vary
    from textclf.compare.runner import run_comparison
    from textclf.model.encoders import ENCODERS, FROM_SCRATCH, encoder_class

    p = flags.Parser(
        prog="textclf compare",
        description="Train every encoder on the same data, tokenizer and budget over several seeds, and report.",
        epilog="Other flags (--model.*, --data.*, --trainer.*) are passed to every run.",
    )
    p.add_argument("--config", help="a config of configs/, e.g. configs/sst2.yaml (or give the data with --data.* "
                   "flags, as train takes them; without either, train's default data)")
    p.add_argument("--encoders", help=f"comma-separated encoders (default {','.join(FROM_SCRATCH)}, and pretrained "
                   "with --model.pretrained)")
    p.add_argument("--seeds", type=flags.positive_int, default=3, help="seeds per encoder (1, 2, ... N)")
    p.add_argument("--vary", action="append", default=[], help="KEY=V1,V2: another axis, e.g. model.init=default,orthogonal")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max_epochs", type=flags.positive_int, help="epochs per run (default: the config's)")
    budget.add_argument("--max_time", help="wall time per run, e.g. 10m")
    p.add_argument("--pretrain", metavar="CORPUS", help="also pretrain each encoder on this unlabelled text (textclf "
                   "pretrain) and compare every one from scratch and fine-tuned from it")
    p.add_argument("--pretrain_budget", default="10m", help="pretraining budget per encoder: 90s, 20m, 5Mtok (default 10m)")
    p.add_argument("--pretrain_add_train", action="store_true",
                   help="the comparison's training texts join the pretraining corpus (never its validation or test texts)")
    p.add_argument("--output", required=True, help="report folder, e.g. reports/sst2")
    p.add_argument("--no_tfidf", action="store_true", help="skip the TF-IDF + logistic regression reference")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an --output made by another config or data (once the new comparison has finished)")
    args, passthrough = p.parse_known_args(argv)
    pretrained = any(a == "--model.pretrained" or a.startswith("--model.pretrained=") for a in passthrough)
    if args.encoders is None:
        args.encoders = ",".join([*FROM_SCRATCH, *(["pretrained"] if pretrained else [])])
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    if not encoders:
        raise TextclfError(f"--encoders {args.encoders!r} names no encoder: give some of {', '.join(ENCODERS)}")
    if "pretrained" in encoders and not pretrained:
        raise TextclfError("--encoders names pretrained: give the model with --model.pretrained NAME_OR_FOLDER")
    for name in encoders:
        encoder_class(name)  # an unknown name: the registry's error, listing the known ones
    flags.only_config_flags(passthrough, "compare")
    axes = parse_vary(args.vary)
    budget_args = []
    if args.max_epochs is not None:
        budget_args = ["--trainer.max_epochs", str(args.max_epochs)]
    elif args.max_time is not None:
        budget_args = ["--trainer.max_time", flags.parse_duration(args.max_time)]
    return run_comparison(args.config, encoders, list(range(1, args.seeds + 1)), axes, budget_args, passthrough,
                          args.output, tfidf=not args.no_tfidf, overwrite=args.overwrite,
                          pretraining=_pretraining(args, encoders))


def _pretraining(args, encoders: list[str]):
    """The pretraining of `--pretrain`, checked; None without it."""
    if args.pretrain is None:
        if args.pretrain_add_train:
            raise TextclfError("--pretrain_add_train needs --pretrain CORPUS")
        return None
    from textclf.compare.pretraining import Pretraining
    from textclf.pretraining.budget import parse_budget
    from textclf.pretraining.module import ENCODERS as PRETRAINABLE

    parse_budget(args.pretrain_budget)
    if not any(e in PRETRAINABLE for e in encoders):
        raise TextclfError(f"--pretrain: none of the encoders {', '.join(encoders)} can be pretrained: include some of "
                           f"{', '.join(PRETRAINABLE)}")
    return Pretraining(args.pretrain, args.pretrain_budget, args.pretrain_add_train)
