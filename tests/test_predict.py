"""The Python prediction API: input order, top_k, empty texts, int8 quantization, bf16, torch.compile."""

import numpy as np
import pytest
from conftest import ROOT, TINY

from textclf import load_classifier
from textclf.errors import TextclfError

TEXTS = ["an utterly charming , hilarious film .", "dull", "the acting is wooden and the plot is a mess .", "fine"]


def test_records_in_input_order_with_probabilities(trained_run):
    run_dir, _ = trained_run
    clf = load_classifier(str(run_dir / "best.ckpt"))
    records = clf.predict(TEXTS)
    assert [r["text"] for r in records] == TEXTS
    for r in records:
        assert set(r["probs"]) == {"negative", "positive"}
        assert r["label"] == max(r["probs"], key=r["probs"].get)
        assert abs(sum(r["probs"].values()) - 1) < 1e-4
    # batch size and order of the batch do not change a text's result
    single = [clf.predict([t])[0]["probs"] for t in TEXTS]
    assert all(np.allclose(list(a.values()), list(b["probs"].values()), atol=1e-5) for a, b in zip(single, records))
    assert len(clf.predict(TEXTS, top_k=1)[0]["probs"]) == 1


def test_empty_text_names_its_position(trained_run):
    run_dir, _ = trained_run
    with pytest.raises(TextclfError, match="text 2 is empty"):
        load_classifier(str(run_dir / "best.ckpt")).predict(["fine", "  "])


def test_quantized_model_predicts_close_to_the_float_model(trained_run):
    run_dir, _ = trained_run
    fp32 = load_classifier(str(run_dir / "best.ckpt")).predict_proba(TEXTS)
    int8_clf = load_classifier(str(run_dir / "best.ckpt"), quantize=True)
    assert "DynamicQuantized" in repr(int8_clf.model)
    int8 = int8_clf.predict_proba(TEXTS)
    assert np.abs(fp32 - int8).max() < 0.05


def test_bf16_predicts_close_to_fp32_and_unknown_precision_is_an_error(trained_run):
    import torch

    run_dir, _ = trained_run
    ckpt = str(run_dir / "best.ckpt")
    fp32 = load_classifier(ckpt).predict_proba(TEXTS)
    bf16_clf = load_classifier(ckpt, precision="bf16")
    seen = []
    hook = bf16_clf.model.head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    bf16 = bf16_clf.predict_proba(TEXTS)
    hook.remove()
    assert seen and seen[0] == torch.bfloat16, "the forward pass must run under bf16 autocast"
    assert np.abs(fp32 - bf16).max() < 0.05 and (fp32.argmax(1) == bf16.argmax(1)).all()
    with pytest.raises(TextclfError, match="unknown precision 'fp8': choose one of fp32, bf16"):
        load_classifier(ckpt, precision="fp8")


@pytest.mark.slow
def test_compiled_transformer_predicts_like_eager(tmp_path, monkeypatch):
    """`compile=True` runs the Transformer encoder through torch.compile (dynamic shapes: batches of
    other sizes and lengths reuse it) and gives the eager model's probabilities."""
    import shutil

    import torch

    from textclf.training.run import train

    if not any(shutil.which(c) for c in ("g++", "clang++", "c++")):
        pytest.skip("torch.compile on CPU needs a C++ compiler; this machine has none")
    monkeypatch.chdir(ROOT)
    train(["--config", "configs/sst2.yaml", "--run_dir", str(tmp_path / "tf"), *TINY, "--model.encoder", "transformer"])
    ckpt = str(tmp_path / "tf" / "best.ckpt")
    texts = TEXTS + ["a long , winding and ultimately rewarding story about " + "friendship and loss , " * 8]
    eager_clf = load_classifier(ckpt)
    eager = eager_clf.predict_proba(texts, batch_size=2)
    compiled = load_classifier(ckpt, compile=True)
    assert isinstance(compiled.model.encoder, torch._dynamo.eval_frame.OptimizedModule)
    assert compiled.batch_threads == 1  # torch.compile's first call compiles: never raced by a second thread
    np.testing.assert_allclose(compiled.predict_proba(texts, batch_size=2), eager, atol=1e-5)
    np.testing.assert_allclose(compiled.predict_proba(texts, batch_size=5), eager, atol=1e-5)


def test_compile_applies_to_the_transformer_only_and_not_with_quantize(trained_run, monkeypatch):
    run_dir, _ = trained_run
    ckpt = str(run_dir / "best.ckpt")
    with pytest.raises(TextclfError, match="--compile applies to the transformer encoder only; .*GRUEncoder"):
        load_classifier(ckpt, compile=True)
    with pytest.raises(TextclfError, match="--quantize and --compile do not combine"):
        load_classifier(ckpt, quantize=True, compile=True)


def test_compile_without_a_cpp_compiler_is_a_one_line_error(monkeypatch):
    import torch

    from textclf.model.encoders import build_encoder
    from textclf.serve import classifier

    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(classifier.shutil, "which", lambda name: None)
    with pytest.raises(TextclfError, match=r"--compile on CPU needs a C\+\+ compiler \(g\+\+ or clang\+\+\) on PATH"):
        classifier.compile_encoder(build_encoder("transformer", 16), torch.device("cpu"))
