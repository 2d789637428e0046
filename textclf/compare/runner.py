"""Plan and run the comparison: one normal run directory per (vary values, encoder, seed).

Every run gets the same config, data split (--data.seed), shared tokenizer file and budget; only the
encoder, the seed and the --vary fields change. Finished runs (metrics.json + analysis.json) are
skipped, so re-running the command only does what is missing; an interrupted run is resumed.
Each run trains in its own process, so peak memory and speed are that run's alone.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from textclf.encoders import ENCODERS
from textclf.errors import Interrupted, TextclfError
from textclf.run_dir import RunDirLock, check_writable, holds_files, move_aside, put_back, recover_replaced


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


def parse_duration(text: str) -> str:
    """`90s`, `10m`, `1h30m` -> Lightning's DD:HH:MM:SS."""
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not text.strip() or not m or not any(m.groups()):
        raise TextclfError(f"--max_time {text!r}: write a duration such as 90s, 10m or 1h30m")
    h, mi, s = (int(g or 0) for g in m.groups())
    total = h * 3600 + mi * 60 + s
    return f"{total // 86400:02d}:{total % 86400 // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def plan(encoders: list[str], seeds: list[int], axes: dict[str, list[str]]) -> list[PlannedRun]:
    combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())] or [{}]
    return [PlannedRun(e, s, combo) for combo in combos for e in encoders for s in seeds]


def compare_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="textclf compare",
        description="Train every encoder on the same data, tokenizer and budget over several seeds, and report.",
        epilog="Other flags (--model.*, --data.*, --trainer.*) are passed to every run.",
    )
    p.add_argument("--config", required=True, help="a config of configs/, e.g. configs/sst2.yaml")
    p.add_argument("--encoders", default=",".join(ENCODERS), help="comma-separated encoders")
    p.add_argument("--seeds", type=int, default=3, help="seeds per encoder (1, 2, ... N)")
    p.add_argument("--vary", action="append", default=[], help="KEY=V1,V2: another axis, e.g. model.init=default,orthogonal")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max_epochs", type=int, help="epochs per run (default: the config's)")
    budget.add_argument("--max_time", help="wall time per run, e.g. 10m")
    p.add_argument("--output", required=True, help="report folder, e.g. reports/sst2")
    p.add_argument("--no_tfidf", action="store_true", help="skip the TF-IDF + logistic regression reference")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an --output made by another config or data (once the new comparison has finished)")

    def error(message):
        raise TextclfError(f"{message} (see textclf compare --help)")

    p.error = error
    args, passthrough = p.parse_known_args(argv)
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    unknown = [e for e in encoders if e not in ENCODERS]
    if unknown:
        raise TextclfError(f"unknown encoder(s) {', '.join(unknown)}: choose from {', '.join(ENCODERS)}")
    if args.seeds < 1:
        raise TextclfError("--seeds must be at least 1")
    bad = [a for a in passthrough if a.startswith("--") and not re.match(r"--(model|data|trainer)\.", a)]
    if bad:
        raise TextclfError(f"unknown flag {bad[0]} for textclf compare: see textclf compare --help")
    axes = parse_vary(args.vary)
    budget_args = []
    if args.max_epochs:
        budget_args = ["--trainer.max_epochs", str(args.max_epochs)]
    elif args.max_time:
        budget_args = ["--trainer.max_time", parse_duration(args.max_time)]
    return run_comparison(args.config, encoders, list(range(1, args.seeds + 1)), axes, budget_args, passthrough,
                          args.output, tfidf=not args.no_tfidf, overwrite=args.overwrite)


def run_comparison(config: str, encoders: list[str], seeds: list[int], axes: dict[str, list[str]],
                   budget_args: list[str], passthrough: list[str], output: str, tfidf: bool = True,
                   overwrite: bool = False) -> int:
    """Plan, train what is missing, and report into `output` (held locked for the whole command).

    `output/compare.json` records a fingerprint of the config and data: runs and tokenizer in an
    output made from other ones are never reused. With `overwrite` such an output is replaced, and
    put back if the new comparison fails or is interrupted."""
    from textclf.training import parse_train_args, signals_as_interrupts, signals_deferred

    base = ["--config", config, *passthrough]
    # The shared data: one split (seed fixed), one tokenizer trained once for every run.
    cli = parse_train_args([*base, "--seed", str(seeds[0])])
    dm = cli.datamodule
    check_writable(output, "--output")
    with signals_as_interrupts(), RunDirLock(output):
        recover_replaced(output)
        dm.prepare_data()
        dm.setup("fit")
        fingerprint = {"config": _config_fingerprint(cli, budget_args), "data": _data_fingerprint(dm)}
        aside = None
        try:
            with signals_deferred():  # where the replaced output went is known before a signal acts on it
                aside = _claim_output(output, fingerprint, overwrite)
            code = _compare(cli, config, base, encoders, seeds, axes, budget_args, output, tfidf)
        except Interrupted as stop:
            if aside:
                put_back(output, aside)
                raise Interrupted(stop.signum, f"interrupted: the comparison it was replacing is back in {output}") from None
            raise Interrupted(stop.signum, "interrupted: run the same command again to continue where it stopped") from None
        except BaseException:
            if aside:
                put_back(output, aside)
            raise
        if aside:
            with contextlib.suppress(Interrupted), signals_deferred():
                shutil.rmtree(aside, ignore_errors=True)
        return code


MANIFEST = "compare.json"


def _config_fingerprint(cli, budget_args: list[str]) -> str:
    """What every run of the comparison shares: the config without the per-run fields, and the budget."""
    import yaml

    config = yaml.safe_load(cli.parser.dump(cli.config, skip_none=False, skip_link_targets=False))
    for key in ("seed", "run_dir", "overwrite", "resume", "print_config", "config"):
        config.pop(key, None)
    config.get("model", {}).pop("encoder", None)
    config.get("data", {}).pop("tokenizer_file", None)
    return _digest([config, budget_args])


def _data_fingerprint(dm) -> str:
    """The examples, labels and splits that every run trains and is scored on."""
    return _digest([dm.label_names, {split: (dm.texts[split], dm.splits[split].labels.tolist()) for split in sorted(dm.splits)}])


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def _claim_output(output: str, fingerprint: dict, overwrite: bool) -> str | None:
    """Check that `output` is this comparison's (or new), write its manifest; returns where a replaced one went."""
    manifest = os.path.join(output, MANIFEST)
    aside = None
    if holds_files(output):
        recorded = None
        with contextlib.suppress(OSError, ValueError):
            with open(manifest, encoding="utf-8") as f:
                recorded = json.load(f).get("fingerprint")
        if recorded is None:
            raise TextclfError(f"--output {output} holds files but no {MANIFEST} (not made by textclf compare, or by "
                               "an older version): choose another --output")
        if recorded != fingerprint:
            what = " and ".join(k for k in ("config", "data") if recorded.get(k) != fingerprint[k])
            if not overwrite:
                raise TextclfError(f"--output {output} was made with another {what}: its runs cannot be reused; "
                                   "use another --output or pass --overwrite to replace it")
            aside = move_aside(output)
    os.makedirs(os.path.join(output, "runs"), exist_ok=True)
    with open(manifest, "w", encoding="utf-8") as f:
        json.dump({"fingerprint": fingerprint, "written_by": "textclf compare"}, f, indent=2)
    return aside


def _compare(cli, config: str, base: list[str], encoders: list[str], seeds: list[int], axes: dict[str, list[str]],
             budget_args: list[str], output: str, tfidf: bool) -> int:
    from textclf.compare.report import write_report

    dm = cli.datamodule
    data_seed = dm.hparams.seed
    tok_path = os.path.join(output, "tokenizer.json")
    if not os.path.exists(tok_path):
        with open(tok_path, "w", encoding="utf-8") as f:
            f.write(dm.tokenizer_json)
    shares_tokenizer = not any(k.startswith(("data.tokenizer", "data.vocab_size", "data.min_frequency", "data.lowercase"))
                               for k in axes)
    eval_split = "test" if "test" in dm.splits else "validation"
    eval_texts = dm.texts[eval_split]
    eval_labels = dm.splits[eval_split].labels
    eval_lengths = np.array([len(e.ids) for e in dm.tokenizer.encode_batch_fast(eval_texts, add_special_tokens=False)])

    runs = plan(encoders, seeds, axes)
    started = time.perf_counter()
    trained_seconds: dict[str, list[float]] = {}  # encoder -> seconds of its finished runs, for the ETA
    for i, run in enumerate(runs, 1):
        run_dir = os.path.join(output, "runs", run.name)
        label = f"[{i}/{len(runs)}] {run.name}"
        if _finished(run_dir):
            print(f"{label}: done earlier, skipped", flush=True)
            continue
        t0 = time.perf_counter()
        args = [*base, "--model.encoder", run.encoder, "--seed", str(run.seed), "--data.seed", str(data_seed),
                "--run_dir", run_dir, "--trainer.enable_progress_bar", "false", *budget_args]
        if shares_tokenizer:
            args += ["--data.tokenizer_file", tok_path]
        for key, value in run.vary.items():
            args += [f"--{key}", value]
        if os.path.exists(os.path.join(run_dir, "last.ckpt")) and not os.path.exists(os.path.join(run_dir, "metrics.json")):
            args.append("--resume")
        elif os.path.isdir(run_dir) and os.listdir(run_dir):
            args.append("--overwrite")
        _train_in_subprocess(args, run_dir)
        _analyse(run_dir, eval_texts, eval_labels, eval_lengths, eval_split)
        took = time.perf_counter() - t0
        trained_seconds.setdefault(run.encoder, []).append(took)
        overall = np.mean([x for xs in trained_seconds.values() for x in xs])
        eta = sum(np.mean(trained_seconds.get(r.encoder, [overall])) for r in runs[i:]
                  if not _finished(os.path.join(output, "runs", r.name)))
        with open(os.path.join(run_dir, "metrics.json")) as f:
            acc = (json.load(f).get("test") or {}).get("acc")
        print(f"{label}: {took:.0f}s" + (f", test acc {acc:.4f}" if acc is not None else "")
              + f" | elapsed {_clock(time.perf_counter() - started)}, ETA {_clock(eta)}", flush=True)

    baseline = None
    if tfidf:
        baseline = _tfidf(output, dm, eval_split)
    write_report(output, runs, config, eval_split, eval_lengths, eval_labels, baseline,
                 budget=" ".join(budget_args) or "the config's max_epochs", axes=axes)
    print(f"report: {os.path.join(output, 'report.md')}")
    return 0


def _finished(run_dir: str) -> bool:
    return all(os.path.exists(os.path.join(run_dir, f)) for f in ("metrics.json", "analysis.json"))


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m{s:02d}s"


def _train_in_subprocess(args: list[str], run_dir: str) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-m", "textclf.cli", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        stdout, stderr = proc.communicate()
    except Interrupted as stop:
        # the run got the signal too (same process group) or gets it now: let it leave its run resumable
        proc.send_signal(stop.signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=60)
        raise
    if proc.returncode != 0:
        lines = (stderr or stdout).strip().splitlines()
        raise TextclfError(f"run {run_dir} failed: {lines[-1] if lines else 'no output'} (rerun compare to resume)")


def _analyse(run_dir: str, texts: list[str], labels: np.ndarray, lengths: np.ndarray, split: str) -> None:
    """Inference speed through the predict path, and per-example predictions for the length analysis."""
    from textclf.predict import load_classifier

    clf = load_classifier(os.path.join(run_dir, "best.ckpt"))
    clf.predict_proba(texts[:256])  # warm-up
    t0 = time.perf_counter()
    preds = clf.predict_proba(texts).argmax(1)
    seconds = time.perf_counter() - t0
    out = {"split": split, "inference_texts_per_second": round(len(texts) / seconds, 1),
           "accuracy": float((preds == labels).mean()), "predictions": preds.tolist()}
    with open(os.path.join(run_dir, "analysis.json"), "w") as f:
        json.dump(out, f)


def _tfidf(output: str, dm, eval_split: str) -> dict:
    from textclf.compare.baseline import tfidf_logreg

    path = os.path.join(output, "tfidf.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    split = lambda s: (dm.texts[s], dm.splits[s].labels)  # noqa: E731
    result = tfidf_logreg(dm.tokenizer, split("train"), split("validation"), split("test") if "test" in dm.splits else None)
    with open(path, "w") as f:
        json.dump(result, f)
    print(f"TF-IDF + logistic regression: {eval_split} acc {result.get('test', result['val'])['acc']:.4f}", flush=True)
    return result
