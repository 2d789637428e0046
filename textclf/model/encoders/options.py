"""Checks shared by the encoders' constructors."""

from __future__ import annotations

from textclf.errors import TextclfError


def check_choice(value, choices, option: str) -> None:
    """`value` must be one of `choices`; else a one-line error naming --model.`option`."""
    if value not in choices:
        raise TextclfError(f"unknown --model.{option} {value!r} for this encoder: choose one of {', '.join(choices)}")
