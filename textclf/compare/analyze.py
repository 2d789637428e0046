"""`textclf analyze`: the representation analysis of `textclf compare` for checkpoints trained anywhere.

    textclf analyze runs/gru/best.ckpt runs/lstm reports/sst2 ... [--data.path P] [--split test] --output DIR

Each argument is a checkpoint, a run directory (its best.ckpt) or a `textclf compare` output (every run
in it). Checkpoints of one encoder are compared as its seeds. The data is the first checkpoint's training
data unless `--data.path` names other data; all checkpoints must share their label names. Writes
DIR/report.md, DIR/representations.json and the two figures.
"""

from __future__ import annotations

import glob
import json
import os

from textclf.compare import plots, representations
from textclf.compare.representations import Member, analysed_texts, untrained_vectors_of
from textclf.errors import TextclfError

FILES = ("report.md", "representations.json", "representations_cka.png", "representations_map.png")
MARKER = ".textclf-analysis"  # written into --output: the files above in it are an analysis's to replace


def checkpoints_of(paths: list[str]) -> list[tuple[str, str]]:
    """(name, checkpoint path) for every checkpoint, run directory or compare output in `paths`."""
    found = []
    for path in paths:
        if os.path.isfile(path):
            found.append((os.path.basename(os.path.dirname(os.path.abspath(path))) or path, path))
        elif os.path.isfile(os.path.join(path, "best.ckpt")):
            found.append((os.path.basename(os.path.normpath(path)), os.path.join(path, "best.ckpt")))
        elif glob.glob(os.path.join(path, "runs", "*", "best.ckpt")):
            found += [(os.path.basename(os.path.dirname(c)), c)
                      for c in sorted(glob.glob(os.path.join(path, "runs", "*", "best.ckpt")))]
        else:
            raise TextclfError(f"{path} is not a checkpoint, a run directory with best.ckpt or a textclf compare output")
    names: dict[str, int] = {}
    unique = []
    for name, ckpt in found:  # two runs called best/ stay apart
        names[name] = names.get(name, 0) + 1
        unique.append((name if names[name] == 1 else f"{name}-{names[name]}", ckpt))
    return unique


def analyze(paths: list[str], source: dict | None, split: str, output: str, overwrite: bool = False) -> dict:
    from textclf.compare.report import representation_lines
    from textclf.serve.evaluate import labelled_split
    from textclf.serve.loading import load_classifier

    _check_output(output, overwrite)
    checkpoints = checkpoints_of(paths)
    if len(checkpoints) < 2:
        raise TextclfError("give at least two checkpoints to compare")
    classifiers = {name: load_classifier(ckpt) for name, ckpt in checkpoints}
    first_name, first = next(iter(classifiers.items()))
    for name, clf in classifiers.items():
        if not hasattr(clf, "model"):
            raise TextclfError(f"{dict(checkpoints)[name]} has no pooled vector (a TF-IDF baseline or an ensemble): "
                               "give single networks' checkpoints")
        if clf.multi_label:
            raise TextclfError(f"{dict(checkpoints)[name]} is a multi-label model: the representation analysis probes "
                               "and maps one class per text; give single-label checkpoints")
        if clf.label_names != first.label_names:
            raise TextclfError(f"{dict(checkpoints)[name]} has the labels {clf.label_names} but "
                               f"{dict(checkpoints)[first_name]} has {first.label_names}: compare models of one task")
    source = source or dict(first.data_source)
    if not source:
        raise TextclfError(f"{dict(checkpoints)[first_name]} does not record its training data: pass --data.path")
    texts, labels = labelled_split(source, split, first.label_names)
    keep = analysed_texts(len(texts))
    chosen, gold = [texts[i] for i in keep], labels[keep]
    members, vectors, untrained = [], {}, {}
    for name, ckpt in checkpoints:
        clf = classifiers[name]
        group = clf.model.config.encoder
        members.append(Member(name, group, ckpt, clf.predict_proba(chosen).argmax(1)))
        vectors[name] = clf.embed(chosen)
        if group not in untrained:
            untrained[group] = untrained_vectors_of(ckpt, chosen)
    res = representations.analyse(members, vectors, {g: v for g, v in untrained.items() if v is not None}, gold)
    res.update(of=len(texts), split=split, data=source, checkpoints=dict(checkpoints))
    res["findings"] = representations.findings(res)
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, MARKER), "w", encoding="utf-8") as f:
        f.write("textclf analyze\n")
    plots.similarity_chart(res, os.path.join(output, "representations_cka.png"))
    plots.maps_chart(representations.maps(members, vectors, gold), first.label_names,
                     os.path.join(output, "representations_map.png"))
    with open(os.path.join(output, "representations.json"), "w") as f:
        json.dump(res, f, indent=2, default=str)
    lines = [f"# textclf analyze: {len(members)} checkpoints on the {split} split", "",
             "| run | encoder | checkpoint |", "|---|---|---|",
             *[f"| {m.name} | {m.group} | `{m.checkpoint}` |" for m in members]]
    with open(os.path.join(output, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines + representation_lines(res, split)) + "\n")
    return res


def _check_output(output: str, overwrite: bool) -> None:
    """--output may hold an earlier analysis (replaced with `overwrite`), never other files of the names it writes."""
    present = [f for f in FILES if os.path.exists(os.path.join(output, f))]
    if not present:
        return
    if not _is_analysis(output):
        raise TextclfError(f"--output {output} holds {', '.join(present)}, which textclf analyze did not write; nothing "
                           "was touched: choose another folder")
    if not overwrite:
        raise TextclfError(f"--output {output} holds an earlier analysis: choose another folder or pass --overwrite")


def _is_analysis(output: str) -> bool:
    """Whether `output` holds an analysis: its marker, or (written before the marker) its representations.json."""
    if os.path.exists(os.path.join(output, MARKER)):
        return True
    try:
        with open(os.path.join(output, "representations.json"), encoding="utf-8") as f:
            return "checkpoints" in json.load(f)
    except (OSError, ValueError, TypeError):
        return False
