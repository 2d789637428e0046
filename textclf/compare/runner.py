"""Plan and run the comparison: one normal run directory per (vary values, encoder, seed).

Every run gets the same config, data split (--data.seed), shared tokenizer file and budget; only the
encoder, the seed and the --vary fields change. Finished runs (metrics.json + analysis.json) are
skipped, so re-running the command only does what is missing; an interrupted run is resumed.
Each run trains in its own process, so peak memory and speed are that run's alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time

import numpy as np

from textclf.compare.plan import plan
from textclf.compare.pretraining import AXIS as PRETRAIN_AXIS
from textclf.compare.pretraining import Pretraining, keep, pretrain_all
from textclf.compare.pretraining import report_section as pretraining_section
from textclf.compare.pretraining import run_flags as pretrain_flags
from textclf.compare.representations import VECTORS, analysed_texts
from textclf.compare.subprocesses import run_textclf
from textclf.errors import Interrupted, TextclfError
from textclf.logs import clock
from textclf.model.encoders import foreign_options
from textclf.model.multilabel_metrics import example_f1
from textclf.training.arguments import EPOCHS, PRETRAINED_EPOCHS
from textclf.training.lock import RunDirLock
from textclf.training.module import PRETRAINED_ONLY, SCRATCH_ONLY
from textclf.training.run_dir import (
    check_writable,
    holds_files,
    move_aside,
    put_back,
    recover_replaced,
)
from textclf.training.signals import signals_as_interrupts, signals_deferred


def run_comparison(config: str | None, encoders: list[str], seeds: list[int], axes: dict[str, list[str]],
                   budget_args: list[str], passthrough: list[str], output: str, tfidf: bool = True,
                   overwrite: bool = False, pretraining: Pretraining | None = None) -> int:
    """Plan, train what is missing, and report into `output` (held locked for the whole command).

    `output/compare.json` records a fingerprint of the config and data: runs and tokenizer in an
    output made from other ones are never reused. With `overwrite` such an output is replaced, and
    put back if the new comparison fails or is interrupted."""
    from textclf.training.arguments import parse_train_args

    base = [*(["--config", config] if config else []), *passthrough]
    # The shared data: one split (seed fixed), one tokenizer trained once for every run trained from scratch
    # (a pretrained model brings its own).
    cli = parse_train_args([*base, "--seed", str(seeds[0]), *_unset(SCRATCH_ONLY | PRETRAINED_ONLY)])
    dm = cli.datamodule
    check_writable(output, "--output")
    folder = os.path.realpath(output)  # a symlink's folder is what is locked, moved aside and put back
    with signals_as_interrupts(), RunDirLock(folder):
        recover_replaced(folder)
        dm.prepare_data()
        dm.setup("fit")
        pretrain_args = pretraining.args() if pretraining else []
        fingerprint = {"config": _config_fingerprint(cli, budget_args + passthrough + pretrain_args),
                       "data": _data_fingerprint(dm)}
        aside = None
        try:
            with signals_deferred():  # where the replaced output went is known before a signal acts on it
                aside = _claim_output(folder, fingerprint, overwrite)
            code = _compare(cli, config, base, passthrough, encoders, seeds, axes, budget_args, output, tfidf, pretraining)
        except Interrupted as stop:
            if aside:
                put_back(folder, aside)
                raise Interrupted(stop.signum, f"interrupted: the comparison it was replacing is back in {output}") from None
            raise Interrupted(stop.signum, "interrupted: run the same command again to continue where it stopped") from None
        except BaseException:
            if aside:
                put_back(folder, aside)
            raise
        if aside:
            with contextlib.suppress(Interrupted), signals_deferred():
                shutil.rmtree(aside, ignore_errors=True)
        return code


MANIFEST = "compare.json"
# the budget when neither --max_epochs nor the config sets one: each encoder's own recipe
DEFAULT_BUDGET = f"the config's max_epochs (default {EPOCHS}; {PRETRAINED_EPOCHS} for a Hugging Face model)"


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


def _compare(cli, config: str | None, base: list[str], passthrough: list[str], encoders: list[str], seeds: list[int], axes: dict[str, list[str]],
             budget_args: list[str], output: str, tfidf: bool, pretraining: Pretraining | None = None) -> int:
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

    pretrained_runs = []
    if pretraining:
        axes = {**axes, **pretraining.axis()}
        pretrained_runs = pretrain_all(pretraining, encoders, passthrough, output, dm.hparams.path,
                                       dm.hparams.max_length)
    runs = [run for run in plan(encoders, seeds, axes) if keep(run)]
    started = time.perf_counter()
    trained_seconds: dict[str, list[float]] = {}  # encoder -> seconds of its finished runs, for the ETA
    for i, run in enumerate(runs, 1):
        run_dir = os.path.join(output, "runs", run.name)
        label = f"[{i}/{len(runs)}] {run.name}"
        if _finished(run_dir):
            print(f"{label}: done earlier, skipped", flush=True)
            continue
        t0 = time.perf_counter()
        pretrained = run.encoder == "pretrained"
        from_run = pretrain_flags(run, output)  # fine-tuned from the comparison's pretraining of this encoder
        args = [*base, "--model.encoder", run.encoder, "--seed", str(run.seed), "--data.seed", str(data_seed),
                "--run_dir", run_dir, "--trainer.enable_progress_bar", "false", *budget_args,
                *_unset(SCRATCH_ONLY if pretrained else PRETRAINED_ONLY)]
        if shares_tokenizer and not pretrained and not from_run:
            args += ["--data.tokenizer_file", tok_path]
        # options of the other encoders (e.g. --model.hidden_size for the Transformer) are unset for this one
        for key in sorted(foreign_options(run.encoder)):
            args += [f"--model.{key}", "null"]
        for key, value in run.vary.items():
            if key != PRETRAIN_AXIS:
                args += [f"--{key}", value]
        args += from_run
        if os.path.exists(os.path.join(run_dir, "last.ckpt")) and not os.path.exists(os.path.join(run_dir, "metrics.json")):
            args.append("--resume")
        elif os.path.isdir(run_dir) and os.listdir(run_dir):
            args.append("--overwrite")
        run_textclf("train", args, run_dir)
        _analyse(run_dir, eval_texts, eval_labels, eval_lengths, eval_split)
        took = time.perf_counter() - t0
        trained_seconds.setdefault(run.encoder, []).append(took)
        overall = np.mean([x for xs in trained_seconds.values() for x in xs])
        eta = sum(np.mean(trained_seconds.get(r.encoder, [overall])) for r in runs[i:]
                  if not _finished(os.path.join(output, "runs", r.name)))
        with open(os.path.join(run_dir, "metrics.json")) as f:
            acc = (json.load(f).get("test") or {}).get("f1" if dm.multi_label else "acc")
        print(f"{label}: {took:.0f}s" + (f", test {'macro-F1' if dm.multi_label else 'acc'} {acc:.4f}" if acc is not None else "")
              + f" | elapsed {clock(time.perf_counter() - started)}, ETA {clock(eta)}", flush=True)

    baseline = None
    if tfidf:
        baseline = _tfidf(output, dm, eval_split)
    print("writing the report: " + ("macro-F1, speed and length tables and significance..." if dm.multi_label else
          f"accuracy, speed and length tables, significance, and the representation analysis of {len(runs)} runs "
          "(CKA, probes, maps)..."), flush=True)
    write_report(output, runs, config, eval_split, eval_texts, eval_lengths, eval_labels,
                 dm.label_names, baseline, budget=" ".join(budget_args) or DEFAULT_BUDGET, axes=axes, flags=passthrough,
                 data=dm.source_name)
    if pretraining:
        with open(os.path.join(output, "report.md"), "a", encoding="utf-8") as f:
            f.write(pretraining_section(pretrained_runs, pretraining))
    print(f"report: {os.path.join(output, 'report.md')}")
    return 0


def _unset(options: dict[str, str]) -> list[str]:
    """Flags that set `options` (a run's own kind of encoder does not take them) to their unset values."""
    return [arg for key, value in options.items() for arg in (f"--model.{key}", value)]


def _finished(run_dir: str) -> bool:
    return all(os.path.exists(os.path.join(run_dir, f)) for f in ("metrics.json", "analysis.json"))


def _analyse(run_dir: str, texts: list[str], labels: np.ndarray, lengths: np.ndarray, split: str) -> None:
    """Inference speed through the predict path, and per-example predictions for the length analysis."""
    from textclf.serve.loading import load_classifier

    clf = load_classifier(os.path.join(run_dir, "best.ckpt"))
    clf.predict_proba(texts[:256])  # warm-up
    t0 = time.perf_counter()
    probs = clf.predict_proba(texts)
    seconds = time.perf_counter() - t0
    preds = probs.argmax(1)  # the most likely class (multi-label: label), which the maps colour texts by
    # each text's score: correct or not, or (multi-label) the F1 of its predicted and true label sets
    correct = example_f1(probs, labels, clf.decision_thresholds()) if clf.multi_label else (preds == labels)
    out = {"split": split, "inference_texts_per_second": round(len(texts) / seconds, 1),
           "accuracy": float(np.mean(correct)), "predictions": preds.tolist(),
           "correct": np.asarray(correct, dtype=float).round(4).tolist(), "encoder_options": clf.model.config.encoder_options}
    if clf.multi_label:  # the labels over threshold, for the bootstrap of macro-F1 (textclf.compare.analysis)
        out["predicted"] = [np.flatnonzero(row).tolist() for row in probs >= clf.decision_thresholds()]
    if not clf.multi_label:  # the pooled vectors the representation analysis reads (single-label only)
        t0 = time.perf_counter()
        np.save(os.path.join(run_dir, VECTORS), clf.embed([texts[i] for i in analysed_texts(len(texts))]))
        out["embed_seconds"] = round(time.perf_counter() - t0, 2)
    with open(os.path.join(run_dir, "analysis.json"), "w") as f:
        json.dump(out, f)


def _tfidf(output: str, dm, eval_split: str) -> dict:
    from textclf.baseline.tfidf import fit_tfidf

    path = os.path.join(output, "tfidf.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    split = lambda s: (dm.texts[s], dm.splits[s].labels)  # noqa: E731
    print("TF-IDF + logistic regression on the same splits (choosing its C on validation)...", flush=True)
    result = fit_tfidf(dm.tokenizer, split("train"), split("validation"), split("test") if "test" in dm.splits else None)[0]
    with open(path, "w") as f:
        json.dump(result, f)
    key, word = ("f1", "macro-F1") if dm.multi_label else ("acc", "acc")
    print(f"TF-IDF + logistic regression: {eval_split} {word} {result.get('test', result['val'])[key]:.4f}", flush=True)
    return result
