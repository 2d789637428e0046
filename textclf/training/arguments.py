"""`textclf train`'s arguments: LightningCLI (config files, dotted --model.*, --data.*, --trainer.* flags)
with parser errors in one line, and `--resume` reading the run's own config.yaml.

`parse_train_args` builds the model and the data module but not the trainer: the data is loaded and
checked before anything is written (textclf.training.run).
"""

from __future__ import annotations

import os
from typing import Optional

import lightning as L
from jsonargparse import ActionYesNo
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from textclf.data.datamodule import TextDataModule
from textclf.errors import TextclfError
from textclf.model.checkpoint import RETIRED_OPTIONS, upgrade_model_options
from textclf.model.pretrained_run import is_pretraining_run
from textclf.training.console import quiet_lightning
from textclf.training.module import LitTextClassifier
from textclf.training.run_dir import RESUME_OR_OVERWRITE

quiet_lightning(verbose=os.environ.get("TEXTCLF_VERBOSE") == "1")

# epochs when --trainer.max_epochs is not given: the recipe of encoders trained from scratch, and of a
# pretrained model, which needs only a few passes to fine-tune (both chosen on validation: docs/recipe.md)
EPOCHS, PRETRAINED_EPOCHS = 8, 3
TRAINER_DEFAULTS = {
    "max_epochs": None,  # EPOCHS or PRETRAINED_EPOCHS (TextclfCLI.before_instantiate_classes)
    "gradient_clip_val": 1.0,
    "num_sanity_val_steps": 0,
    "log_every_n_steps": 20,
    "enable_model_summary": False,  # the model logs its own parameter counts: embedding / encoder / head
    # batches are sharded across ranks by our length-bucketing sampler, not Lightning's
    "use_distributed_sampler": False,
}


class ParserError(TextclfError):
    """A bad flag or config value, reported in one line."""


class TextclfArgumentParser(LightningArgumentParser):
    def error(self, message: str, ex: Exception | None = None):
        raise ParserError(_one_line_parser_error(self, message))


def _one_line_parser_error(parser, message: str) -> str:
    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    if "unrecognized arguments:" in text.lower():
        bad = text[text.lower().index("unrecognized arguments:") + len("unrecognized arguments:"):].split()[0]
        group = bad.lstrip("-").split(".")[0] if "." in bad else ""
        keys = sorted(k for k in parser.get_defaults().keys() if (k.startswith(group + ".") if group else "." not in k))
        names = [k.split(".", 1)[1] if group else k for k in keys if k not in ("help", "config", "print_config")]
        hint = f"valid --{group}.* flags: {', '.join(names)}" if group else f"valid flags: --{', --'.join(names)}"
        return f"unknown flag {bad}; {hint} (see textclf train --help)"
    return text


class TextclfCLI(LightningCLI):
    """LightningCLI without auto-run: `--model.*`, `--data.*`, `--trainer.*`, plus run options."""

    def add_default_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Seed of weights, data carving and batch order.")

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_dir", type=Optional[str], default=None,
                            help="Run directory (default runs/<dataset>-<encoder>-<timestamp>).")
        parser.add_argument("--overwrite", action=ActionYesNo, default=False,
                            help="Replace an existing run directory (only once the new run has finished).")
        parser.add_argument("--resume", action=ActionYesNo, default=False,
                            help="Continue the run in --run_dir from its last.ckpt.")
        parser.add_argument("--patience", type=int, default=3,
                            help="Early stopping: epochs without a better validation macro-F1.")

    def _set_seed(self) -> None:
        L.seed_everything(self.config["seed"], workers=True, verbose=False)

    def before_instantiate_classes(self) -> None:
        # the data split follows --seed unless --data.seed fixes it (compare keeps one split for all seeds)
        if self.config["data"]["seed"] is None:
            self.config["data"]["seed"] = self.config["seed"]
        trainer = self.config["trainer"]
        if trainer["max_epochs"] is None and trainer.get("max_steps", -1) in (None, -1):
            pretrained = self.config["model"]["pretrained"]
            # a Hugging Face model fine-tunes in a few passes; a pretraining run's encoder trains as from scratch
            trainer["max_epochs"] = PRETRAINED_EPOCHS if pretrained and not is_pretraining_run(pretrained) else EPOCHS

    def instantiate_classes(self) -> None:
        """Model and data only: the trainer waits until the data is known to be good."""
        self.config_init = self.parser.instantiate_classes(self.config)
        self.datamodule = self.config_init["data"]
        self.model = self.config_init["model"]


def parse_train_args(argv: list[str]) -> TextclfCLI:
    """Parse `textclf train` arguments (config files, dotted flags) and build model and data."""
    argv = with_resumed_config(argv)
    return TextclfCLI(
        LitTextClassifier,
        TextDataModule,
        run=False,
        args=argv,
        save_config_callback=None,
        auto_configure_optimizers=False,
        trainer_defaults=TRAINER_DEFAULTS,
        parser_class=TextclfArgumentParser,
        parser_kwargs={"prog": "textclf train", "description": "Train a text classifier.", "allow_abbrev": False},
    )


def with_resumed_config(argv: list[str]) -> list[str]:
    """`--resume --run_dir X`: start from X/config.yaml, so the resumed run is the same run."""
    if "--resume" not in argv:
        return argv
    if "--overwrite" in argv:
        raise TextclfError(RESUME_OR_OVERWRITE)
    run_dir = _flag_value(argv, "--run_dir")
    if run_dir is None:
        raise TextclfError("--resume needs --run_dir: the run directory to continue")
    config = os.path.join(run_dir, "config.yaml")
    if not os.path.exists(os.path.join(run_dir, "last.ckpt")):
        raise TextclfError(f"cannot resume: {run_dir} has no last.ckpt (train into it first, without --resume)")
    return ["--config", _upgraded_config(config), *argv] if os.path.exists(config) else argv


def _upgraded_config(path: str) -> str:
    """The run's config.yaml as this version reads it: the path itself, or for a run trained before the
    package layout (its model section named speed switches, data sizes and every encoder's options)
    the config upgraded by `upgrade_model_options`, as a YAML string."""
    import yaml

    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    model = config.get("model") or {}
    if not any(key in model for key in RETIRED_OPTIONS):
        return path
    config["model"] = upgrade_model_options(model)
    return yaml.safe_dump(config)


def _flag_value(argv: list[str], flag: str) -> str | None:
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None
