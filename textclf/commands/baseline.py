"""`textclf baseline`: TF-IDF + logistic regression on train's data and splits, saved as a run (textclf.baseline)."""

from __future__ import annotations

from textclf.commands.help import short_help, wants_help


def run(argv: list[str]) -> int:
    if wants_help(argv):
        print(short_help("baseline"))
        return 0
    from textclf.baseline.training import baseline
    from textclf.commands.tables import print_run_summary

    print_run_summary(baseline(argv))
    return 0
