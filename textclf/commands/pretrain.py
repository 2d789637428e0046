"""`textclf pretrain`: self-supervised pretraining of an encoder on unlabelled text (textclf.pretraining.run),
then its summary; `textclf train --model.pretrained RUN_DIR` fine-tunes a classifier from it."""

from __future__ import annotations

from textclf.commands.help import pretrain_help, wants_help


def run(argv: list[str]) -> int:
    if wants_help(argv) == "short":
        print(pretrain_help())
        return 0
    argv = ["--help" if a == "--help=all" else a for a in argv]
    from textclf.pretraining.run import pretrain

    m = pretrain(argv)
    held = m["held_out"]
    print(f"pretrained {m['encoder']} ({m['objective']}) on {m['corpus']}: {m['train_tokens']:,} tokens in "
          f"{m['train_seconds']:.0f}s ({m['train_tokens_per_second']:,.0f} tokens/s); held-out loss {held['loss']:.4f}, "
          f"acc {held['acc']:.4f}, perplexity {held['perplexity']:.1f}")
    print(f"fine-tune: textclf train --model.pretrained {m['best_checkpoint'].rsplit('/', 1)[0]} --data.path ...")
    return 0
