"""A checkpoint is a self-contained archive that loads with weights_only=True and nothing else."""

import json
import os
import subprocess
import sys

import pytest
import torch

from textclf.errors import TextclfError
from textclf.model.checkpoint import load_network, read_checkpoint
from textclf.serve.loading import load_classifier
from textclf.training.module import LitTextClassifier, load_module

TEXTS = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate clichés .", "it 's fine"]


def test_checkpoint_holds_only_tensors_and_plain_values(trained_run):
    run_dir, _ = trained_run
    ckpt = torch.load(run_dir / "best.ckpt", weights_only=True)
    archive = ckpt["textclf"]
    assert archive["label_names"] == ["negative", "positive"]
    assert archive["preprocessing"] == {"max_length": 512, "truncation": "head+tail"}
    assert archive["network"]["encoder"] == "gru" and archive["network"]["encoder_options"]["pooling"] == "max"
    assert "label_names" not in ckpt["hyper_parameters"]  # stored once, in the archive
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


def test_the_lightning_module_is_rebuilt_from_the_file_alone(trained_run):
    module = load_module(str(trained_run[0] / "best.ckpt"))
    assert isinstance(module, LitTextClassifier) and not module.training
    assert module.archive.label_names == ["negative", "positive"]
    assert module.archive.tokenizer_json and module.archive.preprocessing["truncation"] == "head+tail"
    assert module.hparams.encoder == "gru" and module.hparams.hidden_size is None  # unset: the encoder's default


def test_the_plain_network_is_the_trained_model_without_lightning(trained_run):
    """load_network (prediction) rebuilds the same network, weights, archive and logits as load_module."""
    from textclf.model.network import TextNetwork

    ckpt = str(trained_run[0] / "best.ckpt")
    module, (network, archive) = load_module(ckpt), load_network(ckpt)
    assert isinstance(network, TextNetwork) and not network.training
    assert archive == module.archive and network.config == module.network.config
    assert network.parameter_counts() == module.network.parameter_counts()
    for name, weight in network.state_dict().items():
        assert torch.equal(weight, module.network.state_dict()[name]), name
    ids, lengths = torch.randint(2, 200, (4, 9)), torch.tensor([9, 3, 1, 6])
    with torch.no_grad():
        assert torch.equal(network(ids, lengths), module(ids, lengths))


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
        load_network("evil.ckpt")
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
