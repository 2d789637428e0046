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
