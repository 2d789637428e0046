"""The pretrained encoder end to end with tiny random Hugging Face models (tests/tiny_bert.py) of three
architectures, BERT, RoBERTa and DistilBERT: trained through `textclf train --model.pretrained FOLDER`, then
predicted, exported, quantized and served from the checkpoint alone, with no folder and no network."""

import contextlib
import shutil
import subprocess
import sys

import datasets
import numpy as np
import pytest
import torch
from conftest import DATA, ROOT, TINY
from tiny_bert import tiny_model_folder

from textclf import load_classifier
from textclf.errors import TextclfError
from textclf.serve.onnx_export import export_onnx

KINDS = ("bert", "roberta", "distilbert")


@pytest.fixture(scope="module")
def texts():
    return datasets.load_dataset(str(DATA / "sst2"), split="train")["text"][:3000]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, texts):
    """{kind: (model folder, run directory)}: a tiny model of each architecture fine-tuned for a few steps."""
    from textclf.training.run import train

    root = tmp_path_factory.mktemp("pretrained")
    out = {}
    for kind in KINDS:
        folder = tiny_model_folder(root / f"{kind}-model", texts, kind)
        run = root / f"{kind}-run"
        with contextlib.chdir(ROOT):
            train(["--data.path", "data/sst2", "--model.pretrained", str(folder), "--run_dir", str(run), *TINY])
        out[kind] = (folder, run)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_texts_are_tokenized_as_the_models_own_tokenizer_does(runs, kind, texts):
    import transformers

    folder, run = runs[kind]
    clf = load_classifier(str(run / "best.ckpt"))
    reference = transformers.AutoTokenizer.from_pretrained(folder)
    enc = clf.encode(texts[:50])
    for i, text in enumerate(texts[:50]):
        ids = enc.flat[enc.offsets[i]:enc.offsets[i + 1]].tolist()
        assert ids == reference(text)["input_ids"]
    long = " ".join(texts[:40])  # over max_length: truncated, its special tokens kept at both ends
    ids = clf.encode([long]).flat.tolist()
    want = reference(long)["input_ids"]
    assert len(ids) == clf.max_length + 2 and ids[0] == want[0] and ids[-1] == want[-1]
    assert clf.encode(["a", "a longer text here"])[[0, 1]]["input_ids"][0, -1].item() == reference.pad_token_id


@pytest.mark.parametrize("kind", KINDS)
def test_the_pooled_vector_is_the_hugging_face_models_own_mean_state(runs, kind, texts):
    """The fine-tuned body, loaded into transformers' own model class, gives the vectors textclf embeds
    (mean pooling over the attention mask, the model's own pad id and positions)."""
    import transformers

    folder, run = runs[kind]
    clf = load_classifier(str(run / "best.ckpt"))
    model = transformers.AutoModel.from_pretrained(folder)
    body = {k.removeprefix("network.encoder.body."): v for k, v in torch.load(run / "best.ckpt", weights_only=True)
            ["state_dict"].items() if k.startswith("network.encoder.body.")}
    model.load_state_dict(body, strict=False)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    batch = tokenizer(texts[:16], padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model.eval()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    want = (states * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(clf.embed(texts[:16]), want.numpy(), atol=1e-5)


def test_a_checkpoint_predicts_from_another_folder_with_the_model_folder_gone(runs, tmp_path, texts):
    folder, run = runs["bert"]
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    from textclf.training.run import train

    with contextlib.chdir(ROOT):
        train(["--data.path", "data/sst2", "--model.pretrained", str(copy), "--run_dir", str(tmp_path / "run"), *TINY])
    shutil.rmtree(copy)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(tmp_path / "run" / "best.ckpt", elsewhere / "model.ckpt")
    done = subprocess.run([sys.executable, "-m", "textclf.cli", "predict", "model.ckpt", texts[0]], cwd=elsewhere,
                          capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
                                                               "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert '"label"' in done.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_onnx_export_and_int8_predict_as_the_checkpoint_does(runs, kind, tmp_path, texts):
    _, run = runs[kind]
    done = export_onnx(str(run / "best.ckpt"), str(tmp_path / "m.onnx"))
    assert done["max_abs_diff"] <= 1e-4 and done["encoder"] == "pretrained"
    plain = load_classifier(str(run / "best.ckpt")).predict_proba(texts[:200])
    np.testing.assert_allclose(load_classifier(str(tmp_path / "m.onnx")).predict_proba(texts[:200]), plain, atol=1e-4)
    quantized = load_classifier(str(run / "best.ckpt"), quantize=True).predict_proba(texts[:200])
    assert np.abs(quantized - plain).max() < 0.05  # int8 weights: close, not equal


def test_a_frozen_body_keeps_its_published_weights_and_the_head_learns(runs, tmp_path):
    folder, _ = runs["bert"]
    from textclf.training.run import train

    with contextlib.chdir(ROOT):
        train(["--data.path", "data/sst2", "--model.pretrained", str(folder), "--model.freeze_pretrained", "true",
               "--run_dir", str(tmp_path / "run"), *TINY])
    import transformers

    published = transformers.AutoModel.from_pretrained(folder).state_dict()
    state = torch.load(tmp_path / "run" / "best.ckpt", weights_only=True)["state_dict"]
    body = {k.removeprefix("network.encoder.body."): v for k, v in state.items() if k.startswith("network.encoder.body.")}
    assert body and all(torch.equal(v, published[k]) for k, v in body.items())
    assert state["network.head.1.weight"].abs().sum() > 0


def test_layer_decay_gives_each_layer_below_the_top_a_smaller_rate(runs):
    from textclf.training.module import load_module
    from textclf.training.optimization import param_groups

    module = load_module(str(runs["bert"][1] / "best.ckpt"))
    groups = param_groups(module, lr=1e-3, weight_decay=0.1, pretrained_lr=1e-4, layer_decay=0.5)
    rate_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    named = dict(module.named_parameters())
    top = rate_of[id(named["network.encoder.body.encoder.layer.1.attention.self.query.weight"])]
    below = rate_of[id(named["network.encoder.body.encoder.layer.0.attention.self.query.weight"])]
    embeddings = rate_of[id(named["network.encoder.body.embeddings.word_embeddings.weight"])]
    head = rate_of[id(named["network.head.1.weight"])]
    assert (head, top, below, embeddings) == (1e-3, 1e-4, 5e-5, 2.5e-5)


@pytest.mark.parametrize("args,message", [
    (["--model.pretrained", "{folder}", "--model.encoder", "gru"], "drop --model.encoder gru, or --model.pretrained"),
    (["--model.encoder", "pretrained"], "--model.encoder pretrained needs --model.pretrained NAME_OR_FOLDER"),
    (["--model.pretrained", "{folder}", "--model.bigrams", "100"], "--model.bigrams applies to the encoders trained"),
    (["--model.freeze_pretrained", "true"], "--model.freeze_pretrained applies to a pretrained model"),
    (["--model.pretrained", "{missing}"], "cannot read the pretrained model"),
    (["--model.pretrained", "nobody/no-such-model"], "could not reach the Hugging Face Hub to load 'nobody/no-such-model'"),
])
def test_pretrained_options_that_do_not_fit_are_one_line(runs, tmp_path, cli, args, message, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    args = [a.format(folder=runs["bert"][0], missing=tmp_path / "missing") for a in args]
    done = cli("train", "--data.path", "data/sst2", *args, "--run_dir", tmp_path / "r", *TINY)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "r").exists()


def test_a_model_without_a_fast_tokenizer_is_refused_in_one_line(tmp_path):
    from textclf.model.encoders.pretrained import pretrained_parts

    with pytest.raises(TextclfError):
        pretrained_parts(str(tmp_path))  # an empty folder: no config.json


@pytest.mark.slow
def test_a_pretrained_model_is_a_row_of_a_comparison_with_its_weights_before_and_after(runs, tmp_path):
    """`textclf compare --encoders bag,pretrained --model.pretrained FOLDER`: the same data and budget, the
    pretrained model on its own tokenizer, and the representation section's probe and CKA on its published
    weights before fine-tuning."""
    import json

    from conftest import textclf

    out = tmp_path / "cmp"
    done = textclf("compare", "--config", "configs/trec.yaml", "--encoders", "bag,pretrained", "--model.pretrained",
                   runs["bert"][0], "--seeds", "1", "--max_epochs", "1", "--trainer.limit_train_batches", "6",
                   "--trainer.limit_val_batches", "2", "--no_tfidf", "--output", out)
    assert done.returncode == 0, done.stderr
    res = json.loads((out / "results.json").read_text())
    assert {row["encoder"] for row in res["summary"]} == {"bag", "pretrained"}
    probes = {p["group"]: p for p in res["representations"]["probes"]}
    assert probes["pretrained"]["probe_untrained"] is not None and 0 < probes["pretrained"]["cka_before_after"] <= 1
    pretrained = torch.load(out / "runs" / "pretrained_seed1" / "best.ckpt", weights_only=True)["textclf"]
    bag = torch.load(out / "runs" / "bag_seed1" / "best.ckpt", weights_only=True)["textclf"]
    assert pretrained["tokenizer"] != bag["tokenizer"]  # its own, not the comparison's shared one
    assert pretrained["preprocessing"]["prefix"] and "prefix" not in bag["preprocessing"]


def test_tune_searches_a_pretrained_models_own_options(runs, tmp_path, monkeypatch):
    import json

    from textclf.tune.search import search_space, tune

    monkeypatch.chdir(ROOT)
    flags = ["--data.path", "data/sst2", "--model.pretrained", str(runs["bert"][0]), "--trainer.max_epochs", "1",
             "--trainer.limit_train_batches", "4", "--trainer.limit_val_batches", "2"]
    summary = tune(flags, "pretrained", 600, str(tmp_path / "s"), max_trials=2)
    assert summary["trials"] == 2 and summary["complete"] == 2
    params = json.loads((tmp_path / "s" / "best.json").read_text())["params"]
    assert set(params) == set(search_space("pretrained")) and "model.pretrained_lr" in params
