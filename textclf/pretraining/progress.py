"""What `textclf pretrain` prints into a file or pipe: one line per held-out evaluation (each pass over the
corpus, and when the budget is spent), with the budget spent, tokens/s and the held-out objective. On a
terminal the run shows training's progress bar instead, with the same figures."""

from __future__ import annotations

import lightning as L

from textclf.pretraining.budget import BudgetCallback


class PretrainLines(L.Callback):
    def __init__(self, budget: BudgetCallback):
        self.budget = budget

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or trainer.global_rank != 0:
            return
        m = trainer.callback_metrics
        held_out = "  ".join(f"{name} {float(m[key]):.4f}" for key, name in
                             (("val_loss", "held-out loss"), ("val_acc", "acc"), ("val_perplexity", "perplexity"))
                             if key in m)
        b = self.budget
        print(f"pass {trainer.current_epoch + 1}  {b.tokens / 1e6:.2f}M tokens ({100 * b.spent():.0f}% of "
              f"{b.budget})  {b.tokens_per_second():,.0f} tokens/s  {held_out}", flush=True)
