"""Tokenization speed of the word tokenizer: textclf's encoding path (TextEncoder: the Latin-1 fast path,
textclf/data/latin1_words.py, and `tokenizers` for the rest) against `tokenizers` with the one-regex
pre-tokenizer and with the three-step pipeline it replaced (WhitespaceSplit + Punctuation + Split(CJK)),
same trained vocabulary.

    python bench/tokenizer_speed.py [--data ../shared/data/imdb] [--texts 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import datasets
from tokenizers import Tokenizer

from textclf.data.encoding import TextEncoder
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
    encoder = TextEncoder(ours, max_length=10**9, side="head")  # no truncation
    paths = {"textclf TextEncoder (Latin-1 fast path)": lambda: encoder(texts),
             "tokenizers, one regex (textclf's tokenizer)": lambda: ours.encode_batch_fast(texts, add_special_tokens=False),
             "tokenizers, three steps": lambda: steps.encode_batch_fast(texts, add_special_tokens=False)}
    best = dict.fromkeys(paths, float("inf"))
    for _ in range(args.rounds):  # interleaved; the best round of each
        for name, run in paths.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    reference = [e.ids for e in ours.encode_batch_fast(texts, add_special_tokens=False)]
    same_steps = sum(a == b.ids for a, b in zip(reference, steps.encode_batch_fast(texts, add_special_tokens=False)))
    same_fast = sum(a == b for a, b in zip(reference, encoder(texts).lists()))
    covered = sum(map(encoder.latin1_words().covers, texts))
    chars = sum(map(len, texts))
    print(f"{len(texts):,} texts from {args.data} ({args.split}), {chars / len(texts):,.0f} characters on average; "
          f"ids identical to `tokenizers` one regex: three steps {same_steps:,}/{len(texts):,}, TextEncoder "
          f"{same_fast:,}/{len(texts):,} (Latin-1 fast path for {covered:,} texts)\n")
    print("| path | seconds | texts/s | MB/s |\n|---|---|---|---|")
    for name, sec in best.items():
        print(f"| {name} | {sec:.3f} | {len(texts) / sec:,.0f} | {chars / sec / 1e6:.1f} |")


if __name__ == "__main__":
    main()
