"""Runs -> grouped statistics, accuracy by length bin, learning curves, effect sizes, findings.

Everything here is computed from the run directories; nothing is written down in advance.
"""

from __future__ import annotations

import itertools

import numpy as np

from textclf.compare.runs import MULTI_SCORES, SINGLE_SCORES, Run, Scores, load_runs  # noqa: F401 (the report's)

GATED = ("lstm", "gru")


def summarise(runs: list[Run]) -> list[dict]:
    """One row per encoder (and --vary value): means and spreads over seeds."""
    rows = []
    for group, items in _groups(runs).items():
        acc = np.array([r.acc for r in items])
        f1 = np.array([r.f1 for r in items])
        m0 = items[0].metrics
        within = [w for w in (r.to_within_final() for r in items) if w is not None]
        rows.append({
            "group": group,
            "encoder": items[0].encoder,
            "vary": items[0].vary,
            "seeds": len(items),
            "params_total": m0["parameters"]["total"],
            "params_encoder": m0["parameters"]["encoder"],
            "acc_mean": float(acc.mean()), "acc_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
            "acc_min": float(acc.min()), "acc_max": float(acc.max()),
            "f1_mean": float(f1.mean()), "f1_std": float(f1.std(ddof=1)) if len(f1) > 1 else 0.0,
            "best_epoch": float(np.mean([r.metrics["best_epoch"] for r in items])),
            "seconds_to_best": float(np.mean([r.metrics["seconds_to_best"] for r in items])),
            "wall_seconds": _mean_of([r.metrics.get("wall_seconds") for r in items]),
            "epochs_to_within_1pt": float(np.mean([w[0] for w in within])) if within else None,
            "seconds_to_within_1pt": float(np.mean([w[1] for w in within])) if within else None,
            "still_improving": sum(r.still_improving for r in items),
            "encoder_options": items[0].analysis.get("encoder_options"),
            "epochs": min(len(r.metrics.get("history", [])) for r in items),
            **_speed("train_tokens_per_second", [r.metrics["train_tokens_per_second"] for r in items]),
            **_speed("inference_texts_per_second", [r.analysis["inference_texts_per_second"] for r in items]),
            "peak_memory_mb": float(np.max([r.metrics["peak_memory_mb"] for r in items])),
        })
    return rows


def _mean_of(values: list[float | None]) -> float | None:
    """The mean of the values runs have (a run written before a field existed has none)."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _speed(name: str, values: list[float]) -> dict:
    """Mean, standard deviation and max/min ratio of one speed over seeds (a ratio over 2: the machine was
    busy during some run, see `findings`)."""
    v = np.asarray(values, dtype=float)
    return {name: float(v.mean()), f"{name}_std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            f"{name}_ratio": float(v.max() / v.min()) if v.min() > 0 else None}


def mean_std(mean: float, std: float, seeds: int, scale: float = 100, digits: int = 2) -> str:
    """`81.00 ± 0.96 (n=3)`: the number of seeds on every ±; one run: its value alone."""
    if seeds < 2:
        return f"{scale * mean:.{digits}f} (1 run)"
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f} (n={seeds})"


SETTLE_EPOCHS = 3  # settling (epochs to within 1 point of the last) means nothing over fewer epochs


def _groups(runs: list[Run]) -> dict[str, list[Run]]:
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(r.group, []).append(r)
    return groups


def length_bins(runs: list[Run], lengths: np.ndarray, labels: np.ndarray, baseline_correct: list[float] | None = None,
                bins: int | None = None) -> dict:
    """Accuracy per token-length bin of the evaluation split, per group: mean and standard deviation over
    seeds. Bins of about equal numbers of texts: going up the lengths, a new bin starts at the first length
    with at least b/bins of the texts below it. Every text of one length is in one bin, so the bins'
    ranges never overlap (ties make a bin larger, many ties fewer bins). 4 bins, or 8 on an evaluation
    split of 4,000 texts or more."""
    n = len(lengths)
    bins = bins or (8 if n >= 4000 else 4)
    values, counts = np.unique(lengths, return_counts=True)
    below = np.cumsum(counts) - counts  # texts shorter than each length
    of_value = np.searchsorted(np.arange(1, bins) * n / bins, below, side="right")
    which = np.unique(of_value, return_inverse=True)[1][np.searchsorted(values, lengths)]  # numbered without gaps
    bins = int(which.max()) + 1 if n else 0
    names = [_span(int(lengths[which == b].min()), int(lengths[which == b].max())) for b in range(bins)]

    def per_bin(correct: np.ndarray) -> list[float]:
        return [float(correct[which == b].mean()) for b in range(bins)]

    table, spread = {}, {}
    for group, items in _groups(runs).items():
        accs = np.array([per_bin(r.correct(labels)) for r in items])
        table[group] = accs.mean(0).tolist()
        spread[group] = (accs.std(0, ddof=1) if len(items) > 1 else np.zeros(bins)).tolist()
    if baseline_correct is not None:
        table["tfidf+logreg"] = per_bin(np.asarray(baseline_correct, dtype=np.float64))
        spread["tfidf+logreg"] = [0.0] * bins
    return {"bins": names, "counts": [int((which == b).sum()) for b in range(bins)], "accuracy": table, "std": spread}


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


def learning_curves(runs: list[Run]) -> dict:
    """Per group: validation accuracy by epoch (mean, min, max over seeds) and mean wall seconds."""
    curves = {}
    for group, items in _groups(runs).items():
        n = min(len(r.metrics["history"]) for r in items)
        acc = np.array([[h[f"val_{r.scores.key}"] for h in r.metrics["history"][:n]] for r in items])
        sec = np.array([[h["elapsed"] for h in r.metrics["history"][:n]] for r in items])
        curves[group] = {"epoch": list(range(1, n + 1)), "mean": acc.mean(0).tolist(), "min": acc.min(0).tolist(),
                         "max": acc.max(0).tolist(), "seconds": sec.mean(0).tolist()}
    return curves


def seed_spread(*groups: tuple[int, float]) -> float | None:
    """The seed-to-seed spread a gap between groups is judged against: the widest of their min-max
    accuracy ranges, given as (seeds, range) per group; unknown (None) when a group has one seed."""
    return max(r for _, r in groups) if min(n for n, _ in groups) > 1 else None


BOOTSTRAP = 2000  # resamples of the paired bootstrap


def paired_bootstrap(a: np.ndarray, b: np.ndarray, resamples: int = BOOTSTRAP, seed: int = 0) -> tuple[float, float, float]:
    """Paired bootstrap over examples of the accuracy difference mean(a) - mean(b), where a and b are
    per-example correctness (here averaged over seeds): (95% interval low, high, two-sided p-value)."""
    rng = np.random.default_rng(seed)
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    means = np.concatenate([d[rng.integers(0, len(d), (min(200, resamples - done), len(d)))].mean(1)
                            for done in range(0, resamples, 200)])
    p = min(1.0, 2 * min((means <= 0).mean(), (means >= 0).mean()))
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high), float(p)


def paired_bootstrap_macro_f1(a: list[np.ndarray], b: list[np.ndarray], gold: np.ndarray, resamples: int = BOOTSTRAP,
                              seed: int = 0) -> tuple[float, float, float]:
    """`paired_bootstrap` of multi-label runs: the difference of macro-F1 (mean over each side's seeds), recomputed
    on every resample of the examples. `a`, `b`: each seed's 0/1 decisions (N, labels); `gold` (N, labels).
    A label's true and false positives and false negatives add up over examples, so a resample's counts are
    its example counts (R, N) times each example's (N, labels)."""
    rng = np.random.default_rng(seed)
    n = len(gold)
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(resamples)]).astype(np.float64)

    def macro_f1(decisions: np.ndarray) -> np.ndarray:  # (R,)
        tp, fp, fn = weights @ (decisions * gold), weights @ (decisions * (1 - gold)), weights @ ((1 - decisions) * gold)
        denominator = 2 * tp + fp + fn
        return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-12), 0.0).mean(1)

    means = np.mean([macro_f1(d) for d in a], axis=0) - np.mean([macro_f1(d) for d in b], axis=0)
    p = min(1.0, 2 * min((means <= 0).mean(), (means >= 0).mean()))
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high), float(p)


def effects(runs: list[Run], labels: np.ndarray | None = None) -> list[dict]:
    """Each pair of groups that differ in one thing (the encoder, or the --vary value): the mean accuracy
    difference; whether it is larger than the seed-to-seed spread (the wider of the two min-max ranges);
    and, given the evaluation labels, a paired bootstrap over its examples (`paired_bootstrap`)."""
    out = []
    groups = _groups(runs)
    for (ga, ra), (gb, rb) in itertools.combinations(groups.items(), 2):
        same_vary, same_encoder = ra[0].vary == rb[0].vary, ra[0].encoder == rb[0].encoder
        if same_vary == same_encoder:  # both differ, or neither: not one effect
            continue
        xa, xb = np.array([r.acc for r in ra]), np.array([r.acc for r in rb])
        diff = float(xa.mean() - xb.mean())
        spread = seed_spread((len(xa), float(np.ptp(xa))), (len(xb), float(np.ptp(xb))))
        if diff < 0:
            ga, gb, ra, rb, diff = gb, ga, rb, ra, -diff
        row = {"vary": ra[0].vary if same_vary else "", "better": ga, "worse": gb, "diff": diff, "seed_spread": spread,
               "beyond_noise": None if spread is None else diff > spread, "ci_low": None, "ci_high": None, "p": None}
        if labels is not None and labels.ndim == 2 and all("predicted" in r.analysis for r in ra + rb):
            gold, width = labels.astype(np.float64), labels.shape[1]
            row["ci_low"], row["ci_high"], row["p"] = paired_bootstrap_macro_f1(
                [r.decisions(width) for r in ra], [r.decisions(width) for r in rb], gold)
        elif labels is not None and labels.ndim == 1:
            correct = lambda rs: np.mean([r.correct(labels) for r in rs], axis=0)  # noqa: E731
            row["ci_low"], row["ci_high"], row["p"] = paired_bootstrap(correct(ra), correct(rb))
        out.append(row)
    return sorted(out, key=lambda e: -e["diff"])


def vary_spread(runs: list[Run]) -> dict | None:
    """With --vary: how far the varied field moves accuracy, beside how far the encoder choice does."""
    values = sorted({r.vary for r in runs})
    if len(values) < 2:
        return None
    means: dict[tuple[str, str], float] = {}
    for (enc, vary), accs in _collect(runs).items():
        means[(enc, vary)] = float(np.mean(accs))
    encoders = sorted({r.encoder for r in runs})
    # an encoder may lack some values (bag has no pretrained runs): each spread over the cells there are
    field = {e: max(c) - min(c) for e in encoders if len(c := [means[(e, v)] for v in values if (e, v) in means]) > 1}
    encoder = {v: max(c) - min(c) for v in values if (c := [means[(e, v)] for e in encoders if (e, v) in means])}
    if not field:
        return None
    seed = [float(np.ptp(a)) for a in _collect(runs).values() if len(a) > 1]
    return {"by_encoder_field_spread": field, "by_value_encoder_spread": encoder,
            "field_spread_mean": float(np.mean(list(field.values()))),
            "encoder_spread_mean": float(np.mean(list(encoder.values()))),
            "seed_spread_mean": float(np.mean(seed)) if seed else None}


def _collect(runs: list[Run]) -> dict[tuple[str, str], list[float]]:
    out: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        out.setdefault((r.encoder, r.vary), []).append(r.acc)
    return out


def settles(row: dict) -> bool:
    """Whether the group ran enough epochs for its settling time to mean something."""
    return row["seconds_to_within_1pt"] is not None and row.get("epochs", SETTLE_EPOCHS) >= SETTLE_EPOCHS


def findings(rows: list[dict], effect_rows: list[dict], lengths: dict, spread: dict | None,
             baseline: dict | None, split: str, scores: Scores = SINGLE_SCORES) -> list[str]:
    """Plain sentences, each computed from the numbers above."""
    word = scores.word
    pts = lambda x: f"{100 * x:.1f}"  # noqa: E731
    out = []
    plain = [r for r in rows if not r["vary"]] or rows
    ranked = sorted(plain, key=lambda r: -r["acc_mean"])
    best = ranked[0]
    out.append(f"Best: **{best['group']}**, {split} {word} {mean_std(best['acc_mean'], best['acc_std'], best['seeds'], digits=1)}.")
    for r in rows:
        for key, what in (("inference_texts_per_second", "inference"), ("train_tokens_per_second", "training")):
            if (r.get(f"{key}_ratio") or 0) > 2:
                out.append(f"Warning: {r['group']}'s {what} speed differed {r[f'{key}_ratio']:.1f}x between seeds "
                           "(the machine was likely busy during one run): its speed figures are not reliable; "
                           "rerun the comparison on an idle machine.")
    if len(ranked) > 1:
        second = ranked[1]
        gap = best["acc_mean"] - second["acc_mean"]
        noise = seed_spread(*((r["seeds"], r["acc_max"] - r["acc_min"]) for r in (best, second)))
        verdict = ("with one seed, spread unknown" if noise is None else
                   "larger than the seed-to-seed spread" if gap > noise else
                   "within the seed-to-seed spread, so not a real lead")
        out.append(f"Runner-up {second['group']} is {pts(gap)} points behind, {verdict}"
                   + (f" ({pts(noise)} points)." if noise is not None else "."))
    noisy = [e for e in effect_rows if e["beyond_noise"] is False]
    if noisy:
        out.append("Gaps within seed noise: " + "; ".join(
            f"{e['better']} vs {e['worse']} ({pts(e['diff'])} pts, spread {pts(e['seed_spread'])})" for e in noisy) + ".")
    tested = [e for e in effect_rows if e["p"] is not None]
    if tested:
        sig = [e for e in tested if e["p"] < 0.05]
        out.append(f"Paired bootstrap over the {split} examples ({BOOTSTRAP:,} resamples, {scores.per_example}, averaged "
                   f"over seeds): {len(sig)} of {len(tested)} gaps are significant at p < 0.05"
                   + (": " + "; ".join(f"{e['better']} over {e['worse']} by {pts(e['diff'])} points "
                                        f"(95% interval {pts(e['ci_low'])} to {pts(e['ci_high'])})" for e in sig[:4])
                      if sig else "") + ".")
    by: dict[str, dict] = {}  # each encoder's row at the first value of a varied field (compare --pretrain: scratch)
    for r in plain:
        by.setdefault(r["encoder"], r)
    if "rnn" in by and any(g in by for g in GATED):
        gated = [g for g in GATED if g in by]
        parts = ", ".join(f"{g} {pts(by[g]['acc_mean'])}" for g in gated)
        diff = np.mean([by[g]["acc_mean"] for g in gated]) - by["rnn"]["acc_mean"]
        text = (f"Gated RNNs ({parts}) vs vanilla rnn {pts(by['rnn']['acc_mean'])}: "
                f"{'+' if diff >= 0 else ''}{pts(diff)} points on average.")
        acc, bins = lengths["accuracy"], lengths["bins"]
        if "rnn" in acc and all(g in acc for g in gated):
            gap = [float(np.mean([acc[g][b] for g in gated]) - acc["rnn"][b]) for b in range(len(bins))]
            trend = "grows" if gap[-1] > gap[0] + 0.01 else "shrinks" if gap[-1] < gap[0] - 0.01 else "stays about the same"
            text += (f" By length (in {len(bins)} bins of about equal size) the gap is {pts(gap[0])} points on the shortest "
                     f"texts ({bins[0]} tokens) and {pts(gap[-1])} on the longest ({bins[-1]} tokens): it {trend} "
                     "with text length.")
        out.append(text)
    if "lstm" in by and "gru" in by:
        lstm, gru = by["lstm"], by["gru"]
        out.append(
            f"GRU has {gru['params_encoder'] / lstm['params_encoder']:.2f}x LSTM's encoder parameters, trains at "
            f"{gru['train_tokens_per_second'] / lstm['train_tokens_per_second']:.2f}x its tokens/s, "
            + (f"settles within 1 point of its final validation {word} in {gru['seconds_to_within_1pt']:.0f}s vs "
               f"{lstm['seconds_to_within_1pt']:.0f}s, "
               if settles(gru) and settles(lstm) else "")
            + f"and scores "
            f"{'+' if gru['acc_mean'] >= lstm['acc_mean'] else ''}{pts(gru['acc_mean'] - lstm['acc_mean'])} points."
        )
    if "bag" in by and len(by) > 1:
        ctx = max((r for r in plain if r["encoder"] != "bag"), key=lambda r: r["acc_mean"])
        out.append(f"Context over a bag of embeddings: the best contextual encoder ({ctx['group']}) adds "
                   f"{pts(ctx['acc_mean'] - by['bag']['acc_mean'])} points over bag ({pts(by['bag']['acc_mean'])}).")
    if "transformer" in by and any(e in by for e in ("rnn", *GATED)):
        rnns = [by[e] for e in ("rnn", *GATED) if e in by]
        fastest = max(rnns, key=lambda r: r["train_tokens_per_second"])
        t = by["transformer"]
        layers = (t.get("encoder_options") or {}).get("num_layers")
        out.append(f"Transformer ({f'{layers} layer(s)' if layers else 'depth not recorded'}, trained from scratch) "
                   f"trains at {t['train_tokens_per_second']:,.0f} tokens/s vs the fastest RNN "
                   f"({fastest['encoder']}) at {fastest['train_tokens_per_second']:,.0f}, and scores "
                   f"{pts(t['acc_mean'])} vs {pts(max(r['acc_mean'] for r in rnns))} for the best RNN; its best epoch was "
                   f"the last in {t['still_improving']} of {t['seeds']} seed(s)"
                   + (", so it was still improving when the budget ended." if t["still_improving"] * 2 > t["seeds"]
                      else "."))
    timed = [r for r in plain if settles(r)]
    if timed:
        quick = min(timed, key=lambda r: r["seconds_to_within_1pt"])
        out.append(f"Fastest to settle within 1 point of its final validation {word}: {quick['group']} "
                   f"(epoch {quick['epochs_to_within_1pt']:.1f}, {quick['seconds_to_within_1pt']:.0f}s of wall time, "
                   "mean over seeds).")
    if baseline is not None:
        ref = baseline.get("test", baseline["val"])[scores.key]  # the baseline scores the same split as the runs
        out.append(f"TF-IDF + logistic regression scores {pts(ref)}; the best neural encoder is "
                   f"{'+' if best['acc_mean'] >= ref else ''}{pts(best['acc_mean'] - ref)} points from it.")
    if spread:
        text = f"The varied field moves {word} by {pts(spread['field_spread_mean'])} points on average"
        if len(spread["by_encoder_field_spread"]) > 1:
            field_vs = "smaller than" if spread["field_spread_mean"] < spread["encoder_spread_mean"] else "larger than"
            text += f", {field_vs} the {pts(spread['encoder_spread_mean'])} points between encoders"
        out.append(text + (f" (seed spread {pts(spread['seed_spread_mean'])})." if spread["seed_spread_mean"] is not None else "."))
    return out

