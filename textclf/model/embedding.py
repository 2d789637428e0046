"""Token ids -> vectors: a trainable embedding, optionally started from word2vec/GloVe text vectors.

Two options from fastText's recipe: hashed bigrams add a vector for each pair of neighbouring tokens
(looked up by a hash of the two ids into a fixed number of buckets, so there is no bigram vocabulary to
store), and word dropout replaces whole tokens by [UNK] while training.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from textclf.data.tokenizer import PAD_ID, UNK_ID
from textclf.errors import TextclfError
from textclf.model.speed.fast_dropout import Dropout

log = logging.getLogger(__name__)


# A prime larger than any vocabulary: (previous id * HASH_PRIME + id) is unique per pair before the modulo.
HASH_PRIME = 1_000_003


def bigram_ids(ids: torch.Tensor, buckets: int) -> torch.Tensor:
    """(B, T) token ids -> (B, T) bucket of each (previous token, token) pair; the first token pairs with
    [PAD], so it gets a start-of-text bigram."""
    previous = F.pad(ids[:, :-1], (1, 0), value=PAD_ID)
    return (previous * HASH_PRIME + ids) % buckets


def vectors_dim(path: str) -> int:
    """The size of the vectors in a word2vec/GloVe text file (`.txt`/`.vec`, with or without the `count dim`
    header), read from its first lines."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f):
                parts = line.rstrip().split(" ")
                if n == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    return int(parts[1])  # word2vec header: "count dim"
                if len(parts) > 1:
                    return len(parts) - 1
    except OSError as err:
        raise TextclfError(f"cannot read --model.pretrained_vectors {path}: {err.strerror}") from err
    raise TextclfError(f"--model.pretrained_vectors {path} holds no vectors: give a word2vec or GloVe text file")


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, dim: int, dropout: float = 0.0, word_dropout: float = 0.0, bigrams: int = 0):
        """`bigrams`: buckets of hashed bigram vectors (0: none); `word_dropout`: share of tokens replaced by [UNK]."""
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.word_dropout = word_dropout
        # zeros: training starts from the unigram model and learns what each bigram adds
        self.bigrams = nn.Embedding(bigrams, dim, _weight=torch.zeros(bigrams, dim)) if bigrams else None
        self.drop = Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, T, E)."""
        if self.training and self.word_dropout:
            dropped = (torch.rand(ids.shape, device=ids.device) < self.word_dropout) & (ids != PAD_ID)
            ids = ids.masked_fill(dropped, UNK_ID)
        x = self.embed(ids)
        if self.bigrams is not None:
            x = x + self.bigrams(bigram_ids(ids, self.bigrams.num_embeddings))
        return self.drop(x)

    @torch.no_grad()
    def load_vectors(self, path: str, vocab: dict[str, int], freeze: bool = False) -> float:
        """Copy vectors of a word2vec/GloVe text file (`.txt`/`.vec`, with or without the `count dim`
        header) onto the vocabulary; returns the share of the vocabulary found."""
        weight = self.embed.weight
        dim = weight.shape[1]
        filled: set[int] = set()
        exact: set[int] = set()
        try:
            f = open(path, encoding="utf-8", errors="replace")
        except OSError as err:
            raise TextclfError(f"cannot read --model.pretrained_vectors {path}: {err.strerror}") from err
        with f:
            for n, line in enumerate(f):
                parts = line.rstrip().split(" ")
                if n == 0 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # word2vec header: "count dim"
                if len(parts) < 2:
                    continue
                if len(parts) - 1 != dim:
                    raise TextclfError(
                        f"{path} has {len(parts) - 1}-dimensional vectors but --model.embedding_dim is {dim}: "
                        f"drop --model.embedding_dim (the file's size is used) or set it to {len(parts) - 1}"
                    )
                # an exact match wins over a case-folded one ("The" fills "the" only if "the" is absent)
                idx, is_exact = vocab.get(parts[0]), True
                if idx is None:
                    idx, is_exact = vocab.get(parts[0].lower()), False
                if idx is None or idx == PAD_ID or idx in exact or (not is_exact and idx in filled):
                    continue
                weight[idx] = torch.tensor([float(x) for x in parts[1:]])
                filled.add(idx)
                if is_exact:
                    exact.add(idx)
        found = len(filled)
        coverage = found / max(len(vocab) - 1, 1)
        log.info("pretrained vectors %s cover %.1f%% of the vocabulary (%d of %d)%s", path, 100 * coverage, found,
                 len(vocab) - 1, ", kept fixed" if freeze else "")
        weight.requires_grad_(not freeze)
        return coverage
