"""A tiny real comparison produces every artifact; re-running trains nothing; findings follow numbers."""

import json

import pytest
from conftest import textclf

from textclf.commands.flags import parse_duration
from textclf.compare.analysis import Run, effects, findings, length_bins, summarise
from textclf.compare.plan import parse_vary, plan
from textclf.errors import TextclfError

TINY = ["--max_epochs", "2", "--trainer.limit_train_batches", "6", "--trainer.limit_val_batches", "2"]


@pytest.fixture(scope="module")
def tiny_compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "trec"
    args = ["compare", "--config", "configs/trec.yaml", "--encoders", "bag,gru", "--seeds", "2", *TINY, "--output", out]
    first = textclf(*args)
    assert first.returncode == 0, first.stderr
    second = textclf(*args)
    assert second.returncode == 0, second.stderr
    return out, first, second


@pytest.mark.slow
def test_every_artifact_is_written(tiny_compare):
    out, first, _ = tiny_compare
    for name in ("report.md", "results.csv", "results.json", "accuracy.png", "accuracy_by_length.png",
                 "learning_curves.png", "speed.png", "tokenizer.json", "tfidf.json"):
        assert (out / name).exists(), name
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["bag_seed1", "bag_seed2", "gru_seed1", "gru_seed2"]
    assert (out / "runs" / "gru_seed1" / "best.ckpt").exists()
    assert "[4/4] gru_seed2" in first.stdout and "ETA" in first.stdout
    res = json.loads((out / "results.json").read_text())
    assert [r["group"] for r in res["summary"]] == ["bag", "gru"]
    assert set(res["accuracy_by_length"]["accuracy"]) == {"bag", "gru", "tfidf+logreg"}
    assert sum(res["accuracy_by_length"]["counts"]) == 500 and len(res["accuracy_by_length"]["counts"]) == 4
    assert not any(s.startswith("Fastest to settle") for s in res["findings"])  # 2 epochs: settling means nothing
    assert "--trainer.limit_train_batches 6" in " ".join(res["flags"])
    assert all(e["p"] is not None and e["ci_low"] <= e["diff"] <= e["ci_high"] for e in res["effects"])
    assert res["findings"][0].startswith("Best: **")
    report = (out / "report.md").read_text()
    assert "TF-IDF" in report and "## Effect sizes" in report and "![accuracy by length]" in report
    assert "(n=2) |" in report and "± 0.00 |" not in report  # every ± says over how many seeds
    lines = (out / "results.csv").read_text().splitlines()
    assert len(lines) == 5 and lines[0].startswith("run,encoder")


@pytest.mark.slow
def test_the_report_compares_the_representations(tiny_compare):
    import numpy as np

    out, _, _ = tiny_compare
    for name in ("representations_cka.png", "representations_map.png"):
        assert (out / name).stat().st_size > 10_000, name
    rep = json.loads((out / "results.json").read_text())["representations"]
    assert rep["examples"] == rep["of"] == 500  # the whole TREC test split
    assert rep["groups"] == ["bag", "gru"] and len(rep["cka"]["runs"]) == 4
    cka = np.array(rep["cka"]["runs"])
    assert np.allclose(cka, cka.T) and np.allclose(np.diag(cka), 1) and ((cka > 0) & (cka <= 1 + 1e-6)).all()
    assert all(p["probe_untrained"] is not None and 0 < p["probe_trained"] <= 1 for p in rep["probes"])
    vectors = np.load(out / "runs" / "gru_seed1" / "vectors.npy")
    assert vectors.shape == (500, 256)  # the BiGRU's pooled size
    report = (out / "report.md").read_text()
    assert "## Representations" in report and "| linear CKA | bag | gru |" in report and "probe, before training" in report and "CKA before/after" in report
    assert rep["findings"] and all(s in report for s in rep["findings"])


@pytest.mark.slow
def test_runs_share_tokenizer_split_and_budget(tiny_compare):
    out, _, _ = tiny_compare
    shared = (out / "tokenizer.json").read_text()
    for run in (out / "runs").iterdir():
        assert (run / "tokenizer.json").read_text() == shared
        config = (run / "config.yaml").read_text()
        assert "max_epochs: 2" in config and "seed: 1" in config  # data.seed fixed to the first seed
    m1 = json.loads((out / "runs" / "gru_seed1" / "metrics.json").read_text())
    m2 = json.loads((out / "runs" / "gru_seed2" / "metrics.json").read_text())
    assert m1["data"] == m2["data"]  # the same split sizes and lengths


@pytest.mark.slow
def test_analyze_compares_checkpoints_trained_elsewhere(tiny_compare, tmp_path, cli):
    out, _, _ = tiny_compare
    report = tmp_path / "reps"
    done = cli("analyze", out / "runs" / "gru_seed1", out / "runs" / "bag_seed1" / "best.ckpt",
                   out / "runs" / "gru_seed2", "--output", report)
    assert done.returncode == 0, done.stderr
    rep = json.loads((report / "representations.json").read_text())
    assert rep["runs"] == ["gru_seed1", "bag_seed1", "gru_seed2"] and rep["groups"] == ["gru", "bag"]
    assert rep["examples"] == 500 and rep["cka"]["groups"][0][0] is not None  # two gru seeds: a within-seed CKA
    assert "## Representations" in (report / "report.md").read_text() and "report:" in done.stdout
    again = cli("analyze", out, "--output", report)  # a compare output: every run in it
    assert again.returncode == 2 and "--overwrite" in again.stderr
    again = cli("analyze", out, "--output", report, "--overwrite")
    assert again.returncode == 0, again.stderr
    assert len(json.loads((report / "representations.json").read_text())["runs"]) == 4
    one = cli("analyze", out / "runs" / "gru_seed1", "--output", tmp_path / "one")
    assert one.returncode == 2 and "at least two checkpoints" in one.stderr


@pytest.mark.slow
def test_rerun_does_no_training(tiny_compare):
    out, _, second = tiny_compare
    assert second.stdout.count("done earlier, skipped") == 4


@pytest.mark.slow
def test_the_run_checkpoints_work_with_predict(tiny_compare):
    out, _, _ = tiny_compare
    r = textclf("predict", out / "runs" / "gru_seed1" / "best.ckpt", "Who invented the telephone ?")
    assert r.returncode == 0 and json.loads(r.stdout)["label"] in {"DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"}


def fake_run(encoder, seed, acc, vary=""):
    """A run as the report reads it, with chosen numbers: LSTM slower and larger than GRU."""
    metrics = {"test": {"acc": acc, "f1": acc}, "val": {"acc": acc, "f1": acc},
               "parameters": {"total": 1000, "encoder": 600 if encoder == "lstm" else 450}, "best_epoch": 2,
               "seconds_to_best": 10.0 if encoder == "lstm" else 8.0, "peak_memory_mb": 100,
               "train_tokens_per_second": 1000.0 if encoder == "lstm" else 1300.0,
               "history": [{"epoch": 1, "elapsed": 5.0, "val_acc": acc - 0.02}, {"epoch": 2, "elapsed": 10.0, "val_acc": acc}]}
    return Run(f"{encoder}_seed{seed}", encoder, seed, vary, metrics,
               {"inference_texts_per_second": 500.0, "predictions": [0, 1, 1, 0]})


def synthetic_findings(lstm_accs, gru_accs):
    import numpy as np

    runs = [fake_run("lstm", s, a) for s, a in enumerate(lstm_accs)] + [fake_run("gru", s, a) for s, a in enumerate(gru_accs)]
    q = length_bins(runs, np.array([3, 5, 9, 20]), np.array([0, 1, 1, 0]))
    rows = summarise(runs)
    return findings(rows, effects(runs), q, None, None, "test")


def test_findings_change_when_the_numbers_change():
    close = synthetic_findings([0.80, 0.82, 0.81], [0.81, 0.80, 0.82])
    apart = synthetic_findings([0.80, 0.81, 0.80], [0.86, 0.87, 0.86])
    assert close != apart
    assert "within the seed-to-seed spread" in " ".join(close)
    assert "larger than the seed-to-seed spread" in " ".join(apart)
    assert apart[0].startswith("Best: **gru**") and "86.3" in apart[0]
    assert any("GRU has 0.75x LSTM's encoder parameters" in s for s in apart)


def test_speeds_that_differ_between_seeds_are_flagged_and_settling_needs_three_epochs():
    import numpy as np

    runs = [fake_run("gru", s, 0.8) for s in range(2)]
    runs[1].analysis["inference_texts_per_second"] = 500.0 * 13  # 8,330 vs 631 texts/s in the issue: a busy machine
    q = length_bins(runs, np.array([3, 5, 9, 20]), np.array([0, 1, 1, 0]))
    text = " ".join(findings(summarise(runs), effects(runs), q, None, None, "test"))
    assert "Warning: gru's inference speed differed 13.0x between seeds" in text
    assert "training speed differed" not in text and "Fastest to settle" not in text  # 2 epochs
    for r in runs:
        r.metrics["history"].append({"epoch": 3, "elapsed": 15.0, "val_acc": 0.8})
    text = " ".join(findings(summarise(runs), effects(runs), q, None, None, "test"))
    assert "Fastest to settle within 1 point of its final validation accuracy: gru (epoch 2.0" in text


def test_mean_and_spread_say_how_many_seeds():
    from textclf.compare.analysis import mean_std

    assert mean_std(0.81, 0.0096, 3) == "81.00 ± 0.96 (n=3)"
    assert mean_std(0.81, 0.0, 1) == "81.00 (1 run)"


def test_findings_for_one_encoder_and_a_varied_field():
    """The runner-up is the same encoder with another value: its verdict comes from its own seeds."""
    import numpy as np

    from textclf.compare.analysis import vary_spread

    runs = [fake_run("gru", s, a, "model.pooling=max") for s, a in enumerate([0.82, 0.815, 0.823])]
    runs += [fake_run("gru", s, a, "model.pooling=mean") for s, a in enumerate([0.80, 0.811, 0.808])]
    q = length_bins(runs, np.array([3, 5, 9, 20]), np.array([0, 1, 1, 0]))
    text = " ".join(findings(summarise(runs), effects(runs), q, vary_spread(runs), None, "test"))
    assert "Runner-up gru (model.pooling=mean) is 1.3 points behind, larger than the seed-to-seed spread (1.1 points)" in text
    assert "one seed" not in text and "between encoders" not in text
    assert "The varied field moves accuracy by 1.3 points on average (seed spread" in text


def test_encoder_findings_compare_encoders_at_the_first_value_of_a_varied_field():
    """compare --pretrain: GRU against LSTM is read from the scratch rows (pretrain=none, the first value), not
    from whichever row came last."""
    import numpy as np

    from textclf.compare.analysis import vary_spread

    runs = []
    for vary, lstm, gru in (("pretrain=none", 0.80, 0.83), ("pretrain=imdb", 0.85, 0.81)):
        runs += [fake_run("lstm", s, lstm, vary) for s in range(3)] + [fake_run("gru", s, gru, vary) for s in range(3)]
    q = length_bins(runs, np.array([3, 5, 9, 20]), np.array([0, 1, 1, 0]))
    text = " ".join(findings(summarise(runs), effects(runs), q, vary_spread(runs), None, "test"))
    assert "and scores +3.0 points" in text and "-4.0 points" not in text


def test_vary_duration_and_plan_parsing():
    assert parse_vary(["model.init=default,orthogonal"]) == {"model.init": ["default", "orthogonal"]}
    with pytest.raises(TextclfError, match="KEY=V1,V2"):
        parse_vary(["init"])
    assert parse_duration("10m") == "00:00:10:00" and parse_duration("1h30m") == "00:01:30:00"
    with pytest.raises(TextclfError, match="duration"):
        parse_duration("ten")
    runs = plan(["gru", "lstm"], [1, 2], {"model.init": ["default", "orthogonal"]})
    assert len(runs) == 8 and runs[0].name == "gru_init-default_seed1"


@pytest.mark.slow
def test_vary_adds_an_axis_and_the_report_sets_it_beside_the_encoder(tmp_path):
    out = tmp_path / "vary"
    r = textclf("compare", "--data.path", "data/trec", "--encoders", "bag,gru", "--seeds", "1", *TINY,
                "--vary", "model.embedding_dim=32,64", "--no_tfidf", "--output", out)  # no --config: train's data flags
    assert r.returncode == 0, r.stderr
    assert "writing the report" in r.stdout
    assert sorted(p.name for p in (out / "runs").iterdir()) == [
        "bag_embedding_dim-32_seed1", "bag_embedding_dim-64_seed1", "gru_embedding_dim-32_seed1", "gru_embedding_dim-64_seed1"]
    params = json.loads((out / "runs" / "bag_embedding_dim-64_seed1" / "metrics.json").read_text())["parameters"]
    vocab = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    assert params["embedding"] == 64 * len(vocab)
    res = json.loads((out / "results.json").read_text())
    assert set(res["vary_spread"]["by_encoder_field_spread"]) == {"bag", "gru"}
    report = (out / "report.md").read_text()
    assert "Varied field against encoder choice" in report and "Data `trec` (no config)" in report
    assert " ± " not in report.split("## Results")[1].split("##")[0]  # one seed: no spread to show
    assert any(s.startswith("The varied field moves accuracy") for s in res["findings"])


@pytest.mark.slow
def test_an_output_made_from_other_config_or_data_is_never_reused(tiny_compare, capsys, monkeypatch, tmp_path):
    from conftest import ROOT

    from textclf.cli import main

    out, _, _ = tiny_compare
    monkeypatch.chdir(ROOT)
    listing = sorted(p.name for p in (out / "runs").iterdir())
    for change, what in ((["--config", "configs/sst2.yaml"], "config and data"),
                         (["--config", "configs/trec.yaml", "--max_epochs", "3"], "config")):
        code = main(["compare", *change, "--encoders", "bag", "--seeds", "1", "--output", str(out)])
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert code == 2
        assert line == (f"textclf compare: error: --output {out} was made with another {what}: its runs cannot be "
                        "reused; use another --output or pass --overwrite to replace it")
    assert sorted(p.name for p in (out / "runs").iterdir()) == listing

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["compare", "--config", "configs/trec.yaml", "--output", str(mine), "--overwrite"]) == 2
    assert "holds files but no compare.json" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_overwrite_replaces_a_comparison_of_another_config(tmp_path, monkeypatch):
    from conftest import ROOT

    from textclf.cli import main

    monkeypatch.chdir(ROOT)
    out = tmp_path / "cmp"
    small = ["--encoders", "bag", "--seeds", "1", "--max_epochs", "1", "--trainer.limit_train_batches", "2",
             "--no_tfidf", "--output", str(out)]
    assert main(["compare", "--config", "configs/trec.yaml", *small]) == 0
    trec_manifest = (out / "compare.json").read_text()
    assert main(["compare", "--config", "configs/sst2.yaml", *small, "--overwrite"]) == 0
    assert (out / "compare.json").read_text() != trec_manifest
    assert "sst2.yaml" in (out / "report.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp"]


def test_length_bins_never_overlap_keep_ties_together_and_carry_the_seed_spread():
    import numpy as np

    lengths = np.array([5] * 30 + [6] * 5 + list(range(7, 72)))  # 100 texts, a third of them tied at 5 tokens
    labels = np.zeros(100, dtype=int)
    runs = [Run(f"gru_seed{s}", "gru", s, "", {}, {"predictions": (np.arange(100) % (s + 2) == 0).astype(int).tolist()})
            for s in range(2)]
    bins = length_bins(runs, lengths, labels)
    assert bins["bins"] == ["5", "6-21", "22-46", "47-71"] and bins["counts"] == [30, 20, 25, 25]
    spans = [[int(x) for x in b.split("-")] * (2 - b.count("-")) for b in bins["bins"]]
    assert all(high < low for (_, high), (low, _) in zip(spans, spans[1:]))  # no length in two bins
    assert all(sd > 0 for sd in bins["std"]["gru"])  # the two seeds disagree in every bin
    long = [Run("gru_seed1", "gru", 1, "", {}, {"predictions": [0] * 5000})]
    assert len(length_bins(long, np.arange(5000), np.zeros(5000, dtype=int))["bins"]) == 8  # a large split: finer


def test_paired_bootstrap_separates_a_real_gap_from_none():
    import numpy as np

    from textclf.compare.analysis import paired_bootstrap

    rng = np.random.default_rng(0)
    a = (rng.random(2000) < 0.85).astype(float)
    low, high, p = paired_bootstrap(a, np.where(rng.random(2000) < 0.1, 0.0, a))  # b: a with 10% of answers lost
    assert 0.05 < low < high < 0.12 and p < 0.001
    low, high, p = paired_bootstrap(a, a[rng.permutation(2000)])  # the same accuracy, other examples
    assert low < 0 < high and p > 0.05


def test_settling_is_measured_against_the_final_epoch_and_effects_cover_a_varied_field():
    import numpy as np

    run = fake_run("gru", 0, 0.80)
    run.metrics["history"] = [{"val_acc": a, "elapsed": 10.0 * (i + 1)} for i, a in enumerate([0.6, 0.79, 0.85, 0.80])]
    assert run.to_within_final() == (2, 20.0)  # 0.79 is within 1 point of the final 0.80; the noisy 0.85 is not the target
    runs = [fake_run("gru", s, a, "model.pooling=max") for s, a in enumerate([0.82, 0.815, 0.823])]
    runs += [fake_run("gru", s, a, "model.pooling=mean") for s, a in enumerate([0.80, 0.811, 0.808])]
    rows = effects(runs, np.array([0, 1, 1, 0]))
    assert len(rows) == 1 and rows[0]["better"] == "gru (model.pooling=max)" and rows[0]["p"] is not None


@pytest.mark.parametrize("args,message", [
    (["--max_epochs", "0"], "argument --max_epochs: expected a whole number of at least 1, got '0'"),
    (["--encoders", ""], "--encoders '' names no encoder"),
    (["--encoders", " , "], "names no encoder"),
    (["--seeds", "0"], "argument --seeds: expected a whole number of at least 1"),
    (["--max_time", "0m"], "give a duration longer than 0"),
])
def test_compare_budgets_and_encoders_that_mean_nothing_are_refused_before_any_work(cli, tmp_path, monkeypatch, args,
                                                                                      message):
    from conftest import ROOT

    monkeypatch.chdir(ROOT)
    done = cli("compare", "--config", "configs/trec.yaml", *args, "--output", tmp_path / "c")
    assert done.returncode == 2 and message in done.stderr and "TF-IDF" not in done.stdout, done.stderr
    assert not (tmp_path / "c").exists()
