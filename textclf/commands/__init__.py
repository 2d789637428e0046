"""The `textclf` commands, one module each, every one with a `run(argv) -> exit code`.

Each module owns its parser (argparse, or LightningCLI's through textclf.training.arguments for the commands
that read train's configs: train, data, baseline) and the small amount of glue between the arguments and
the library; the flag groups several commands share are declared once in flags.py, and what the commands
print as tables in tables.py. textclf.cli dispatches to them.
"""
