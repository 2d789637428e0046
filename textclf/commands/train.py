"""`textclf train`: a short --help of textclf's own options (--help=all: LightningCLI's, the Trainer's
included), one run (textclf.training.run), and its summary."""

from __future__ import annotations

from textclf.commands.help import short_help, wants_help


def run(argv: list[str]) -> int:
    if wants_help(argv) == "short":
        print(short_help("train"))
        return 0
    argv = ["--help" if a == "--help=all" else a for a in argv]
    from textclf.commands.tables import print_run_summary
    from textclf.training.run import train

    metrics = train(argv)
    if metrics is not None:
        print_run_summary(metrics)
    return 0
