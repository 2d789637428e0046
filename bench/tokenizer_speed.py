"""Tokenization speed of the word tokenizer: one-regex pre-tokenizer (textclf's) vs the three-step
pipeline it replaced (WhitespaceSplit + Punctuation + Split(CJK)), same trained vocabulary.

    python bench/tokenizer_speed.py [--data ../shared/data/imdb] [--texts 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import datasets
from tokenizers import Tokenizer

from textclf.data.tokenizer import train_tokenizer, word_pre_tokenizer_in_steps

datasets.disable_progress_bars()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/imdb")
    p.add_argument("--split", default="test")
    p.add_argument("--texts", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    texts = datasets.load_dataset(args.data, split=args.split)["text"][: args.texts]
    ours = train_tokenizer(texts, min_frequency=3)
    steps = Tokenizer.from_str(ours.to_str())
    steps.pre_tokenizer = word_pre_tokenizer_in_steps()
    best = {"one regex (textclf)": float("inf"), "three steps": float("inf")}
    for _ in range(args.rounds):  # interleaved; the best round of each
        for name, tok in (("one regex (textclf)", ours), ("three steps", steps)):
            start = time.perf_counter()
            tok.encode_batch_fast(texts, add_special_tokens=False)
            best[name] = min(best[name], time.perf_counter() - start)
    same = sum(a.ids == b.ids for a, b in zip(ours.encode_batch_fast(texts), steps.encode_batch_fast(texts)))
    chars = sum(map(len, texts))
    print(f"{len(texts):,} texts from {args.data} ({args.split}), {chars / len(texts):,.0f} characters on average; "
          f"identical ids for {same:,}/{len(texts):,}\n")
    print("| pre-tokenizer | seconds | texts/s | MB/s |\n|---|---|---|---|")
    for name, sec in best.items():
        print(f"| {name} | {sec:.3f} | {len(texts) / sec:,.0f} | {chars / sec / 1e6:.1f} |")


if __name__ == "__main__":
    main()
