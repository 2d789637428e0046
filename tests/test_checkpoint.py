"""A checkpoint is a self-contained archive that loads with weights_only=True and nothing else."""

import json
import os
import subprocess
import sys

import pytest
import torch

from textclf.checkpoint import load_model, load_network, read_checkpoint
from textclf.errors import TextclfError
from textclf.model import TextClassifier
from textclf.predict import load_classifier

TEXTS = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés .", "it 's fine"]


def test_checkpoint_holds_only_tensors_and_plain_values(trained_run):
    run_dir, _ = trained_run
    ckpt = torch.load(run_dir / "best.ckpt", weights_only=True)
    archive = ckpt["textclf"]
    assert archive["label_names"] == ["negative", "positive"]
    assert archive["preprocessing"]["max_length"] == 128
    assert json.loads(archive["tokenizer"])["model"]["type"] == "WordLevel"
    assert ckpt["hyper_parameters"]["encoder"] == "gru"


def test_reload_in_a_fresh_process_from_the_file_alone_gives_identical_predictions(trained_run, tmp_path):
    run_dir, _ = trained_run
    lonely = tmp_path / "empty"
    lonely.mkdir()
    (lonely / "model.ckpt").write_bytes((run_dir / "best.ckpt").read_bytes())
    here = load_classifier(str(run_dir / "best.ckpt")).predict_proba(TEXTS)
    code = (
        "import json, sys; from textclf import load_classifier; "
        f"print(json.dumps(load_classifier('model.ckpt').predict_proba({TEXTS!r}).tolist()))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=lonely, capture_output=True, text=True, check=True)
    there = json.loads(out.stdout.strip().splitlines()[-1])
    # the same weights, tokenizer and preprocessing give the same probabilities; only float rounding may
    # differ (a process's thread history changes how multithreaded sums are split: seen at 2e-6 in CI),
    # while a wrong weight, token id or truncation moves them by far more than 1e-5
    assert torch.allclose(torch.tensor(here), torch.tensor(there), atol=1e-5, rtol=0)


def test_lightning_style_load_from_checkpoint_rebuilds_everything(trained_run):
    run_dir, _ = trained_run
    model = TextClassifier.load_from_checkpoint(str(run_dir / "best.ckpt"))
    assert model.hparams.label_names == ["negative", "positive"]
    assert model.tokenizer_json and model.preprocessing["truncation"] == "head"
    assert not model.training


def test_the_plain_network_is_the_trained_model_without_lightning(trained_run):
    """load_network (prediction) rebuilds the same parts, weights, archive and logits as load_model."""
    from textclf.network import TextNetwork

    ckpt = str(trained_run[0] / "best.ckpt")
    model, network = load_model(ckpt), load_network(ckpt)
    assert isinstance(network, TextNetwork) and not isinstance(network, TextClassifier) and not network.training
    assert network.hparams.encoder == "gru" and network.hparams["label_names"] == ["negative", "positive"]
    assert network.tokenizer_json == model.tokenizer_json and network.preprocessing == model.preprocessing
    assert network.data_source == model.data_source and network.parameter_counts() == model.parameter_counts()
    parts = model.state_dict()
    assert network.state_dict().keys() == {k for k in parts if k.split(".")[0] in ("embedding", "encoder", "head")}
    for name, weight in network.state_dict().items():
        assert torch.equal(weight, parts[name]), name
    ids, lengths = torch.randint(2, 200, (4, 9)), torch.tensor([9, 3, 1, 6])
    with torch.no_grad():
        assert torch.equal(network(ids, lengths), model(ids, lengths))
    assert getattr(network.hparams, "no_such_field", None) is None  # a missing field is an AttributeError


class Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_pickled_object_is_refused_without_running_it(trained_run, tmp_path, monkeypatch):
    run_dir, _ = trained_run
    monkeypatch.chdir(tmp_path)
    ckpt = torch.load(run_dir / "best.ckpt", weights_only=True)
    ckpt["textclf"]["payload"] = Boom()
    torch.save(ckpt, "evil.ckpt")
    with pytest.raises(TextclfError, match="contains pickled Python objects and was refused"):
        load_model("evil.ckpt")
    assert not (tmp_path / "PWNED").exists()


def test_missing_corrupt_and_foreign_checkpoints(tmp_path):
    with pytest.raises(TextclfError, match="does not exist"):
        read_checkpoint(str(tmp_path / "nope.ckpt"))
    (tmp_path / "bad.ckpt").write_bytes(b"not a zip")
    with pytest.raises(TextclfError, match="not a readable checkpoint"):
        read_checkpoint(str(tmp_path / "bad.ckpt"))
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(TextclfError, match="not a textclf checkpoint"):
        read_checkpoint(str(tmp_path / "other.ckpt"))
