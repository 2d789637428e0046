"""`textclf tune`: Optuna's TPE sampler over the options that matter most, one real `textclf train` run
per trial, pruned by Optuna's median pruner on per-epoch validation accuracy (from the second epoch, once
five trials have finished). The first trial is the config as it is, so the best is never worse than
training without a search, on validation. The test split is never scored during the search.

Everything lives in the output folder: study.db (Optuna's SQLite storage: a second call continues the
same study), trials/NNN/ (each trial's run directory: config, metrics and logs; only the best trial keeps
its best.ckpt, so a long search does not fill the disk), trials.csv, search.png (the search history), and
best.yaml, the best trial's whole config: `textclf train --config DIR/best.yaml` trains it again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import warnings

import lightning as L
import yaml

from textclf.errors import Interrupted, TextclfError
from textclf.model.encoders import encoder_class
from textclf.training.console import silenced
from textclf.training.run import train

log = logging.getLogger(__name__)

MANIFEST = "tune.json"


def search_space(encoder: str) -> dict[str, tuple]:
    """What is searched, as config keys: ("float", low, high, log) or ("choice", values). The options
    shared by every encoder, then the encoder's own."""
    if encoder == "pretrained":  # a published model: its rates, the new head's, and how its states are pooled
        return {"model.pretrained_lr": ("float", 1e-5, 2e-4, True), "model.lr": ("float", 1e-4, 1e-2, True),
                "model.weight_decay": ("float", 1e-3, 0.3, True), "model.dropout": ("float", 0.0, 0.5, False),
                "model.layer_decay": ("float", 0.6, 1.0, False), "data.batch_size": ("choice", [16, 32, 64]),
                "model.pooling": ("choice", ["mean", "cls", "max", "attention"])}
    space: dict[str, tuple] = {
        "model.lr": ("float", 5e-4, 1e-2, True),
        "model.weight_decay": ("float", 1e-3, 0.3, True),
        "model.dropout": ("float", 0.1, 0.6, False),
        "model.embedding_dropout": ("float", 0.0, 0.4, False),
        "model.word_dropout": ("float", 0.0, 0.3, False),
        "model.bigrams": ("choice", [0, 20000, 100000]),
        "model.embedding_dim": ("choice", [64, 128, 256]),
        "data.batch_size": ("choice", [32, 64, 128]),
    }
    if encoder in ("rnn", "lstm", "gru"):
        space["model.hidden_size"] = ("choice", [64, 128, 256])
        space["model.pooling"] = ("choice", ["max", "mean", "attention"])
    elif encoder == "transformer":
        space["model.num_layers"] = ("choice", [1, 2])
        space["model.num_heads"] = ("choice", [2, 4])
        space["model.pooling"] = ("choice", ["attention", "mean", "cls"])
    else:
        space["model.pooling"] = ("choice", ["mean", "max", "attention"])
    return space


def suggest(trial, encoder: str) -> dict[str, object]:
    """The trial's choices for every key of the search space."""
    params = {}
    for key, (kind, *spec) in search_space(encoder).items():
        if kind == "float":
            low, high, log = spec
            params[key] = trial.suggest_float(key, low, high, log=log)
        else:
            params[key] = trial.suggest_categorical(key, spec[0])
    return params


def checked_config(base: list[str], encoder: str):
    """The trials' shared config, parsed, with its data source loaded once: a bad flag or data that does
    not load is a one-line error before the search writes anything."""
    from textclf.training.arguments import parse_train_args

    cli = parse_train_args([*base, "--model.encoder", encoder])
    cli.datamodule.prepare_data()
    return cli.config


def starting_point(config, encoder: str) -> dict[str, object]:
    """The base config's own values of the searched keys (the encoder's defaults where unset), those
    inside the space: the first trial, so the search starts from what training without it would do."""
    from textclf.model.encoders import encoder_options
    from textclf.model.network import NetworkConfig

    # options the model leaves unset (None) take the encoder's defaults, and the network's own width
    defaults = {**encoder_options(encoder), "embedding_dim": NetworkConfig.embedding_dim}
    point = {}
    for key, (kind, *spec) in search_space(encoder).items():
        group, name = key.split(".", 1)
        value = config[group][name]
        if value is None:
            value = defaults.get(name)
        if kind == "float" and value is not None and spec[0] <= value <= spec[1]:
            point[key] = float(value)
        elif kind == "choice" and value in spec[0]:
            point[key] = value
    return point


class ReportValidation(L.Callback):
    """Each epoch's validation accuracy (multi-label: macro-F1) to the trial; the run stops early when the
    median pruner says so."""

    def __init__(self, trial):
        self.trial = trial
        self.pruned = False

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        key = "val_f1" if pl_module.multi_label else "val_acc"
        if trainer.sanity_checking or key not in trainer.callback_metrics:
            return
        self.trial.report(float(trainer.callback_metrics[key]), step=trainer.current_epoch + 1)
        if self.trial.should_prune():
            self.pruned = True
            trainer.should_stop = True


def tune(base: list[str], encoder: str, budget_seconds: int, output: str, max_trials: int | None = None,
         seed: int = 0) -> dict:
    """Search for `budget_seconds` (or `max_trials` trials) and write the output folder; returns the best trial."""
    import optuna

    encoder_class(encoder)
    config = checked_config(base, encoder)
    _claim(output, {"base": base, "encoder": encoder})
    # errors: a trial's own error is raised as it is, without Optuna's warning and traceback before it
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(
        study_name="textclf", storage=f"sqlite:///{os.path.abspath(os.path.join(output, 'study.db'))}",
        direction="maximize", load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    )
    # a sampler seeded anew for each call: the same seed again would draw the first call's parameters again
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    if not study.trials:
        study.enqueue_trial(starting_point(config, encoder))
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)  # a trial a killed call left running
    started = time.perf_counter()
    data_shown = False  # the first trial of this call shows the data lines as train would; the others don't repeat them

    def objective(trial) -> float:
        nonlocal data_shown
        params = suggest(trial, encoder)
        run_dir = os.path.join(output, "trials", f"{trial.number:03d}")
        args = [*base, "--model.encoder", encoder, "--run_dir", run_dir, "--trainer.enable_progress_bar", "false"]
        for key, value in params.items():
            args += [f"--{key}", str(value)]
        if os.path.isdir(run_dir) and os.listdir(run_dir):
            args.append("--overwrite")
        report = ReportValidation(trial)
        t0 = time.perf_counter()
        quiet = data_shown and os.environ.get("TEXTCLF_VERBOSE") != "1"
        data_shown = True
        # the first trial's warnings about the data (no test split, ...) are not repeated by every trial
        with silenced("textclf.data", "textclf.training", level=logging.ERROR) if quiet else contextlib.nullcontext():
            metrics = train(args, callbacks=[report], test=False)
        trial.set_user_attr("run_dir", run_dir)
        trial.set_user_attr("seconds", round(time.perf_counter() - t0, 1))
        trial.set_user_attr("epochs", metrics["epochs"])
        _progress(trial, metrics, report.pruned, study, started)
        if report.pruned:
            raise optuna.TrialPruned()
        return objective_of(metrics)

    this_call: list[float] = []  # seconds of each trial this call ran, to tell whether the next one fits

    def after_trial(study, trial) -> None:
        _keep_best_checkpoint(study, output)
        this_call.append(time.perf_counter() - started - sum(this_call))
        if not next_trial_fits(time.perf_counter() - started, this_call, budget_seconds):
            study.stop()

    try:
        study.optimize(objective, timeout=budget_seconds, n_trials=max_trials, callbacks=[after_trial])
    except Interrupted as stop:
        raise Interrupted(stop.signum, "interrupted: run the same command again to continue the search "
                                       f"(finished trials are kept in {output}/study.db)") from None
    summary = _write_results(study, output)
    return {**summary, "seconds": round(time.perf_counter() - started, 1), "budget_seconds": budget_seconds,
            "trials_this_call": len(this_call)}


def next_trial_fits(elapsed: float, seconds: list[float], budget: float) -> bool:
    """Whether one more trial, taking as long as this call's trials took on average, ends within the budget.
    (Pruned trials are shorter, so the mean of all of them is what the next one is expected to take.)"""
    return elapsed + sum(seconds) / len(seconds) <= budget


def _claim(output: str, recorded: dict) -> None:
    """An output folder serves one search: new, or a search with the same base flags and encoder (which
    the call continues); anything else is refused with nothing written."""
    path = os.path.join(output, MANIFEST)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            before = json.load(f)
        if before != recorded:
            raise TextclfError(f"--output {output} holds a search with other flags or another encoder: "
                               "choose another --output (or repeat that search's flags to continue it)")
        return
    if os.path.exists(output) and not os.path.isdir(output):
        raise TextclfError(f"--output {output} is a file: give a folder for the search")
    if os.path.isdir(output) and os.listdir(output):
        raise TextclfError(f"--output {output} holds files that are not a textclf search: choose another --output")
    os.makedirs(os.path.join(output, "trials"), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(recorded, f, indent=2)


def _keep_best_checkpoint(study, output: str) -> None:
    """Delete the checkpoints of every trial but the best finished one, and that one's last.ckpt (a trial is
    never resumed): a search runs many trials, and keeping every trial's checkpoints fills the disk."""
    import optuna

    trials = os.path.join(output, "trials")
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    keep = os.path.join(study.best_trial.user_attrs["run_dir"], "best.ckpt") if done else None
    for name in os.listdir(trials):
        run_dir = os.path.join(trials, name)
        for file in os.listdir(run_dir) if os.path.isdir(run_dir) else []:
            path = os.path.join(run_dir, file)
            if file.endswith(".ckpt") and path != keep:
                os.remove(path)


def objective_of(metrics: dict) -> float:
    """What tune maximises: validation accuracy, or validation macro-F1 for multi-label data."""
    return metrics["val"]["f1" if metrics.get("task") == "multi-label" else "acc"]


def _progress(trial, metrics: dict, pruned: bool, study, started: float) -> None:
    finished = [t for t in study.trials if t.value is not None]
    best = max([t.value for t in finished] + [objective_of(metrics)])
    word = "val macro-F1" if metrics.get("task") == "multi-label" else "val acc"
    state = f"pruned after epoch {metrics['epochs']}" if pruned else f"{word} {objective_of(metrics):.4f}"
    print(f"trial {trial.number:3d}: {state} in {trial.user_attrs['seconds']:.0f}s | best {best:.4f} | "
          f"elapsed {time.perf_counter() - started:.0f}s | "
          + ", ".join(f"{k.split('.', 1)[1]}={_short(v)}" for k, v in trial.params.items()), flush=True)


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _write_results(study, output: str) -> dict:
    """best.yaml (the best trial's config, to train again), trials.csv and search.png."""
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise TextclfError("no trial finished within the budget: give a larger --budget")
    best = study.best_trial
    with open(os.path.join(best.user_attrs["run_dir"], "config.yaml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    for key in ("run_dir", "overwrite", "resume"):
        config.pop(key, None)
    with open(os.path.join(best.user_attrs["run_dir"], "metrics.json"), encoding="utf-8") as f:
        objective = "validation macro-F1" if json.load(f).get("task") == "multi-label" else "validation accuracy"
    header = (f"# textclf tune: trial {best.number} of {len(study.trials)}, {objective} {best.value:.4f}\n"
              f"# Run: textclf train --config {os.path.join(output, 'best.yaml')}\n")
    with open(os.path.join(output, "best.yaml"), "w", encoding="utf-8") as f:
        f.write(header + yaml.safe_dump(config, sort_keys=False))
    study.trials_dataframe().to_csv(os.path.join(output, "trials.csv"), index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna marks its matplotlib plots experimental
        import matplotlib

        matplotlib.use("Agg")
        ax = optuna.visualization.matplotlib.plot_optimization_history(study)
        ax.set_ylabel(objective)
        ax.figure.savefig(os.path.join(output, "search.png"), dpi=120, bbox_inches="tight")
    summary = {"best_trial": best.number, "objective": objective, "value": best.value,
               ("val_f1" if "F1" in objective else "val_acc"): best.value, "params": best.params,
               "checkpoint": os.path.join(best.user_attrs["run_dir"], "best.ckpt"), "trials": len(study.trials),
               "complete": len(done), "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)}
    with open(os.path.join(output, "best.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    return summary
