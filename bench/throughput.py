"""Throughput of textclf's fast path against a pad-to-max reference, measured in the same process.

    python bench/throughput.py [--data ../shared/data/imdb] [--infer_data ../shared/data/ag_news]
                               [--encoders bag,rnn,lstm,gru,transformer] [--out bench/results/throughput.json]
                               [--num_workers N] [--in_turn] [--packed] [--serial]   (levers, for comparison)
                               [--phases train,infer]   (one phase alone, e.g. while working on it)

Training: steady-state real (non-pad) tokens/s over a fixed number of batches, textclf's path
(Lightning fit, length-bucketed batches, RNN directions on two threads, masked Transformer) against the reference
(same model and batch size, random batches padded to max_length, RNN run on the padded tensor and
its last time step pooled, a bare PyTorch loop), interleaved round by round. For lstm/gru also a bare
torch.nn.LSTM/GRU forward+backward loop on the same packed batches. Inference: texts/s through
`load_classifier(...).predict` against the reference (input order, padded to max_length, no
inference_mode, batch_size), and with `fold=False` (one-layer RNNs through torch's kernels instead of
textclf.serve.speed.folded_rnn), `quantize=True` (int8 dynamic quantization), `precision="bf16"` and (Transformer)
`compile=True`, taking turns over the same rounds. Each textclf path uses its own default batch size
and batch threads (64, one batch per core; a folded RNN 512 in turn, a folded LSTM 256 one per core);
`--serial` adds the default path with its batches one at a time. FLOP/s as a share of a fp32 GEMM measured here, and
peak resident memory per phase. Each path's figure is its best round: noise from elsewhere on the
machine only ever slows a run down (on the shared 2-core machine rounds differed by 10-30%). Nothing
else may run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import threading
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

import datasets  # noqa: E402
import lightning as L  # noqa: E402
from flops import train_flops_per_token  # noqa: E402  (bench/flops.py)

from textclf.data.datamodule import TextDataModule  # noqa: E402
from textclf.model import speed  # noqa: E402
from textclf.model.network import TextNetwork  # noqa: E402
from textclf.serve.loading import load_classifier  # noqa: E402
from textclf.serve.speed.folded_rnn import FoldedRNN  # noqa: E402
from textclf.training.module import LitTextClassifier  # noqa: E402

datasets.disable_progress_bars()


class PeakRSS:
    """Peak resident memory (MiB) while the block runs, sampled from /proc every 5 ms."""

    def __enter__(self):
        self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    @staticmethod
    def _rss() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def gemm_flops(device: torch.device, n: int = 1024, seconds: float = 2.0) -> float:
    """fp32 matrix-multiply rate of this machine (FLOP/s): the practical ceiling for these models."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    _sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    _sync(device)
    return 2 * n**3 * count / (time.perf_counter() - start)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class StepTimer(L.Callback):
    """Times training steps after `warmup` steps: real tokens and seconds of the measured span."""

    def __init__(self, warmup: int):
        self.warmup, self.tokens, self.start, self.seconds, self.steps = warmup, 0, None, 0.0, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            _sync(pl_module.device)
            self.start = time.perf_counter()
        if batch_idx >= self.warmup:
            self.tokens += int(batch["lengths"].sum())
            self.steps += 1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.start is not None:
            _sync(pl_module.device)
            self.seconds = time.perf_counter() - self.start


def textclf_train(model, dm, steps: int, warmup: int, accelerator: str, precision):
    timer = StepTimer(warmup)
    trainer = L.Trainer(max_steps=warmup + steps, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
                        accelerator=accelerator, devices=1, precision=precision, use_distributed_sampler=False,
                        num_sanity_val_steps=0, gradient_clip_val=1.0)
    trainer.fit(model, dm)
    return timer.tokens, timer.seconds, trainer


def reference_forward(model: TextNetwork, ids: torch.Tensor) -> torch.Tensor:
    """How the popular repos run it: no lengths, no mask; RNN over all max_length steps, last step pooled."""
    x = model.embedding(ids)
    enc = model.encoder
    if hasattr(enc, "layers"):
        # what nn.GRU(bidirectional=True) does on a padded batch: backward direction from position T-1
        for layer in enc.layers:
            outs = [layer[0](x)[0]] + [d(x.flip(1))[0].flip(1) for d in layer[1:]]
            x = torch.cat(outs, -1)
        pooled = x[:, -1]
    elif hasattr(enc, "blocks"):
        h = x + enc.positions[: x.shape[1]]
        for block in enc.blocks:
            h = block(h, None)
        pooled = enc.norm(h).mean(1)
    else:
        pooled = x.mean(1)
    return model.head(pooled)


def reference_batches(split, batch_size: int, max_length: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        idx = rng.choice(len(split), batch_size, replace=False)
        batch = split[idx]
        ids = torch.zeros(batch_size, max_length, dtype=torch.long)
        ids[:, : batch["input_ids"].shape[1]] = batch["input_ids"]
        yield ids, batch["labels"], int(batch["lengths"].sum())


def reference_train(model, split, batch_size, max_length, steps, warmup, device, seed) -> tuple[int, float]:
    model.train().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    tokens, start = 0, None
    for i, (ids, labels, real) in enumerate(reference_batches(split, batch_size, max_length, warmup + steps, seed)):
        if i == warmup:
            _sync(device)
            start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(reference_forward(model, ids.to(device)), labels.to(device))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= warmup:
            tokens += real
    _sync(device)
    return tokens, time.perf_counter() - start


def bare_rnn_train(model, dm, steps, warmup, device) -> tuple[int, float]:
    """Only torch's fused bidirectional kernel (one nn.GRU/LSTM call), forward + backward, on the same
    length-bucketed batches textclf trains on: the floor for running these kernels over this data."""
    enc = model.network.encoder
    dim = model.network.config.embedding_dim
    rnn = enc.cell(dim, enc.hidden_size, num_layers=len(enc.layers), batch_first=True,
                   bidirectional=enc.directions == 2).to(device)
    tokens, start = 0, None
    for i, batch in enumerate(dm.train_dataloader()):
        if i == warmup + steps:
            break
        if i == warmup:
            _sync(device)
            start = time.perf_counter()
        x = torch.randn(*batch["input_ids"].shape, dim, device=device, requires_grad=True)
        out, _ = rnn(x)
        out.sum().backward()
        if i >= warmup:
            tokens += int(batch["lengths"].sum())
    _sync(device)
    return tokens, time.perf_counter() - start


def reference_predict(model: TextNetwork, clf, texts: list[str], batch_size: int, max_length: int, device) -> float:
    """Input order, every batch padded to max_length, plain no_grad (no inference_mode): seconds."""
    model = model.to(device).eval()
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            enc = clf.tokenizer.encode_batch_fast(texts[i:i + batch_size], add_special_tokens=False)
            ids = torch.zeros(len(enc), max_length, dtype=torch.long)
            for r, e in enumerate(enc):
                row = e.ids[:max_length]
                ids[r, : len(row)] = torch.tensor(row)
            reference_forward(model, ids.to(device)).softmax(-1).cpu()
    _sync(device)
    return time.perf_counter() - start


def measure_training(row: dict, model, dm, args, device, accelerator, gemm: float, mean_len: float):
    """Training tokens/s of textclf, the reference and (lstm/gru) the bare kernel, taking turns over the
    rounds; FLOP/s and its share of the GEMM rate, peak memory. Returns the last textclf trainer."""
    name = row["encoder"]
    best = {"ours": 0.0, "ref": 0.0, "bare": 0.0}  # path -> its best round's tokens/s
    with PeakRSS() as mem_train:
        for r in range(args.rounds):  # the paths take turns, so a slow spell of the machine hits all
            tok, sec, trainer = textclf_train(model, dm, args.steps, args.warmup, accelerator, args.precision)
            measured = {"ours": (tok, sec), "ref": reference_train(model.network, dm.splits["train"], args.batch_size,
                                                                   args.max_length, args.steps, args.warmup, device, seed=r)}
            if name in ("lstm", "gru"):
                measured["bare"] = bare_rnn_train(model, dm, args.steps, args.warmup, device)
            for path, (tok, sec) in measured.items():
                best[path] = max(best[path], tok / sec)
    row["train_tokens_per_s"] = best["ours"]
    row["ref_train_tokens_per_s"] = best["ref"]
    row["train_ratio"] = row["train_tokens_per_s"] / row["ref_train_tokens_per_s"]
    row["peak_rss_train_mb"] = mem_train.peak
    if best["bare"]:
        row["bare_kernel_tokens_per_s"] = best["bare"]
        row["vs_bare_kernel"] = row["train_tokens_per_s"] / row["bare_kernel_tokens_per_s"]
    flops = train_flops_per_token(model.network.config, int(mean_len))
    row["train_gflops_per_s"] = flops * row["train_tokens_per_s"] / 1e9
    row["gemm_share"] = flops * row["train_tokens_per_s"] / gemm
    return trainer


def measure_inference(row: dict, trainer, imdb_texts: list[str], ag_texts: list[str], args, device) -> None:
    """Texts/s through `load_classifier(...).predict` (fp32, bf16, int8, compiled where the encoder allows)
    against the reference, taking turns."""
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "m.ckpt")
        trainer.save_checkpoint(ckpt, weights_only=True)  # the last textclf trainer: a real archive
        clf = load_classifier(ckpt, device=str(device))
        formats = {"": clf, "bf16_": load_classifier(ckpt, device=str(device), precision="bf16")}
        if isinstance(clf.forward, FoldedRNN):  # the lever: the same model through torch's kernels
            formats["unfolded_"] = load_classifier(ckpt, device=str(device), fold=False)
        if args.serial and clf.batch_threads > 1:  # the lever: the default path with its batches one at a time
            formats["serial_"] = load_classifier(ckpt, device=str(device))
            formats["serial_"].batch_threads = 1
        if device.type == "cpu":  # int8 dynamic quantization runs on CPU only
            formats["int8_"] = load_classifier(ckpt, quantize=True)
        if getattr(clf.model.encoder, "compilable", False):  # compiled during the warm-up below
            formats["compiled_"] = load_classifier(ckpt, device=str(device), compile=True)
        seconds: dict[str, float] = {}
        sets = (("imdb", imdb_texts), ("ag_news", ag_texts))
        with PeakRSS() as mem_infer:
            for c in formats.values():
                c.predict(imdb_texts[:128])  # warm-up
            for _ in range(args.rounds):  # the paths take turns here too
                for label, texts in sets:
                    sec = reference_predict(clf.model, clf, texts, args.batch_size, args.max_length, device)
                    seconds[f"ref_{label}"] = min(seconds.get(f"ref_{label}", sec), sec)
                    for kind, c in formats.items():
                        start = time.perf_counter()
                        c.predict(texts)
                        sec = time.perf_counter() - start
                        seconds[f"{kind}{label}"] = min(seconds.get(f"{kind}{label}", sec), sec)
        for label, texts in sets:
            ref = len(texts) / seconds[f"ref_{label}"]
            row[f"ref_infer_{label}_texts_per_s"] = ref
            for kind in formats:
                row[f"{kind}infer_{label}_texts_per_s"] = len(texts) / seconds[f"{kind}{label}"]
                row[f"{kind}infer_{label}_ratio"] = row[f"{kind}infer_{label}_texts_per_s"] / ref
        row["peak_rss_infer_mb"] = mem_infer.peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/imdb")
    p.add_argument("--infer_data", default="../shared/data/ag_news")
    p.add_argument("--encoders", default="bag,rnn,lstm,gru,transformer")
    p.add_argument("--max_length", type=int, default=512)
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--steps", type=int, default=6, help="measured training batches per path and round")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of textclf / reference / bare kernel")
    p.add_argument("--infer_texts", type=int, default=1000, help="IMDB test texts for inference (random, fixed)")
    p.add_argument("--infer_ag_news", type=int, default=4000, help="AG News test texts for inference (the first N)")
    p.add_argument("--accelerator", default="cpu")
    p.add_argument("--precision", default="32-true")
    p.add_argument("--packed", action="store_true", help="RNNs on PackedSequences (the slower exact path) for comparison")
    p.add_argument("--in_turn", action="store_true", help="RNN directions one after the other, not on two threads")
    p.add_argument("--num_workers", type=int, default=0, help="DataLoader worker processes of the textclf path")
    p.add_argument("--serial", action="store_true",
                   help="also predict with batches one at a time instead of parallel threads (textclf.serve.speed.batch_threads)")
    p.add_argument("--phases", default="train,infer", help="train, infer or both; the tables show what ran")
    p.add_argument("--out", default="bench/results/throughput.json")
    args = p.parse_args()
    device = torch.device("cuda" if args.accelerator in ("gpu", "cuda") else "cpu")
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    L.seed_everything(0, verbose=False)
    speed.set_switch("packed_rnn", args.packed)  # the levers: runtime switches of textclf.model.speed
    speed.set_switch("threaded_directions", not args.in_turn)

    dm = TextDataModule(args.data, max_length=args.max_length, batch_size=args.batch_size, min_frequency=3,
                        vocab_size=30000, seed=0, num_workers=args.num_workers)
    t0 = time.perf_counter()
    dm.setup("fit")
    print(f"data: {args.data} train {len(dm.splits['train']):,} texts, setup {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    imdb_test = datasets.load_dataset(args.data, split="test")
    rng = np.random.default_rng(0)
    imdb_texts = [imdb_test[int(i)]["text"] for i in rng.choice(len(imdb_test), args.infer_texts, replace=False)]
    ag_texts = datasets.load_dataset(args.infer_data, split="test")["text"][: args.infer_ag_news]
    gemm = gemm_flops(device)
    mean_len = float(dm.splits["train"].lengths.mean())
    results = []
    phases = set(args.phases.split(","))
    for name in args.encoders.split(","):
        L.seed_everything(0, verbose=False)
        model = LitTextClassifier(encoder=name)
        model.build(dm.facts())
        row = {"encoder": name}
        if "train" in phases:
            trainer = measure_training(row, model, dm, args, device, accelerator, gemm, mean_len)
        else:  # one step, for a checkpoint to predict from
            trainer = textclf_train(model, dm, 1, 0, accelerator, args.precision)[2]
        if "infer" in phases:
            measure_inference(row, trainer, imdb_texts, ag_texts, args, device)
        results.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), file=sys.stderr, flush=True)

    machine = {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
               "device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
               "precision": args.precision, "gemm_gflops_fp32": gemm / 1e9}
    print(f"\nMachine: {machine['cpus']} CPUs, torch {machine['torch']} ({machine['torch_threads']} threads), "
          f"device {machine['device']}, fp32 GEMM {gemm / 1e9:.1f} GFLOP/s; IMDB max_length {args.max_length}, "
          f"batch {args.batch_size}; best of {args.rounds} rounds, {args.steps} measured training batches per round\n")
    if "train" in phases:
        print("| encoder | train tok/s textclf | train tok/s reference | ratio | vs bare kernel | GFLOP/s (share of GEMM) | peak RSS MB |")
        print("|---|---|---|---|---|---|---|")
        for r in results:
            bare = f"{r['vs_bare_kernel']:.2f}" if "vs_bare_kernel" in r else "-"
            print(f"| {r['encoder']} | {r['train_tokens_per_s']:,.0f} | {r['ref_train_tokens_per_s']:,.0f} | {r['train_ratio']:.2f}x | "
                  f"{bare} | {r['train_gflops_per_s']:.2f} ({100 * r['gemm_share']:.1f}%) | {r['peak_rss_train_mb']:.0f} |")
    if "infer" in phases:
        kinds = ("serial_",) * args.serial + ("unfolded_", "int8_", "bf16_", "compiled_")
        header = ["encoder"]
        for label in ("IMDB", "AG News"):
            header += [f"{label} texts/s textclf (reference, ratio)", *(f"{label} {k[:-1]} (ratio)" for k in kinds)]
        print(f"\n| {' | '.join(header)} | peak RSS MB |")
        print("|---" * (len(header) + 1) + "|")
        for r in results:
            cells = []
            for label in ("imdb", "ag_news"):
                cells.append(f"{r[f'infer_{label}_texts_per_s']:,.0f} ({r[f'ref_infer_{label}_texts_per_s']:,.0f}, "
                             f"{r[f'infer_{label}_ratio']:.2f}x)")
                for kind in kinds:
                    q = f"{kind}infer_{label}_texts_per_s"
                    cells.append(f"{r[q]:,.0f} ({r[f'{kind}infer_{label}_ratio']:.2f}x)" if q in r else "-")
            print(f"| {r['encoder']} | {' | '.join(cells)} | {r['peak_rss_infer_mb']:.0f} |")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"machine": machine, "args": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
