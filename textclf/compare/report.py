"""Write report.md, results.csv, results.json and the PNG figures of a comparison."""

from __future__ import annotations

import csv
import json
import os
import platform
import time

import numpy as np
import torch

from textclf.compare import analysis, plots, representations
from textclf.compare.analysis import SETTLE_EPOCHS, mean_std, settles
from textclf.compare.representations import VECTORS, Member, analysed_texts, untrained_vectors_of, vectors_of


def write_report(output: str, planned, config: str | None, split: str, texts: list[str], lengths: np.ndarray,
                 labels: np.ndarray, label_names: list[str], baseline: dict | None, budget: str, axes: dict,
                 flags: list[str] | None = None, data: str | None = None) -> dict:
    runs = analysis.load_runs(output, planned)
    scores = runs[0].scores
    rows = analysis.summarise(runs)
    by_length = analysis.length_bins(runs, lengths, labels, _baseline_correct(baseline, labels))
    curves = analysis.learning_curves(runs)
    effects = analysis.effects(runs, labels)
    spread = analysis.vary_spread(runs)
    found = analysis.findings(rows, effects, by_length, spread, baseline, split, scores)
    per_seed = {}
    for r in runs:
        per_seed.setdefault(r.group, []).append(r.acc)
    baseline_acc = (baseline.get("test") or baseline["val"])[scores.key] if baseline else None

    word = scores.word
    plots.accuracy_chart(rows, per_seed, baseline_acc, split, os.path.join(output, "accuracy.png"), word)
    plots.length_chart(by_length, os.path.join(output, "accuracy_by_length.png"), split,
                       "mean per-example F1" if scores is analysis.MULTI_SCORES else word)
    plots.learning_curves_chart(curves, os.path.join(output, "learning_curves.png"), word)
    plots.speed_chart(rows, os.path.join(output, "speed.png"), split, word)
    reps = None
    if scores is analysis.SINGLE_SCORES:  # probes and maps take one class per text
        started = time.perf_counter()
        reps, coords = _representations(output, runs, texts, labels)
        plots.similarity_chart(reps, os.path.join(output, "representations_cka.png"))
        plots.maps_chart(coords, label_names, os.path.join(output, "representations_map.png"))
        # what the representation analysis cost: this step, and each run's embedding of the texts (runner._analyse)
        reps["seconds"] = round(time.perf_counter() - started, 1)
        reps["embed_seconds"] = round(sum(r.analysis.get("embed_seconds", 0.0) for r in runs), 1)

    with open(os.path.join(output, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run", "encoder", "vary", "seed", "params_total", "params_encoder", f"{split}_{scores.key}",
                    f"{split}_{scores.second}",
                    "best_epoch", "epochs", "seconds_to_best", "train_tokens_per_second", "inference_texts_per_second",
                    "peak_memory_mb"])
        for r in runs:
            m = r.metrics
            w.writerow([r.name, r.encoder, r.vary, r.seed, m["parameters"]["total"], m["parameters"]["encoder"],
                        f"{r.acc:.4f}", f"{r.f1:.4f}", m["best_epoch"], len(m.get("history", [])), m["seconds_to_best"],
                        m["train_tokens_per_second"], r.analysis["inference_texts_per_second"], m["peak_memory_mb"]])
    machine = {"cpus": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
               "platform": platform.platform(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    result = {"config": config, "data": data, "split": split, "budget": budget, "metric": scores.word, "vary": axes, "machine": machine, "summary": rows,
              "flags": flags or [], "accuracy_by_length": by_length, "learning_curves": curves, "effects": effects, "vary_spread": spread,
              "tfidf": {k: v for k, v in (baseline or {}).items() if not k.startswith("test_")} or None, "findings": found,
              "representations": reps}
    with open(os.path.join(output, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(output, "report.md"), "w", encoding="utf-8") as f:
        f.write(_markdown(result, runs))
    return result


def _baseline_correct(baseline: dict | None, labels: np.ndarray) -> np.ndarray | None:
    """The TF-IDF baseline's per-example scores on the evaluation split (as `Run.correct`)."""
    if not baseline:
        return None
    if "test_correct" in baseline:
        return np.asarray(baseline["test_correct"], dtype=np.float64)
    predictions = baseline.get("test_predictions")
    return None if predictions is None else (np.asarray(predictions) == labels).astype(np.float64)


def _num(x: float | None, digits: int) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _representations(output: str, runs, texts: list[str], labels: np.ndarray) -> tuple[dict, dict]:
    """The representation analysis of the runs' best checkpoints on the analysed evaluation texts."""
    keep = analysed_texts(len(texts))
    chosen, gold = [texts[i] for i in keep], labels[keep]
    members = [Member(r.name, r.group, os.path.join(output, "runs", r.name, "best.ckpt"),
                      np.asarray(r.analysis["predictions"])[keep]) for r in runs]
    vectors = {m.name: vectors_of(m.checkpoint, chosen, os.path.join(output, "runs", m.name, VECTORS)) for m in members}
    untrained = {}
    for m in members:
        if m.group not in untrained:
            untrained[m.group] = untrained_vectors_of(m.checkpoint, chosen)
    untrained = {g: v for g, v in untrained.items() if v is not None}
    res = representations.analyse(members, vectors, untrained, gold)
    res["of"] = len(texts)
    res["findings"] = representations.findings(res)
    return res, representations.maps(members, vectors, gold)


def representation_lines(rep: dict, split: str) -> list[str]:
    pct = lambda x: "n/a" if x is None else f"{100 * x:.1f}"  # noqa: E731
    two = lambda x: "n/a" if x is None else f"{x:.2f}"  # noqa: E731
    subset = ("all" if rep["examples"] == rep["of"] else f"a fixed random {rep['examples']:,} of the {rep['of']:,}")
    groups = rep["groups"]
    lines = ["", "## Representations", "",
             f"The pooled vector each run's head sees (`textclf embed`), on {subset} {split} texts. Linear CKA "
             "(Kornblith et al. 2019) compares two runs' vectors of the same texts (1: the same geometry up to rotation "
             "and scale); on the diagonal of the encoder table, the mean over pairs of seeds of one encoder (n/a with "
             f"one seed). Neighbour agreement: the share of a text's {rep['neighbours']['k']} nearest texts (cosine) two "
             f"runs have in common. Linear probe: logistic regression, {representations.PROBE_FOLDS}-fold cross-validated "
             "on the frozen vectors of these texts, for the trained runs and for the same network before training "
             "(randomly initialised for an encoder trained from scratch; a pretraining run's encoder for one fine-tuned "
             "from it; a pretrained model's published weights, "
             "before fine-tuning); linear CKA between the vectors before and after training says how far training "
             "moved them."
             + (f" This analysis took {rep['seconds']:.0f}s (plus {rep['embed_seconds']:.0f}s embedding the texts, "
                "run by run)." if "seconds" in rep else ""), "",
             *[f"- {s}" for s in rep["findings"]], "",
             "![representation similarity](representations_cka.png)", "",
             "| linear CKA | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    lines += [f"| {g} | " + " | ".join(two(x) for x in row) + " |" for g, row in zip(groups, rep["cka"]["groups"])]
    lines += ["", f"| {rep['neighbours']['k']}-NN agreement (%) | " + " | ".join(groups) + " |",
              "|---|" + "---|" * len(groups)]
    lines += [f"| {g} | " + " | ".join(pct(x) for x in row) + " |" for g, row in zip(groups, rep["neighbours"]["groups"])]
    lines += ["", "| encoder | runs | head accuracy (%) | probe, trained (%) | probe, before training (%) | "
              "CKA before/after |", "|---|---|---|---|---|---|"]
    for p in rep["probes"]:
        trained = (mean_std(p["probe_trained"], p["probe_trained_std"], p["runs"], digits=1)
                   if p["probe_trained"] is not None else "n/a")
        lines.append(f"| {p['group']} | {p['runs']} | {pct(p['head_accuracy'])} | {trained} | "
                     f"{pct(p['probe_untrained'])} | {two(p.get('cka_before_after'))} |")
    lines += ["", f"Majority class: {pct(rep['majority'])}%.", "",
              "![maps](representations_map.png)", "",
              f"PCA (top) and t-SNE (bottom) of the first seed of each encoder, on at most "
              f"{representations.MAP_POINTS:,} of these texts; colour: gold label; dot: classified right, cross: misclassified."]
    return lines


def _markdown(res: dict, runs) -> str:
    pts = lambda x: f"{100 * x:.2f}"  # noqa: E731
    split = res["split"]
    scores = runs[0].scores
    word, multi = scores.word, scores is analysis.MULTI_SCORES
    seeds = max(r["seeds"] for r in res["summary"])
    source = f"Config `{res['config']}`" if res["config"] else f"Data `{res.get('data')}` (no config)"
    lines = [
        f"# textclf compare: {os.path.basename(res['config']) if res['config'] else res.get('data')}",
        "",
        f"{source}, {seeds} seed(s) per encoder, budget: {res['budget']}, metrics on the **{split}** "
        f"split of the best-validation checkpoint. Machine: {res['machine']['cpus']} CPUs, torch {res['machine']['torch']}"
        + (f", GPU {res['machine']['gpu']}" if res["machine"]["gpu"] else "") + ".",
        "Every run shares the data split, the tokenizer (`tokenizer.json`) and the budget; only the encoder"
        + (", the seed and the varied field change." if res["vary"] else " and the seed change."),
        "Flags passed to every run: " + (f"`{' '.join(res['flags'])}`." if res["flags"] else "none."),
        "",
        "## Findings",
        "",
        *[f"- {s}" for s in res["findings"]],
        "",
        "## Results",
        "",
        f"| encoder | params (total / encoder) | {split} {word} | {split} {scores.second_word} | epochs to settle | "
        "s to settle | fit s | "
        "train tokens/s | inference texts/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["summary"]:
        settled = settles(r)
        lines.append(
            f"| {r['group']} | {r['params_total']:,} / {r['params_encoder']:,} | "
            f"{mean_std(r['acc_mean'], r['acc_std'], r['seeds'])} | {mean_std(r['f1_mean'], r['f1_std'], r['seeds'])} | "
            f"{_num(r['epochs_to_within_1pt'] if settled else None, 1)} | "
            f"{_num(r['seconds_to_within_1pt'] if settled else None, 0)} | {_num(r.get('wall_seconds'), 0)} | "
            f"{r['train_tokens_per_second']:,.0f} | {r['inference_texts_per_second']:,.0f} | {r['peak_memory_mb']:.0f} |")
    if res["tfidf"]:
        t = res["tfidf"]
        ref = t.get("test") or t["val"]
        kind = "one-vs-rest logistic regression" if multi else "logistic regression"
        lines.append(f"| TF-IDF 1-2 grams + {kind} (C={t['C']} chosen on validation) | {t['features']:,} features | "
                     f"{pts(ref[scores.key])} | {pts(ref[scores.second])} | - | - | {t['seconds']:.0f} | - | - | - |")
    q = res["accuracy_by_length"]
    by_length = "Mean per-example F1" if multi else "Accuracy"
    lines += ["", f"Settling: the first epoch (and wall seconds) at which validation {word} came within 1 point of its "
              f"value at the last epoch, mean over seeds (n/a under {SETTLE_EPOCHS} epochs). Fit s: a run's wall time, "
              "training and validation epochs, mean over seeds (a fine-tuned row's pretraining is not in it)."
              + (" Multi-label: each label is decided at thresholds chosen on validation macro-F1 (stored in each "
                 "best.ckpt); a text's own score is the F1 of its predicted and true label sets." if multi else ""),
              "", f"## {by_length} by text length", "",
              f"{len(q['bins'])} bins of about equal size by token count, every length in one bin (texts per bin: "
              f"{', '.join(map(str, q['counts']))}); mean ± std over the seeds of each encoder.", "", "| encoder | " + " | ".join(f"{b} tokens" for b in q["bins"]) + " |",
              "|---|" + "---|" * len(q["bins"])]
    for g, vals in q["accuracy"].items():
        seeds = max((r["seeds"] for r in res["summary"] if r["group"] == g), default=1)
        lines.append(f"| {g} | " + " | ".join(pts(v) if g == "tfidf+logreg" else mean_std(v, sd, seeds)
                                                for v, sd in zip(vals, q["std"][g])) + " |")
    lines += ["", "![accuracy by length](accuracy_by_length.png)", "", "## Effect sizes", "",
              f"Each pair of groups that differ in one thing: the mean {word} difference; whether it is larger than "
              "the seed-to-seed spread (the wider min-max range of the two over seeds); and a paired bootstrap over the "
              f"{split} examples ({analysis.BOOTSTRAP:,} resamples, {scores.per_example}, averaged over seeds): "
              "its 95% interval and two-sided p-value.", "",
              "| better | worse | " + ("varied | " if res["vary"] else "")
              + "difference (pts) | 95% interval (pts) | p | seed spread (pts) | beyond seed spread |",
              "|---|---|" + ("---|" if res["vary"] else "") + "---|---|---|---|---|"]
    for e in res["effects"]:
        spread = "n/a" if e["seed_spread"] is None else pts(e["seed_spread"])
        verdict = "n/a" if e["beyond_noise"] is None else ("yes" if e["beyond_noise"] else "no")
        interval = "n/a" if e["p"] is None else f"{pts(e['ci_low'])} to {pts(e['ci_high'])}"
        p = "n/a" if e["p"] is None else ("< 0.001" if e["p"] < 0.001 else f"{e['p']:.3f}")
        lines.append(f"| {e['better']} | {e['worse']} | " + (f"{e['vary'] or '-'} | " if res["vary"] else "")
                     + f"{pts(e['diff'])} | {interval} | {p} | {spread} | {verdict} |")
    if res["vary_spread"]:
        v = res["vary_spread"]
        several = len(v["by_encoder_field_spread"]) > 1  # with one encoder there is no encoder choice to compare
        lines += ["", "### Varied field against encoder choice" if several else "### Varied field", "",
                  f"{word[0].upper() + word[1:]} range caused by the varied field (per encoder, mean {pts(v['field_spread_mean'])} pts)"
                  + (f" beside the range caused by the encoder choice (per value, mean {pts(v['encoder_spread_mean'])} pts)"
                     if several else "")
                  + (f"; seed spread {pts(v['seed_spread_mean'])} pts." if v["seed_spread_mean"] is not None else "."), "",
                  "| encoder | range over varied values (pts) |", "|---|---|"]
        lines += [f"| {e} | {pts(x)} |" for e, x in v["by_encoder_field_spread"].items()]
        if several:
            lines += ["", "| varied value | range over encoders (pts) |", "|---|---|"]
            lines += [f"| {k} | {pts(x)} |" for k, x in v["by_value_encoder_spread"].items()]
    if res["representations"] is not None:
        lines += representation_lines(res["representations"], split)
    else:
        lines += ["", "## Representations", "", "Not analysed for multi-label runs: the probes and maps take one class "
                  "per text."]
    lines += ["", "## Figures", "", f"![{word}](accuracy.png)", "", "![learning curves](learning_curves.png)", "",
              "![speed](speed.png)", "", "## Runs", "",
              "Each run is a normal run directory under `runs/` (its `best.ckpt` works with `textclf evaluate` and "
              "`textclf predict`); `results.csv` has one row per run.", ""]
    return "\n".join(lines)
