"""`textclf tune` on TREC with a tiny budget: trials, pruning storage, the outputs, a search that
continues where it stopped, and best.yaml that trains the best trial again."""

import contextlib
import inspect
import json

import pytest
import yaml
from conftest import ROOT

from textclf.cli import main
from textclf.data.datamodule import TextDataModule
from textclf.model.encoders import encoder_options
from textclf.model.network import NetworkConfig
from textclf.training.module import LitTextClassifier
from textclf.tune.search import search_space


def signature_defaults(cls) -> dict:
    return {k: p.default for k, p in inspect.signature(cls).parameters.items() if p.default is not inspect.Parameter.empty}

TRIAL = ["--trainer.max_epochs", "2", "--trainer.limit_train_batches", "6", "--trainer.limit_val_batches", "1.0",
         "--data.max_length", "32"]


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune") / "trec-bag"
    with contextlib.chdir(ROOT):  # the configs name data/ relative to the project root
        args = ["tune", "--config", "configs/trec.yaml", "--encoder", "bag", "--budget", "5m", "--output", str(out), *TRIAL]
        assert main([*args, "--trials", "3"]) == 0
        assert main([*args, "--trials", "1"]) == 0  # continues the same study
    return out


def test_the_search_writes_its_study_trials_and_plot(search):
    for name in ("study.db", "trials.csv", "search.png", "best.yaml", "best.json", "tune.json"):
        assert (search / name).exists(), name
    best = json.loads((search / "best.json").read_text())
    assert best["trials"] == 4  # the second call added one trial to the first call's three
    assert len(list((search / "trials").iterdir())) == 4


def test_the_search_starts_from_the_config_as_it_is(search):
    import optuna

    study = optuna.load_study(study_name="textclf", storage=f"sqlite:///{search / 'study.db'}")
    first = study.trials[0].params
    # configs/trec.yaml sets only the data, so the first trial is the default recipe: the options' defaults,
    # and the encoder's own where the model leaves them unset (bag pools by its default)
    defaults = {"model": signature_defaults(LitTextClassifier), "data": signature_defaults(TextDataModule)}
    defaults["model"].update({k: v for k, v in encoder_options("bag").items() if defaults["model"].get(k) is None})
    defaults["model"]["embedding_dim"] = defaults["model"]["embedding_dim"] or NetworkConfig.embedding_dim
    assert set(first) == set(search_space("bag"))
    assert first == {key: defaults[key.split(".")[0]][key.split(".", 1)[1]] for key in first}
    assert first["model.pooling"] == encoder_options("bag")["pooling"]


def test_the_test_split_is_never_scored_during_the_search(search):
    for run in (search / "trials").iterdir():
        assert json.loads((run / "metrics.json").read_text())["test"] is None


def test_best_yaml_trains_the_best_trial_again(search, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    best = json.loads((search / "best.json").read_text())
    config = yaml.safe_load((search / "best.yaml").read_text())
    assert config["model"]["encoder"] == "bag" and config["model"]["lr"] == pytest.approx(best["params"]["model.lr"])
    assert main(["train", "--config", str(search / "best.yaml"), "--run_dir", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["val"]["acc"] == pytest.approx(best["val_acc"], rel=1e-5)


def test_another_search_in_the_same_output_is_refused(search, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["tune", "--config", "configs/trec.yaml", "--encoder", "gru", "--output", str(search), *TRIAL]) == 2
    assert "holds a search with other flags or another encoder" in capsys.readouterr().err


def test_only_the_best_trial_keeps_a_checkpoint(search, tmp_path, monkeypatch):
    best = json.loads((search / "best.json").read_text())
    kept = sorted(p.relative_to(search).as_posix() for p in (search / "trials").rglob("*.ckpt"))
    assert kept == [f"trials/{best['best_trial']:03d}/best.ckpt"]
    assert best["checkpoint"].endswith(kept[0])
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", best["checkpoint"], "--split", "validation", "--output", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["accuracy"] == pytest.approx(best["val_acc"], abs=1e-6)


def test_the_data_lines_are_shown_once_not_per_trial(tmp_path):
    """A real `textclf tune` process: the first trial shows what train shows about the data, the others
    only their progress line."""
    import subprocess

    done = subprocess.run(["textclf", "tune", "--data.path", "data/trec", "--encoder", "bag", "--trials", "3",
                           "--output", str(tmp_path / "s"), *TRIAL], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert out.count("data ready in") == 1 and out.count("parameters: ") == 1, out
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("trial ")] == \
        ["trial   0", "trial   1", "trial   2"]
    assert "against a 30m00s budget, 3 trial(s) this call\n" in out  # no --config: train's --data.* flags


def test_no_trial_starts_that_would_pass_the_budget_and_an_overrun_is_reported(tmp_path, monkeypatch, capsys):
    from textclf.commands.tune import budget_line
    from textclf.tune.search import next_trial_fits

    assert next_trial_fits(50, [20, 30], 100) and not next_trial_fits(80, [20, 30], 100)
    assert budget_line(209, 60, 1) == ("wall time 3m29s against a 1m00s budget, 1 trial(s) this call: 2m29s over (a "
                                       "trial, once started, runs to its end; give a larger --budget or fewer "
                                       "--trainer.max_epochs)")
    assert budget_line(1150, 1200, 7) == "wall time 19m10s against a 20m00s budget, 7 trial(s) this call"
    monkeypatch.chdir(ROOT)
    # a trial that surely outlasts the 1 s budget on a fast machine too (a bag on 6 batches took "0s" there,
    # leaving room for a second): a GRU over every training batch
    args = ["tune", "--data.path", "data/trec", "--encoder", "gru", "--budget", "1s", "--trials", "3",
            "--output", str(tmp_path / "s"), *TRIAL, "--trainer.limit_train_batches", "1.0"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "against a 0m01s budget, 1 trial(s) this call" in out  # the first trial used the budget: no second


def test_a_continued_search_draws_new_parameters_not_the_first_calls_again(tmp_path, monkeypatch):
    """Two calls of 2 trials each: the second call's first draw differs from the first call's (a sampler
    seeded alike would repeat it, as a Ctrl-C and rerun did)."""
    import optuna

    monkeypatch.chdir(ROOT)
    out = tmp_path / "s"
    args = ["tune", "--config", "configs/trec.yaml", "--encoder", "bag", "--budget", "5m", "--output", str(out), *TRIAL,
            "--trials", "2"]
    assert main(args) == 0 and main(args) == 0
    trials = optuna.load_study(study_name="textclf", storage=f"sqlite:///{out / 'study.db'}").trials
    assert len(trials) == 4 and trials[1].params != trials[2].params  # trial 0: the config as it is


def test_a_search_on_data_that_does_not_exist_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "s"
    code = main(["tune", "--data.path", str(tmp_path / "missing.csv"), "--encoder", "bag", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "missing.csv does not exist" in err and "Trial" not in err
    assert not out.exists()
