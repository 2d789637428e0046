"""textclf export --format onnx: onnxruntime's logits equal the checkpoint's for every encoder, and the
exported file predicts, evaluates and serves on its own."""

import datasets
import numpy as np
import onnx
import pytest
import torch
from conftest import DATA

from textclf import load_classifier
from textclf.model.checkpoint import (
    CHECKPOINT_KEY,
    NETWORK_PREFIX,
    network_from,
    read_checkpoint,
    save_checkpoint,
)
from textclf.model.network import NetworkConfig, TextNetwork
from textclf.serve.onnx_export import export_onnx
from textclf.serve.onnx_model import METADATA, onnx_session

ENCODERS = {"bag": {}, "rnn": {"num_layers": 2}, "lstm": {}, "gru": {"pooling": "attention"},
            "transformer": {"num_layers": 2}}


@pytest.fixture(scope="module")
def texts():
    return datasets.load_dataset(str(DATA / "sst2"), split="validation")["text"][:300]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_onnxruntime_logits_equal_the_checkpoints_for_every_encoder(trained_run, tmp_path, texts, encoder):
    """A network of each encoder (random weights, the trained run's tokenizer) saved as a checkpoint, exported,
    and run by onnxruntime on real sentences in batches of other sizes and lengths than the export's."""
    path = str(trained_run[0] / "best.ckpt")
    ckpt = read_checkpoint(path)
    _, archive = network_from(ckpt, path)
    torch.manual_seed(0)
    config = NetworkConfig(encoder, archive.network.vocab_size, archive.network.num_classes,
                           bigrams=1000 if encoder == "bag" else 0,
                           encoder_options=ENCODERS[encoder] | ({"max_positions": 512} if encoder == "transformer" else {}))
    model = TextNetwork(config).eval()
    if encoder == "bag":  # zero-initialised buckets: give them weights, so that the bigrams count
        torch.nn.init.normal_(model.embedding.bigrams.weight)
    archive.network = config
    own = tmp_path / "own.ckpt"
    save_checkpoint({CHECKPOINT_KEY: archive.to_dict(),
                     "state_dict": {NETWORK_PREFIX + k: v for k, v in model.state_dict().items()}}, str(own))
    out = export_onnx(str(own), str(tmp_path / "m.onnx"))
    assert out["max_abs_diff"] <= 1e-4
    clf = load_classifier(str(own), fold=False)
    session = onnx_session(str(tmp_path / "m.onnx"))
    enc = clf.encode(texts)
    for batch in (np.arange(0, 37), np.arange(37, 300)):
        b = enc[batch]
        got = session.run(None, {"input_ids": b["input_ids"].numpy(), "lengths": b["lengths"].numpy()})[0]
        with torch.inference_mode():
            want = clf.model(b["input_ids"], b["lengths"]).numpy()
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)


def test_the_exported_file_predicts_evaluates_and_refuses_an_overwrite(trained_run, tmp_path, texts, cli):
    ckpt = trained_run[0] / "best.ckpt"
    model = tmp_path / "model.onnx"
    done = cli("export", ckpt, "--format", "onnx", "--output", model)
    assert done.returncode == 0, done.stderr
    meta = {p.key for p in onnx.load(str(model)).metadata_props}
    assert METADATA in meta
    onnx_clf, torch_clf = load_classifier(str(model)), load_classifier(str(ckpt))
    assert onnx_clf.label_names == torch_clf.label_names
    np.testing.assert_allclose(onnx_clf.predict_proba(texts), torch_clf.predict_proba(texts), atol=1e-5)
    done = cli("predict", model, "a gorgeous , witty film")
    assert done.returncode == 0 and '"label"' in done.stdout
    done = cli("evaluate", model, "--split", "validation")
    assert done.returncode == 0, done.stderr
    before = model.read_bytes()
    done = cli("export", ckpt, "--output", model)
    assert done.returncode == 2 and "--overwrite" in done.stderr and model.read_bytes() == before
