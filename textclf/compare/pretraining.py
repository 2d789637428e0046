"""`textclf compare --pretrain CORPUS --pretrain_budget 10m`: every encoder that can be pretrained is
pretrained once on the corpus, under the same objective, tokenizer options and budget, and compared from
scratch and fine-tuned from its pretraining, over the same seeds.

The comparison gains an axis, `pretrain` (none, or the corpus's name), so the report's rows, its paired
bootstrap of each effect and its tables treat pretraining as they treat any varied field. The pretraining
runs live in OUTPUT/pretraining/<encoder> (resumed or reused as compare's runs are), and the report gets a
table of them: tokens, wall time, tokens/s and the held-out objective.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from textclf.compare.plan import PlannedRun
from textclf.compare.subprocesses import run_textclf
from textclf.data.corpus_module import WINDOW
from textclf.errors import TextclfError
from textclf.model.encoders import encoder_options
from textclf.model.pretrained_run import read_pretraining_run
from textclf.pretraining.module import ENCODERS as PRETRAINABLE

AXIS = "pretrain"
NONE = "none"
# the data flags of a comparison that shape the tokenizer: the pretraining runs take them too
TOKENIZER_FLAGS = ("--data.tokenizer", "--data.vocab_size", "--data.min_frequency", "--data.lowercase")
# and the model flags that size the encoder (a pretrained encoder is sized as the one trained from scratch)
SIZE_FLAGS = tuple(f"--model.{key}" for key in ("embedding_dim", "hidden_size", "num_layers", "bidirectional",
                                                "nonlinearity", "num_heads", "ff_dim", "positions"))


@dataclass
class Pretraining:
    corpus: str
    budget: str
    add_train: bool  # the comparison's training texts join the corpus

    @property
    def name(self) -> str:
        return os.path.splitext(os.path.basename(os.path.normpath(self.corpus)))[0] or "corpus"

    def axis(self) -> dict[str, list[str]]:
        return {AXIS: [NONE, self.name]}

    def args(self) -> list[str]:
        """What the comparison's fingerprint records of it."""
        return ["--pretrain", self.corpus, "--pretrain_budget", self.budget, "--pretrain_add_train", str(self.add_train)]


def keep(run: PlannedRun) -> bool:
    """Whether a planned run is one to train: an encoder that cannot be pretrained has no pretrained runs."""
    return run.vary.get(AXIS, NONE) == NONE or run.encoder in PRETRAINABLE


def run_flags(run: PlannedRun, output: str) -> list[str]:
    """The train flags of a planned run's place on the pretraining axis."""
    if run.vary.get(AXIS, NONE) == NONE:
        return []
    return ["--model.pretrained", run_dir(output, run.encoder)]


def run_dir(output: str, encoder: str) -> str:
    return os.path.join(output, "pretraining", encoder)


def pretrain_all(pretraining: Pretraining, encoders: list[str], passthrough: list[str], output: str,
                 data_path: str | None, max_length: int) -> list[dict]:
    """Pretrain every encoder that can be (each once, seed 1, in its own process); returns their metrics.
    `data_path`: the comparison's data, whose training texts join the corpus with `add_train`; `max_length`:
    the most tokens its runs read, which a pretrained Transformer's positions must cover as a scratch one's do."""
    if pretraining.add_train and not data_path:
        raise TextclfError("--pretrain_add_train adds the training texts of the comparison's --data.path: give the "
                           "data as --data.path (a folder, file or hub id), not --data.files")
    shared = []
    for i, arg in enumerate(passthrough):  # the size and tokenizer flags every run gets (not the learning rate,
        name = arg.split("=", 1)[0]  # dropout and the like: those are the classifier's)
        given = [arg] if "=" in arg else passthrough[i:i + 2]
        if name in SIZE_FLAGS or name in TOKENIZER_FLAGS:
            shared += given
    results = []
    for encoder in [e for e in encoders if e in PRETRAINABLE]:
        folder = run_dir(output, encoder)
        positioned = "max_positions" in encoder_options(encoder)
        if not os.path.exists(os.path.join(folder, "metrics.json")):
            args = ["--data.path", pretraining.corpus, "--model.encoder", encoder, "--budget", pretraining.budget,
                    "--run_dir", folder, "--seed", "1", "--trainer.enable_progress_bar", "false", *shared]
            if pretraining.add_train:
                args += ["--data.add_train", data_path]
            if positioned:  # positions past the pretraining window are learnt in fine-tuning
                args += ["--model.max_positions", str(max(max_length, WINDOW))]
            if os.path.exists(os.path.join(folder, "last.ckpt")):
                args = ["--run_dir", folder, "--resume"]
            elif os.path.isdir(folder) and os.listdir(folder):
                args.append("--overwrite")
            print(f"pretraining {encoder} on {pretraining.name} for {pretraining.budget}...", flush=True)
            run_textclf("pretrain", args, folder)
        positions = read_pretraining_run(folder).max_length if positioned else max_length
        if positions < max_length:  # a run pretrained before the positions covered the comparison's texts
            print(f"note: {folder} has {positions} positions, so its fine-tuned runs read at most {positions} "
                  f"tokens a text against the scratch runs' {max_length}; delete it to pretrain it again", flush=True)
        with open(os.path.join(folder, "metrics.json"), encoding="utf-8") as f:
            results.append(json.load(f))
    return results


def report_section(results: list[dict], pretraining: Pretraining) -> str:
    """The report's table of the pretraining runs."""
    added = " plus the comparison's training texts" if pretraining.add_train else ""
    lines = ["", "## Pretraining", "",
             f"Each encoder pretrained once (seed 1) on {pretraining.corpus}{added}, for {pretraining.budget}, "
             "with the masked-token objective; every `pretrain=" + pretraining.name + "` row is fine-tuned from it "
             "(`textclf train --model.pretrained`). Held-out: the corpus's held-out texts.", "",
             "| encoder | tokens | seconds | tokens/s | held-out masked-token acc | perplexity |",
             "|---|---|---|---|---|---|"]
    for m in results:
        held = m["held_out"]
        lines.append(f"| {m['encoder']} | {m['train_tokens']:,} | {m['train_seconds']:.0f} | "
                     f"{m['train_tokens_per_second']:,.0f} | {held['acc']:.4f} | {held['perplexity']:.1f} |")
    return "\n".join(lines) + "\n"
