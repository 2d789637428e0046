"""textclf/model/speed/switches.py: speed paths are process-wide runtime choices, restored after `switched`,
and never saved with a model."""

import pytest
import torch

from textclf.model import speed
from textclf.errors import TextclfError


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


def test_a_checkpoint_holds_no_speed_switch(trained_run):
    ckpt = torch.load(trained_run[0] / "best.ckpt", weights_only=True)
    saved = {**ckpt["hyper_parameters"], **ckpt["textclf"]["network"], **ckpt["textclf"]["network"]["encoder_options"]}
    assert not {"packed", "side_by_side", "threaded_directions", "packed_rnn"} & set(saved)
