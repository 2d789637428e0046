"""Latency and throughput of `textclf serve` under concurrent clients, every answer checked against predict
(the same labels, probabilities within 1e-5).

    python bench/serve_load.py [--checkpoint CKPT] [--clients 32] [--requests 50] [--texts 1]
                               [--settings 64:5,1:0] [--out bench/results/serve_load.json]

Starts a real `textclf serve` process on 127.0.0.1 for each --settings entry (MAX_BATCH:MAX_WAIT_MS; 1:0
turns micro-batching off), sends --clients concurrent clients x --requests requests of --texts SST-2 test
sentences each (httpx, one thread per client), and prints p50/p99 request latency and texts/s. Every
answer must equal `load_classifier(CKPT).predict` of the same texts. Without --checkpoint it trains the
default recipe on data/sst2 once (bench/results/serve-sst2). Run it with nothing else running.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import datasets
import httpx
import numpy as np

from textclf import load_classifier


def default_checkpoint(run_dir: str = "bench/results/serve-sst2") -> str:
    ckpt = os.path.join(run_dir, "best.ckpt")
    if not os.path.exists(ckpt):
        subprocess.run(["textclf", "train", "--data.path", "data/sst2", "--run_dir", run_dir,
                        "--trainer.enable_progress_bar", "false"], check=True, capture_output=True)
    return ckpt


def same(got: list[dict], want: list[dict], tol: float = 1e-5) -> bool:
    """The same labels, and probabilities within `tol`: a text's float rounding depends on its batch (its
    neighbours' lengths), and predict's 6-decimal rounding can then differ in the last digit."""
    return len(got) == len(want) and all(
        g["text"] == w["text"] and g["label"] == w["label"] and g["probs"].keys() == w["probs"].keys()
        and all(abs(g["probs"][k] - w["probs"][k]) <= tol for k in w["probs"]) for g, w in zip(got, want))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(ckpt: str, texts: list[str], clients: int, requests: int, per: int, max_batch: int, max_wait_ms: float) -> dict:
    expected = load_classifier(ckpt).predict(texts)
    port = free_port()
    proc = subprocess.Popen(["textclf", "serve", ckpt, "--port", str(port), "--max_batch", str(max_batch),
                             "--max_wait_ms", str(max_wait_ms)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)

        def client(c: int) -> tuple[list[float], int]:
            latencies, wrong = [], 0
            with httpx.Client(base_url=url, timeout=60) as http:
                for i in range(requests):
                    start = (c * requests + i) * per % (len(texts) - per)
                    t0 = time.perf_counter()
                    got = http.post("/predict", json={"texts": texts[start:start + per]}).json()
                    latencies.append(time.perf_counter() - t0)
                    wrong += not same(got, expected[start:start + per])
            return latencies, wrong

        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(client, range(clients)))
        wall = time.perf_counter() - t0
        health = httpx.get(f"{url}/health").json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    latencies = np.array([x for lat, _ in results for x in lat]) * 1000
    return {"max_batch": max_batch, "max_wait_ms": max_wait_ms, "requests": len(latencies),
            "wrong_answers": sum(w for _, w in results), "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1),
            "texts_per_second": round(clients * requests * per / wall, 1),
            "mean_batch_texts": round(health["texts"] / max(health["batches"], 1), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--texts", type=int, default=1, help="texts per request")
    p.add_argument("--settings", default="64:5,1:0", help="MAX_BATCH:MAX_WAIT_MS,... (1:0: no micro-batching)")
    p.add_argument("--out", default="bench/results/serve_load.json")
    args = p.parse_args()
    ckpt = args.checkpoint or default_checkpoint()
    texts = datasets.load_dataset("data/sst2", split="test")["text"]
    rows = []
    for setting in args.settings.split(","):
        batch, wait = setting.split(":")
        rows.append(load(ckpt, texts, args.clients, args.requests, args.texts, int(batch), float(wait)))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"checkpoint": ckpt, "clients": args.clients, "requests_per_client": args.requests,
                   "texts_per_request": args.texts, "nproc": os.cpu_count(), "runs": rows}, f, indent=2)
    print("| max_batch | max_wait_ms | requests | wrong answers | p50 ms | p99 ms | texts/s | mean texts per batch |\n"
          "|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['max_batch']} | {r['max_wait_ms']:g} | {r['requests']:,} | {r['wrong_answers']} | {r['p50_ms']} | "
              f"{r['p99_ms']} | {r['texts_per_second']:,.0f} | {r['mean_batch_texts']} |")


if __name__ == "__main__":
    main()
