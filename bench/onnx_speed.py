"""Prediction speed of an exported ONNX model (onnxruntime) against textclf's own predict, per encoder.

    python bench/onnx_speed.py [--encoders gru,lstm,transformer,bag] [--texts ag_news] [--out bench/results/onnx_speed.json]

For each encoder: a network trained one epoch on data/sst2 (speed does not depend on how well it is
trained), exported with `textclf export`, then the texts (the shared AG News set, 7,600 news texts, or
data/sst2's test split with --texts sst2) predicted by `load_classifier(ckpt)` (textclf's path: folded
RNN, batch threads) and by `load_classifier(model.onnx)` (onnxruntime, intra-op threads = cores), best
of 3 after a warm-up. Also checks that both give the same labels. Run it with nothing else running.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import datasets

from textclf import load_classifier


def texts_of(name: str) -> list[str]:
    if name == "sst2":
        return datasets.load_dataset("data/sst2", split="test")["text"]
    ds = datasets.load_dataset(os.path.join("..", "shared", "data", "ag_news"), split="test")
    return ds["text"]


def best_of(fn, repeats: int = 3) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--encoders", default="gru,lstm,transformer,bag")
    p.add_argument("--texts", default="ag_news")
    p.add_argument("--out", default="bench/results/onnx_speed.json")
    args = p.parse_args()
    texts = texts_of(args.texts)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for encoder in args.encoders.split(","):
            run = os.path.join(tmp, encoder)
            subprocess.run(["textclf", "train", "--data.path", "data/sst2", "--model.encoder", encoder, "--run_dir", run,
                            "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"], check=True,
                           capture_output=True)
            ckpt, model = os.path.join(run, "best.ckpt"), os.path.join(run, "model.onnx")
            subprocess.run(["textclf", "export", ckpt, "--output", model], check=True, capture_output=True)
            own, ort = load_classifier(ckpt), load_classifier(model)
            same = float((own.predict_proba(texts).argmax(1) == ort.predict_proba(texts).argmax(1)).mean())
            t_own = best_of(lambda: own.predict_proba(texts))  # noqa: B023
            t_ort = best_of(lambda: ort.predict_proba(texts))  # noqa: B023
            rows.append({"encoder": encoder, "texts": len(texts), "textclf_texts_per_second": round(len(texts) / t_own),
                         "onnxruntime_texts_per_second": round(len(texts) / t_ort), "same_labels": same})
            print(json.dumps(rows[-1]), flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"texts": args.texts, "nproc": os.cpu_count(), "runs": rows}, f, indent=2)
    print("| encoder | texts | textclf predict (texts/s) | onnxruntime (texts/s) | faster | same labels |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        a, b = r["textclf_texts_per_second"], r["onnxruntime_texts_per_second"]
        faster = f"textclf {a / b:.2f}x" if a >= b else f"onnxruntime {b / a:.2f}x"
        print(f"| {r['encoder']} | {r['texts']:,} | {a:,} | {b:,} | {faster} | {100 * r['same_labels']:.2f}% |")


if __name__ == "__main__":
    main()
