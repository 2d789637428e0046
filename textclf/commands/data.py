"""`textclf data`: load and tokenize the data of train's config and flags, and print each split's statistics
once (a table) and its examples per class, naming the smallest class."""

from __future__ import annotations

from textclf.commands.help import short_help, wants_help


def run(argv: list[str]) -> int:
    if wants_help(argv):
        print(short_help("data"))
        return 0
    from rich.console import Console
    from rich.table import Table

    from textclf.training.arguments import parse_train_args
    from textclf.training.run import prepare_data

    cli = parse_train_args(argv)
    dm = cli.datamodule
    dm.report_splits = False  # the table below says it once
    prepare_data(cli)
    kind = "labels (multi-label: several per text)" if dm.multi_label else "classes"
    table = Table(title=f"{dm.source_name}: {dm.num_classes} {kind}, vocabulary {dm.vocab_size:,}")
    for col in ("split", "texts", "mean", "p50", "p95", "max", "truncated"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, s in dm.stats.items():
        table.add_row(split, f"{s['examples']:,}", f"{s['mean']:.1f}", f"{s['p50']:.0f}", f"{s['p95']:.0f}",
                      f"{s['max']}", f"{100 * s['truncated']:.1f}%")
    console = Console()
    console.print(table)
    # a multi-label split's shares are of its texts (a text counts once for each of its labels)
    totals = {split: s["examples"] if dm.multi_label else sum(s["classes"]) for split, s in dm.stats.items()}
    console.print(class_table(dm.label_names, {split: s["classes"] for split, s in dm.stats.items()}, totals,
                              "texts per label" if dm.multi_label else "examples per class"))
    train, total = dm.stats["train"]["classes"], totals["train"]
    smallest = min(range(len(train)), key=train.__getitem__)
    print(f"smallest {'label' if dm.multi_label else 'class'} in train: {dm.label_names[smallest]} ({train[smallest]:,} "
          f"of {total:,}, {100 * train[smallest] / max(total, 1):.1f}%); data step {dm.setup_seconds:.2f}s")
    return 0


def class_table(label_names: list[str], counts: dict[str, list[int]], totals: dict[str, int], title: str):
    """Examples per class and split, with each class's share of the split's `totals`."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("class")
    for split in counts:
        table.add_column(split, justify="right")
    for i, name in enumerate(label_names):
        cells = [f"{c[i]:,} ({100 * c[i] / max(totals[split], 1):.1f}%)" for split, c in counts.items()]
        table.add_row(name, *cells)
    return table
