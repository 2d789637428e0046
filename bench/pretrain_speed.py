"""Pretraining throughput: textclf's masked-token step (length-bucketed windows, its encoders' fast CPU paths)
against a plain PyTorch reference of the same model and objective (nn.Embedding, a bidirectional nn.GRU /
nn.LSTM over batches padded to the window size, the same tied output layer), in real tokens per second.

    python bench/pretrain_speed.py [--encoders gru,lstm] [--steps 40] [--texts 20000]

Both read the same zh_reviews texts with the same tokenizer and batch size; each timed after 5 warm-up steps,
one after the other, with nothing else running.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from textclf.data.corpus_module import CorpusDataModule
from textclf.model.masked_lm import MASK_RATE, ContextNetwork, TokenPredictor, mask_tokens, masked_token_loss
from textclf.model.network import NetworkConfig

CORPUS = "../shared/data/zh_reviews"


class Reference(nn.Module):
    """The textbook model: embedding, bidirectional cuDNN-style RNN over the padded batch, tied output layer."""

    def __init__(self, kind: str, vocab: int, dim: int = 128, hidden: int = 128):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[kind](dim, hidden, batch_first=True, bidirectional=True)
        self.predictor = TokenPredictor(2 * hidden, dim, vocab)

    def loss(self, ids, lengths, mask_id):
        inputs, chosen = mask_tokens(ids, lengths, mask_id, self.embed.num_embeddings, MASK_RATE)
        states, _ = self.rnn(self.embed(inputs))
        scores = self.predictor(states[chosen], self.embed.weight)
        return F.cross_entropy(scores, ids[chosen])


def padded(batch: dict, width: int) -> dict:
    ids = batch["input_ids"]
    return {**batch, "input_ids": F.pad(ids, (0, width - ids.shape[1]))}


def timed(step, batches, steps: int) -> float:
    for b in batches[:5]:
        step(b)
    start, tokens = time.perf_counter(), 0
    for b in batches[5:5 + steps]:
        step(b)
        tokens += int(b["lengths"].sum())
    return tokens / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--encoders", default="gru,lstm")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--texts", type=int, default=20000)
    args = p.parse_args()
    torch.manual_seed(0)
    dm = CorpusDataModule(path=CORPUS, batch_size=64, max_length=256, seed=0)
    dm.setup()
    batches = list(dm.train_dataloader())[: 5 + args.steps]
    vocab, mask_id = dm.tokenizer.get_vocab_size(), dm.mask_id
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(batches)} batches of 64 windows")
    for kind in args.encoders.split(","):
        a, b = measure(kind, vocab, mask_id, batches, args.steps)
        print(f"{kind}: textclf {a:,.0f} tokens/s, plain PyTorch (padded to 256) {b:,.0f} tokens/s, {a / b:.2f}x")


def measure(kind: str, vocab: int, mask_id: int, batches: list[dict], steps: int) -> tuple[float, float]:
    """(textclf's, the reference's) training tokens/s of one encoder."""
    config = NetworkConfig(kind, vocab, 0, 128, 0.1, 0.1, encoder_options={"hidden_size": 128})
    net = ContextNetwork(config)
    pred = TokenPredictor(net.encoder.output_dim, 128, vocab)
    opt = torch.optim.AdamW([*net.parameters(), *pred.parameters()], lr=1e-3, fused=True)

    def ours(b):
        loss, _, n = masked_token_loss(net, pred, b["input_ids"], b["lengths"], mask_id)
        opt.zero_grad()
        (loss / n).backward()
        opt.step()

    ref = Reference(kind, vocab)
    ref_opt = torch.optim.AdamW(ref.parameters(), lr=1e-3)

    def plain(b):
        b = padded(b, 256)
        loss = ref.loss(b["input_ids"], b["lengths"], mask_id)
        ref_opt.zero_grad()
        loss.backward()
        ref_opt.step()

    return timed(ours, batches, steps), timed(plain, batches, steps)

if __name__ == "__main__":
    main()
