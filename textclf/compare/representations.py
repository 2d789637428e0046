"""How the encoders' pooled vectors differ: linear CKA, linear probes, nearest-neighbour agreement, 2-D maps.

Every run's vectors are `Classifier.embed` of the evaluation split (the vector its head sees), on a fixed
random subset of at most `MAX_EXAMPLES` texts when the split is larger; every run sees the same texts.
- Linear CKA (Kornblith et al. 2019, "Similarity of neural network representations revisited"):
  similarity of two sets of vectors of the same texts, invariant to rotation and scale; 1 = the same
  geometry up to those. Between every pair of runs; summarised per pair of encoders (mean over their
  runs) and within an encoder (mean over pairs of its seeds).
- Linear probe: logistic regression (scikit-learn, standardised features) cross-validated on the frozen
  vectors of the evaluation texts, for each trained run and for a randomly initialised network of each
  encoder (same sizes, no training): how much of the separability comes from the architecture alone.
- Nearest-neighbour agreement: the share of a text's `NEIGHBOURS` nearest texts (cosine) two runs have
  in common.
- 2-D maps: PCA and t-SNE (scikit-learn) of the first run of each encoder, coloured by gold label.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import numpy as np

MAX_EXAMPLES = 5000  # texts of the evaluation split analysed (a fixed random subset above this)
MAP_POINTS = 1000  # texts on a 2-D map (t-SNE is quadratic-ish in them)
NEIGHBOURS = 10
PROBE_FOLDS = 5
VECTORS = "vectors.npy"  # a run's vectors of the analysed texts, in its run directory


@dataclass
class Member:
    """One set of vectors: a run (or a checkpoint given to `textclf analyze`)."""

    name: str
    group: str  # what it is compared as: the encoder (and --vary value)
    checkpoint: str
    predictions: np.ndarray  # predicted class of every analysed text


def analysed_texts(n: int, limit: int = MAX_EXAMPLES) -> np.ndarray:
    """Indices of the evaluation texts analysed: all of them, or a fixed random subset of `limit`."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, limit, replace=False))


def vectors_of(checkpoint: str, texts: list[str], cache: str | None = None) -> np.ndarray:
    """The pooled vectors (N, D) of `texts` from a checkpoint, read from / written to `cache` when given."""
    if cache and os.path.exists(cache):
        vectors = np.load(cache)
        if len(vectors) == len(texts):
            return vectors
    from textclf.serve.loading import load_classifier

    vectors = load_classifier(checkpoint).embed(texts)
    if cache:
        np.save(cache, vectors)
    return vectors


def untrained_vectors_of(checkpoint: str, texts: list[str], seed: int = 0) -> np.ndarray | None:
    """The vectors of the checkpoint's network before its training, with its tokenizer: randomly initialised
    (`seed`) for an encoder trained from scratch, what the architecture gives before any training; for a
    pretrained model, its published weights before fine-tuning; for one fine-tuned from a `textclf pretrain` run,
    the run's embedding and encoder (None where they cannot be read any more)."""
    import torch

    from textclf.errors import TextclfError
    from textclf.model.checkpoint import network_from, read_checkpoint
    from textclf.model.encoders.pretrained import load_pretrained_weights
    from textclf.model.network import TextNetwork
    from textclf.model.pretrained_run import is_pretraining_run, load_into, read_pretraining_run
    from textclf.serve.classifier import Classifier

    ckpt = read_checkpoint(checkpoint)
    trained, archive = network_from(ckpt, checkpoint)
    torch.manual_seed(seed)
    network = TextNetwork(trained.config).eval()
    start = (ckpt.get("hyper_parameters") or {}).get("pretrained")
    published = getattr(network.encoder, "brings_embedding", False)  # a Hugging Face model
    if start and not published:  # fine-tuned from a pretraining run
        if not is_pretraining_run(start):
            return None
        load_into(network, read_pretraining_run(start))  # its embedding and encoder, as pretrained
    elif published:
        try:
            load_pretrained_weights(network.encoder, network.encoder.source)
        except TextclfError:
            return None
    return Classifier(network, archive).embed(texts)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two (N, D1), (N, D2) representations of the same N examples."""
    x = x.astype(np.float64) - x.mean(0)
    y = y.astype(np.float64) - y.mean(0)
    cross = np.linalg.norm(y.T @ x) ** 2
    norm = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(cross / norm) if norm > 0 else 0.0


def nearest(x: np.ndarray, k: int = NEIGHBOURS, chunk: int = 2048) -> np.ndarray:
    """(N, k) indices of each row's k nearest other rows by cosine similarity."""
    x = x.astype(np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    k = min(k, len(x) - 1)
    out = np.empty((len(x), k), dtype=np.int64)
    for start in range(0, len(x), chunk):
        sims = x[start:start + chunk] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # not itself
        out[start:start + chunk] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return out


def neighbour_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of nearest neighbours two (N, k) neighbour lists have in common."""
    k = a.shape[1]
    return float(np.mean([len(np.intersect1d(r, s, assume_unique=True)) / k for r, s in zip(a, b)]))


def probe(x: np.ndarray, labels: np.ndarray, folds: int = PROBE_FOLDS) -> float:
    """Cross-validated accuracy of a logistic regression on the frozen vectors `x`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    counts = np.bincount(labels)
    if counts[counts > 0].min() < folds:  # a class too rare to stratify over the folds: plain K-fold
        from sklearn.model_selection import KFold

        cv = KFold(folds, shuffle=True, random_state=0)
    else:
        cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(cross_val_score(model, x, labels, cv=cv).mean())


def analyse(members: list[Member], vectors: dict[str, np.ndarray], untrained: dict[str, np.ndarray],
            labels: np.ndarray) -> dict:
    """CKA, neighbour agreement and probes over `members` (their vectors by name) and the untrained
    networks' vectors (by group), on the same analysed texts with gold `labels`."""
    names = [m.name for m in members]
    groups = list(dict.fromkeys(m.group for m in members))
    group_of = {m.name: m.group for m in members}
    cka = np.eye(len(names))
    knn = np.eye(len(names))
    neighbours = {n: nearest(vectors[n]) for n in names}
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        cka[i, j] = cka[j, i] = linear_cka(vectors[a], vectors[b])
        knn[i, j] = knn[j, i] = neighbour_agreement(neighbours[a], neighbours[b])

    def by_group(matrix: np.ndarray) -> list[list[float | None]]:
        """Mean over run pairs per pair of groups; on the diagonal, over distinct runs (seeds) of the group."""
        out = []
        for g in groups:
            row = []
            for h in groups:
                cells = [matrix[i, j] for i, a in enumerate(names) for j, b in enumerate(names)
                         if group_of[a] == g and group_of[b] == h and i != j]
                row.append(float(np.mean(cells)) if cells else None)
            out.append(row)
        return out

    probes = []
    for g in groups:
        trained = [probe(vectors[m.name], labels) for m in members if m.group == g]
        accuracy = [float((m.predictions == labels).mean()) for m in members if m.group == g]
        before = untrained.get(g)
        moved = [linear_cka(vectors[m.name], before) for m in members if m.group == g] if before is not None else []
        probes.append({"group": g, "runs": len(trained), "probe_trained": float(np.mean(trained)),
                       "probe_trained_std": float(np.std(trained, ddof=1)) if len(trained) > 1 else 0.0,
                       "probe_untrained": probe(before, labels) if before is not None else None,
                       "cka_before_after": float(np.mean(moved)) if moved else None,
                       "head_accuracy": float(np.mean(accuracy))})
    return {"examples": int(len(labels)), "runs": names, "groups": groups,
            "majority": float(np.bincount(labels).max() / len(labels)),
            "cka": {"runs": cka.round(4).tolist(), "groups": by_group(cka)},
            "neighbours": {"k": int(next(iter(neighbours.values())).shape[1]), "runs": knn.round(4).tolist(),
                           "groups": by_group(knn)},
            "probes": probes}


def maps(members: list[Member], vectors: dict[str, np.ndarray], labels: np.ndarray, points: int = MAP_POINTS) -> dict:
    """PCA and t-SNE coordinates of the first run of each group, on at most `points` texts (fixed subset)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    keep = analysed_texts(len(labels), points)
    out = {}
    for m in members:
        if m.group in out:
            continue
        x = vectors[m.name][keep].astype(np.float64)
        x -= x.mean(0)  # not standardised: the head reads the vectors as they are, large directions first
        pca = PCA(n_components=2, random_state=0).fit_transform(x)
        reduced = PCA(n_components=min(50, x.shape[1], len(x)), random_state=0).fit_transform(x)
        tsne = TSNE(n_components=2, init="pca", perplexity=min(30, len(x) - 1), random_state=0).fit_transform(reduced)
        out[m.group] = {"pca": pca, "tsne": tsne, "labels": labels[keep], "wrong": m.predictions[keep] != labels[keep],
                        "run": m.name}
    return out


def findings(res: dict) -> list[str]:
    """Plain sentences about the representations, each computed from `res` (`analyse`'s result)."""
    groups, out = res["groups"], []
    cka, knn = res["cka"]["groups"], res["neighbours"]["groups"]
    n = len(groups)
    within = [cka[i][i] for i in range(n) if cka[i][i] is not None]
    between = [cka[i][j] for i in range(n) for j in range(n) if i < j and cka[i][j] is not None]
    if within and between:
        closer = "closer to each other" if np.mean(within) > np.mean(between) else "no closer to each other"
        out.append(f"Two seeds of one encoder are {closer} (mean linear CKA {np.mean(within):.2f}) than two "
                   f"different encoders ({np.mean(between):.2f}).")
    if n > 2:
        pairs = []
        for i, g in enumerate(groups):
            others = [(cka[i][j], groups[j]) for j in range(n) if j != i and cka[i][j] is not None]
            if others:
                best, worst = max(others), min(others)
                pairs.append(f"{g} is closest to {best[1]} ({best[0]:.2f}) and farthest from {worst[1]} ({worst[0]:.2f})")
        out.append("By linear CKA, " + "; ".join(pairs) + ".")
    kw = [knn[i][i] for i in range(n) if knn[i][i] is not None]
    kb = [knn[i][j] for i in range(n) for j in range(n) if i < j and knn[i][j] is not None]
    if kb:
        text = (f"Of a text's {res['neighbours']['k']} nearest neighbours, two encoders share {100 * np.mean(kb):.0f}% "
                "on average")
        out.append(text + (f", two seeds of one encoder {100 * np.mean(kw):.0f}%." if kw else "."))
    probes = [p for p in res["probes"] if p["probe_untrained"] is not None]
    if probes:
        parts = [f"{p['group']} {100 * p['probe_untrained']:.1f} -> {100 * p['probe_trained']:.1f}" for p in probes]
        gain = np.mean([p["probe_trained"] - p["probe_untrained"] for p in probes])
        best_untrained = max(probes, key=lambda p: p["probe_untrained"])
        out.append(f"A linear probe on frozen vectors, before -> after training (%): {'; '.join(parts)} (majority class "
                   f"{100 * res['majority']:.1f}). Training adds {100 * gain:.1f} points on average; before it, "
                   f"{best_untrained['group']}'s features separate the classes best.")
    moved = [p for p in probes if p.get("cka_before_after") is not None]
    if moved:
        least = max(moved, key=lambda p: p["cka_before_after"])
        out.append(f"Training moved {least['group']}'s vectors least: linear CKA {least['cka_before_after']:.2f} between "
                   "its vectors before and after (" + ", ".join(f"{p['group']} {p['cka_before_after']:.2f}" for p in moved)
                   + ").")
    return out
