"""Vectors out: `Classifier.embed` and `textclf embed` give the pooled vector the head sees."""

import json

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from conftest import DATA

from textclf import load_classifier
from textclf.model.checkpoint import network_from, read_checkpoint
from textclf.model.network import NetworkConfig, TextNetwork
from textclf.serve.classifier import Classifier

ENCODERS = ["bag", "rnn", "lstm", "gru", "transformer"]


@pytest.fixture(scope="module")
def sst2_texts():
    return datasets.load_dataset(str(DATA / "sst2"), split="validation")["text"][:150]


def _classifier(trained_run, encoder: str, fold: bool = True) -> Classifier:
    """A network of `encoder` (random weights) with the trained run's tokenizer and labels."""
    path = str(trained_run[0] / "best.ckpt")
    _, archive = network_from(read_checkpoint(path), path)
    torch.manual_seed(0)
    model = TextNetwork(NetworkConfig(encoder, archive.network.vocab_size, archive.network.num_classes))
    return Classifier(model.eval(), archive, fold=fold)


@pytest.mark.parametrize("encoder", ENCODERS)
def test_embed_is_the_networks_own_pooled_vector_one_text_at_a_time(trained_run, sst2_texts, encoder):
    clf = _classifier(trained_run, encoder)
    vectors = clf.embed(sst2_texts)
    assert vectors.shape == (len(sst2_texts), clf.model.encoder.output_dim) == (len(sst2_texts), clf.embedding_dim)
    enc = clf.encode(sst2_texts)
    with torch.inference_mode():
        for i in range(0, len(sst2_texts), 7):  # each text alone: no batch neighbours, no padding
            ids = torch.tensor(enc.flat[enc.offsets[i]:enc.offsets[i + 1]])[None, :]
            own = clf.model.pooled(ids, torch.tensor([ids.shape[1]]))[0].numpy()
            np.testing.assert_allclose(vectors[i], own, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fold", [True, False])
def test_embed_does_not_depend_on_batch_neighbours_or_order(trained_run, sst2_texts, fold):
    clf = load_classifier(str(trained_run[0] / "best.ckpt"), fold=fold)
    vectors = clf.embed(sst2_texts)
    order = np.random.default_rng(0).permutation(len(sst2_texts))
    shuffled = clf.embed([sst2_texts[i] for i in order], batch_size=5)
    np.testing.assert_allclose(shuffled, vectors[order], atol=1e-5, rtol=1e-5)
    # the head applied to the vectors gives predict's probabilities
    with torch.inference_mode():
        probs = torch.softmax(clf.model.head(torch.from_numpy(vectors)), -1).numpy()
    np.testing.assert_allclose(probs, clf.predict_proba(sst2_texts), atol=1e-5)


def test_embed_command_writes_npy_and_parquet_with_the_other_columns(trained_run, tmp_path, cli):
    ckpt = trained_run[0] / "best.ckpt"
    rows = datasets.load_dataset(str(DATA / "sst2"), split="validation").select(range(40))
    table = tmp_path / "mine.csv"
    rows.add_column("id", [f"r{i}" for i in range(40)]).remove_columns("label").to_csv(str(table), index=False)
    done = cli("embed", ckpt, "--input", table, "--output", tmp_path / "v.npy")
    assert done.returncode == 0, done.stderr
    vectors = np.load(tmp_path / "v.npy")
    clf = load_classifier(str(ckpt))
    assert vectors.shape == (40, clf.embedding_dim) == (40, 256)  # a BiGRU of 128 per direction
    np.testing.assert_allclose(vectors, clf.embed(rows["text"]), atol=1e-6)

    done = cli("embed", ckpt, "--input", table, "--output", tmp_path / "v.parquet")
    assert done.returncode == 0, done.stderr
    out = pq.read_table(tmp_path / "v.parquet").to_pydict()
    assert out["id"] == [f"r{i}" for i in range(40)] and out["text"] == rows["text"]
    np.testing.assert_allclose(np.array(out["vector"], dtype=np.float32), vectors)
    assert "textclf embed: 40 vectors of 256 -> " in done.stderr and "texts/s)" in done.stderr  # the closing line

    done = cli("embed", ckpt, "--input", table)  # no --output: JSON lines on stdout, the input's columns first
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [list(r) for r in records[:1]] == [["text", "id", "vector"]] and [r["id"] for r in records] == out["id"]
    np.testing.assert_allclose(np.array([r["vector"] for r in records], dtype=np.float32), vectors, atol=1e-5)


def test_embed_command_refuses_bad_output_and_keeps_an_existing_file(trained_run, tmp_path, cli):
    ckpt = trained_run[0] / "best.ckpt"
    done = cli("embed", ckpt, "a text", "--output", tmp_path / "v.csv")
    assert done.returncode == 2 and ".npy, .parquet, .jsonl" in done.stderr and "Traceback" not in done.stderr
    existing = tmp_path / "v.npy"
    existing.write_bytes(b"keep me")
    done = cli("embed", ckpt, "a text", "--output", existing)
    assert done.returncode == 2 and "--overwrite" in done.stderr
    assert existing.read_bytes() == b"keep me"
    done = cli("embed", ckpt, "a text", "another", "--output", existing, "--overwrite")
    assert done.returncode == 0, done.stderr
    assert np.load(existing).shape[0] == 2
