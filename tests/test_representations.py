"""The representation measures (textclf.compare.representations) on vectors whose answer is known."""

import numpy as np

from textclf.compare.representations import (
    analysed_texts,
    findings,
    linear_cka,
    nearest,
    neighbour_agreement,
    probe,
)


def test_linear_cka_is_invariant_to_rotation_and_scale_and_low_for_unrelated_vectors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 32))
    rotation, _ = np.linalg.qr(rng.normal(size=(32, 32)))
    assert abs(linear_cka(x, 3.0 * x @ rotation + 5.0) - 1) < 1e-9
    assert linear_cka(x, rng.normal(size=(400, 16))) < 0.15
    half = np.hstack([x[:, :16], rng.normal(size=(400, 16))])  # shares half the directions
    assert 0.3 < linear_cka(x, half) < 0.8


def test_neighbours_exclude_the_text_itself_and_agreement_counts_shared_ones():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8))
    n = nearest(x, k=5, chunk=64)  # several chunks
    assert n.shape == (300, 5) and not (n == np.arange(300)[:, None]).any()
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    assert all(set(n[i]) == set(np.argsort(-sims[i])[:5]) for i in range(300))
    assert neighbour_agreement(n, nearest(2 * x, k=5)) == 1.0
    assert neighbour_agreement(n, nearest(rng.normal(size=(300, 8)), k=5)) < 0.2


def test_probe_separates_separable_vectors_and_not_noise():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2], 100)
    signal = rng.normal(size=(300, 10)) + 4 * np.eye(3, 10)[labels]
    assert probe(signal, labels) > 0.95
    assert probe(rng.normal(size=(300, 10)), labels) < 0.5


def test_analysed_texts_is_everything_or_a_fixed_subset():
    assert (analysed_texts(10) == np.arange(10)).all()
    a = analysed_texts(20_000, 500)
    assert len(a) == 500 and len(set(a)) == 500 and (a == analysed_texts(20_000, 500)).all()


def test_findings_follow_the_numbers():
    base = {"groups": ["gru", "lstm", "transformer"], "majority": 0.5, "neighbours": {"k": 10}}

    def res(within, gru_lstm, gru_tf):
        cka = [[within, gru_lstm, gru_tf], [gru_lstm, within, 0.5], [gru_tf, 0.5, within]]
        probes = [{"group": g, "probe_trained": 0.8, "probe_untrained": u, "cka_before_after": c} for g, u, c in
                  (("gru", 0.6, 0.3), ("lstm", 0.62, 0.2), ("transformer", 0.7, within))]
        return {**base, "cka": {"groups": cka}, "neighbours": {"k": 10, "groups": cka}, "probes": probes}

    close = " ".join(findings(res(0.9, 0.8, 0.4)))
    assert "Two seeds of one encoder are closer to each other (mean linear CKA 0.90)" in close
    assert "gru is closest to lstm (0.80) and farthest from transformer (0.40)" in close
    assert "before it, transformer's features separate the classes best" in close
    assert "Training moved transformer's vectors least: linear CKA 0.90" in close
    flipped = " ".join(findings(res(0.3, 0.4, 0.8)))
    assert "no closer to each other" in flipped and "gru is closest to transformer (0.80)" in flipped
    assert "Training moved gru's vectors least: linear CKA 0.30" in flipped
