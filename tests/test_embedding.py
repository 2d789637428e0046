import pytest
import torch

from textclf.errors import TextclfError
from textclf.model.embedding import TokenEmbedding

VOCAB = {"[PAD]": 0, "[UNK]": 1, "good": 2, "film": 3, "the": 4}


@pytest.mark.parametrize("header", [True, False])
def test_vectors_are_copied_and_coverage_reported(tmp_path, header):
    lines = ["good 1 2 3", "The 7 7 7", "the 4 5 6", "absent 0 0 0"]
    f = tmp_path / "vec.txt"
    f.write_text(("4 3\n" if header else "") + "\n".join(lines) + "\n", encoding="utf-8")
    emb = TokenEmbedding(len(VOCAB), 3)
    coverage = emb.load_vectors(str(f), VOCAB)
    assert coverage == pytest.approx(2 / 4)  # good and the, of 4 non-pad tokens
    assert emb.embed.weight[2].tolist() == [1, 2, 3]
    assert emb.embed.weight[4].tolist() == [4, 5, 6]  # the exact "the" wins over "The"
    assert emb.embed.weight[0].abs().sum() == 0  # padding stays zero


def test_dimension_mismatch_names_both_numbers(tmp_path):
    f = tmp_path / "vec.vec"
    f.write_text("good 1 2 3 4\n", encoding="utf-8")
    with pytest.raises(TextclfError, match="4-dimensional vectors but --model.embedding_dim is 3"):
        TokenEmbedding(len(VOCAB), 3).load_vectors(str(f), VOCAB)


def test_freeze_keeps_vectors_fixed(tmp_path):
    f = tmp_path / "vec.txt"
    f.write_text("good 1 2 3\n", encoding="utf-8")
    emb = TokenEmbedding(len(VOCAB), 3)
    emb.load_vectors(str(f), VOCAB, freeze=True)
    assert not emb.embed.weight.requires_grad
    assert emb(torch.tensor([[VOCAB["good"]]]))[0, 0].tolist() == [1.0, 2.0, 3.0]


def test_training_from_vectors_takes_their_size_says_their_coverage_and_can_keep_them(tmp_path, cli, monkeypatch,
                                                                                     caplog):
    """A real `textclf train` on SST-2 from a small vectors file (16-d, random but fixed, for 400 frequent
    words and some words the data lacks): no --model.embedding_dim, the size is the file's; the coverage is
    printed; with --model.freeze_embeddings the trained checkpoint still holds the file's vectors."""
    import json
    from collections import Counter

    import datasets
    from conftest import DATA, ROOT, TINY

    monkeypatch.chdir(ROOT)
    counts = Counter(w for t in datasets.load_dataset(str(DATA / "sst2"), split="train")["text"] for w in t.lower().split())
    words = [w for w, _ in counts.most_common() if w.isalpha()][:400] + ["zyzzyva", "quokka"]
    torch.manual_seed(0)
    vectors = torch.randn(len(words), 16)
    f = tmp_path / "vectors.txt"
    f.write_text("".join(w + " " + " ".join(f"{x:.6f}" for x in v.tolist()) + "\n" for w, v in zip(words, vectors)))
    for freeze in ("false", "true"):
        run = tmp_path / f"run-{freeze}"
        with caplog.at_level("INFO", logger="textclf.model.embedding"):
            done = cli("train", "--data.path", "data/sst2", "--model.pretrained_vectors", f, "--model.freeze_embeddings",
                       freeze, "--run_dir", run, *TINY)
        assert done.returncode == 0, done.stderr
        assert f"pretrained vectors {f} cover" in caplog.text and "of the vocabulary" in caplog.text
        ckpt = torch.load(run / "best.ckpt", weights_only=True)
        assert ckpt["textclf"]["network"]["embedding_dim"] == 16
        table = ckpt["state_dict"]["network.embedding.embed.weight"]
        ids = json.loads((run / "tokenizer.json").read_text())["model"]["vocab"]
        found = [(ids[w], v) for w, v in zip(words, vectors) if w in ids]
        assert len(found) > 100
        same = all(torch.allclose(table[i], v, atol=1e-6) for i, v in found)
        assert same == (freeze == "true")
