"""`textclf data`: load and tokenize the data of train's config and flags, and print each split's statistics."""

from __future__ import annotations

from textclf.commands.help import short_help, wants_help


def run(argv: list[str]) -> int:
    if wants_help(argv):
        print(short_help("data"))
        return 0
    from rich.console import Console
    from rich.table import Table

    from textclf.train.arguments import parse_train_args
    from textclf.train.training import prepare_data

    cli = parse_train_args(argv)
    dm = cli.datamodule
    prepare_data(cli)
    table = Table(title=f"{dm.source_name}: {dm.num_classes} classes, vocabulary {dm.vocab_size:,}")
    for col in ("split", "texts", "mean", "p50", "p95", "max", "truncated"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, s in dm.stats.items():
        table.add_row(split, f"{s['examples']:,}", f"{s['mean']:.1f}", f"{s['p50']:.0f}", f"{s['p95']:.0f}",
                      f"{s['max']}", f"{100 * s['truncated']:.1f}%")
    Console().print(table)
    print(f"labels: {', '.join(dm.label_names)}; data step {dm.setup_seconds:.2f}s")
    return 0
