"""textclf/model/speed/switches.py: speed paths are process-wide runtime choices, restored after `switched`,
and never saved with a model."""

import pytest
import torch

from textclf.errors import TextclfError
from textclf.model import speed


def test_switched_sets_for_the_block_and_restores_even_on_error():
    assert speed.enabled("threaded_directions") and not speed.enabled("packed_rnn")
    with pytest.raises(RuntimeError):
        with speed.switched(threaded_directions=False, packed_rnn=True):
            assert not speed.enabled("threaded_directions") and speed.enabled("packed_rnn")
            raise RuntimeError
    assert speed.enabled("threaded_directions") and not speed.enabled("packed_rnn")


def test_an_unknown_switch_names_the_known_ones():
    with pytest.raises(TextclfError, match="unknown speed switch 'turbo': choose one of threaded_directions"):
        speed.set_switch("turbo", True)


def test_no_speed_switch_is_saved_with_a_run(trained_run):
    """No switch, nor the format-1 names of two of them, in a checkpoint's hyperparameters, network config
    or encoder options, nor in the run's config.yaml."""
    import yaml

    run_dir = trained_run[0]
    ckpt = torch.load(run_dir / "best.ckpt", weights_only=True)
    saved = {**ckpt["hyper_parameters"], **ckpt["textclf"]["network"], **ckpt["textclf"]["network"]["encoder_options"]}
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    saved.update({key: None for section in config.values() if isinstance(section, dict) for key in section})
    forbidden = {*speed.names(), "packed", "side_by_side"}
    assert len(speed.names()) == 4 and not forbidden & set(saved)
