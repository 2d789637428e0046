"""A pretraining budget: tokens (`--budget 5Mtok`, `200ktok`) or wall time (`--budget 20m`, `90s`, `1h`).

`BudgetCallback` counts the real (non-pad) tokens trained on and the training seconds, over every piece of
a resumed run (its state is in each checkpoint), stops the run when the budget is spent (Lightning then
validates and checkpoints once more), and gives the share spent, which the learning-rate schedule follows:
a token budget makes the same run to the bit, a time budget as much as the machine allows.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import lightning as L

from textclf.errors import TextclfError

TIME_UNITS = {"s": 1, "m": 60, "h": 3600}
TOKEN_UNITS = {"": 1, "k": 1_000, "M": 1_000_000, "G": 1_000_000_000}
FORMS = "a time (90s, 20m, 1.5h) or a count of tokens (500ktok, 5Mtok, 2000000tok)"


@dataclass(frozen=True)
class Budget:
    kind: str  # "seconds" or "tokens"
    amount: float

    def __str__(self) -> str:
        if self.kind == "seconds":
            return f"{self.amount / 60:g} min" if self.amount >= 60 else f"{self.amount:g} s"
        return f"{self.amount / 1e6:g}M tokens"


def parse_budget(text: str) -> Budget:
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(?:([smh])|([kMG]?)tok(?:ens)?)\s*", str(text))
    if not match:
        raise TextclfError(f"--budget {text!r} is not a budget: give {FORMS}")
    number, time_unit, token_unit = float(match.group(1)), match.group(2), match.group(3)
    amount = number * TIME_UNITS[time_unit] if time_unit else number * TOKEN_UNITS[token_unit]
    if amount <= 0:
        raise TextclfError(f"--budget {text!r} is nothing to spend: give {FORMS}")
    return Budget("seconds" if time_unit else "tokens", amount)


class BudgetCallback(L.Callback):
    def __init__(self, budget: Budget):
        self.budget = budget
        self.tokens = 0  # real tokens trained on, all pieces of the run
        self.seconds = 0.0  # training seconds (validation not counted), all pieces
        self._batch_start: float | None = None

    def spent(self) -> float:
        """The share of the budget spent, 0 to 1 (the schedule's progress)."""
        used = self.seconds if self.budget.kind == "seconds" else self.tokens
        return min(used / self.budget.amount, 1.0)

    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    def state_dict(self) -> dict:
        return {"tokens": self.tokens, "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.tokens, self.seconds = int(state["tokens"]), float(state["seconds"])

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.tokens += int(batch["lengths"].sum()) * trainer.world_size
        if self._batch_start is not None:
            self.seconds += time.perf_counter() - self._batch_start
        if self.spent() >= 1.0:
            trainer.should_stop = True
        pl_module.log("tokens_per_s", self.tokens_per_second(), on_step=True, on_epoch=False, prog_bar=True)
        pl_module.log("budget_spent", self.spent(), on_step=True, on_epoch=False, prog_bar=True)
