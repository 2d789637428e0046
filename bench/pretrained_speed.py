"""Fine-tuning and prediction speed of a pretrained model in textclf against the usual plain transformers code.

    python bench/weights.py && python bench/pretrained_speed.py [--model bench/results/weights/all-MiniLM-L6-v2]
        [--data ../shared/data/sst2] [--batches 12] [--rounds 3] [--predict_texts 1000]

Training, on the same model (mean pooling, a linear head, AdamW) and the same SST-2 training texts, in
turn over `--rounds` rounds, each path's best round, real tokens ([CLS]/[SEP] included) per second:
- textclf: `textclf train`'s path (Lightning, length-bucketed batches of 64, the model's own pad id),
- the usual loop: random batches of 64 padded to their longest text (DataCollatorWithPadding),
- run_glue's default: every text padded to 128 tokens.
Prediction, texts per second on `--predict_texts` SST-2 test sentences (repeated to that count):
`load_classifier(ckpt).predict` against `transformers.pipeline("text-classification")` on the same model,
as users call it (one text at a time) and with batch_size 64. Nothing else may run meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")

import datasets  # noqa: E402
import lightning as L  # noqa: E402

from textclf import load_classifier  # noqa: E402
from textclf.data.datamodule import TextDataModule  # noqa: E402
from textclf.training.module import LitTextClassifier  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from throughput import StepTimer  # noqa: E402

datasets.disable_progress_bars()
BATCH = 64


def textclf_tokens_per_second(model, dm, batches: int) -> float:
    timer = StepTimer(warmup=2)
    trainer = L.Trainer(max_steps=batches + 2, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer], accelerator="cpu",
                        devices=1, num_sanity_val_steps=0, gradient_clip_val=1.0)
    trainer.fit(model, dm)
    return timer.tokens / timer.seconds


class PlainClassifier(torch.nn.Module):
    """What a 20-line transformers script trains: the body, mean pooling, a linear head."""

    def __init__(self, folder: str, classes: int):
        super().__init__()
        import transformers

        self.body = transformers.AutoModel.from_pretrained(folder)
        self.head = torch.nn.Linear(self.body.config.hidden_size, classes)

    def forward(self, input_ids, attention_mask):
        states = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return self.head((states * mask).sum(1) / mask.sum(1))


def plain_tokens_per_second(model, tokenizer, texts, labels, batches: int, pad_to: int | None, seed: int) -> float:
    from transformers import DataCollatorWithPadding

    collate = DataCollatorWithPadding(tokenizer, padding="max_length" if pad_to else True, max_length=pad_to)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()
    tokens, start = 0, None
    for step in range(batches + 2):
        idx = rng.choice(len(texts), BATCH, replace=False)
        enc = [tokenizer(texts[i], truncation=True, max_length=pad_to or 512) for i in idx]
        batch = collate(enc)
        if step == 2:
            start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(batch["input_ids"], batch["attention_mask"]),
                                                 torch.as_tensor(labels[idx]))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= 2:
            tokens += int(batch["attention_mask"].sum())
    return tokens / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="bench/results/weights/all-MiniLM-L6-v2")
    p.add_argument("--data", default="../shared/data/sst2")
    p.add_argument("--batches", type=int, default=12, help="measured training batches per round (after 2 warm-up)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--predict_texts", type=int, default=1000)
    p.add_argument("--out", default="bench/results/pretrained_speed.json")
    args = p.parse_args()
    import transformers

    transformers.logging.set_verbosity_error()
    L.seed_everything(0, verbose=False)
    train = datasets.load_dataset(args.data, split="train")
    texts, labels = train["text"], np.asarray(train["label"])
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    dm = TextDataModule(args.data, batch_size=BATCH, seed=0)
    module = LitTextClassifier(pretrained=args.model)
    dm.use_tokenizer(module.given_tokenizer())
    dm.setup("fit")
    module.build(dm.facts())
    plain = PlainClassifier(args.model, len(dm.label_names))
    best = {"textclf": 0.0, "pad_longest": 0.0, "pad_128": 0.0}
    for r in range(args.rounds):
        best["textclf"] = max(best["textclf"], textclf_tokens_per_second(module, dm, args.batches))
        best["pad_longest"] = max(best["pad_longest"], plain_tokens_per_second(plain, tokenizer, texts, labels,
                                                                               args.batches, None, r))
        best["pad_128"] = max(best["pad_128"], plain_tokens_per_second(plain, tokenizer, texts, labels, args.batches,
                                                                       128, r))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:,.0f}" for k, v in best.items()), file=sys.stderr, flush=True)

    test = list(datasets.load_dataset(args.data, split="test")["text"])
    sample = (test * (args.predict_texts // len(test) + 1))[: args.predict_texts]
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "m.ckpt")
        trainer = L.Trainer(max_steps=1, limit_val_batches=0, logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1)
        trainer.fit(module, dm)
        trainer.save_checkpoint(ckpt, weights_only=True)
        clf = load_classifier(ckpt)
        classifier = transformers.AutoModelForSequenceClassification.from_pretrained(args.model,
                                                                                     num_labels=len(dm.label_names))
        pipe = transformers.pipeline("text-classification", model=classifier, tokenizer=tokenizer, device=-1)
        clf.predict(sample[:64])
        pipe(sample[:64])
        speeds = {"textclf": 0.0, "pipeline": 0.0, "pipeline_batch64": 0.0}
        for _ in range(args.rounds):
            for name, call in (("textclf", lambda: clf.predict(sample)), ("pipeline", lambda: pipe(sample)),
                               ("pipeline_batch64", lambda: pipe(sample, batch_size=64))):
                start = time.perf_counter()
                call()
                speeds[name] = max(speeds[name], len(sample) / (time.perf_counter() - start))
            print("predict: " + ", ".join(f"{k} {v:,.0f}" for k, v in speeds.items()), file=sys.stderr, flush=True)
    result = {"train_tokens_per_s": best, "predict_texts_per_s": speeds, "threads": torch.get_num_threads(),
              "model": args.model, "batches": args.batches, "rounds": args.rounds}
    print("| path | train tokens/s | ratio |\n|---|---|---|\n"
          + "\n".join(f"| {k} | {v:,.0f} | {best['textclf'] / v:.2f}x |" for k, v in best.items()))
    print("\n| predict | texts/s | textclf's ratio |\n|---|---|---|\n"
          + "\n".join(f"| {k} | {v:,.0f} | {speeds['textclf'] / v:.2f}x |" for k, v in speeds.items()))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
