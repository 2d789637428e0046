"""What a comparison runs: one run per (vary values, encoder, seed), each with a name of its own.

Shared by the runner (which trains them) and the analysis (which reads them back).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from textclf.errors import TextclfError


@dataclass
class PlannedRun:
    encoder: str
    seed: int
    vary: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        parts = [self.encoder] + [f"{k.split('.')[-1]}-{v}" for k, v in self.vary.items()] + [f"seed{self.seed}"]
        return re.sub(r"[^A-Za-z0-9_.=-]", "_", "_".join(parts))

    @property
    def vary_label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.vary.items())


def parse_vary(items: list[str]) -> dict[str, list[str]]:
    """`model.init=default,orthogonal` -> {"model.init": ["default", "orthogonal"]}."""
    axes = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values or not re.fullmatch(r"(model|data|trainer)\.[A-Za-z_.]+", key):
            raise TextclfError(f"--vary {item!r}: write KEY=V1,V2 with a config field, e.g. --vary model.init=default,orthogonal")
        if key == "model.encoder":
            raise TextclfError("--vary model.encoder: the encoders are already an axis; use --encoders")
        axes[key] = [v for v in values.split(",") if v]
    return axes


def plan(encoders: list[str], seeds: list[int], axes: dict[str, list[str]]) -> list[PlannedRun]:
    combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())] or [{}]
    return [PlannedRun(e, s, combo) for combo in combos for e in encoders for s in seeds]
