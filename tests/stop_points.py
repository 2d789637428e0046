"""A callback for tests that stop a real training process at a known point (tests/test_faults.py): given to
`textclf train` with `--trainer.callbacks`, it writes a flag file when training reaches that point and then
waits there, so that a signal sent once the flag exists is known to land at that point."""

import os
import time

import lightning as L


class PauseMidEpoch(L.Callback):
    """After batch `batch` (from 0) of epoch `epoch` (from 1): write `flag` and wait up to `wait` seconds.
    Only once: a resumed run that passes the point again, with the flag present, goes on."""

    def __init__(self, flag: str, epoch: int = 2, batch: int = 20, wait: float = 120.0):
        self.flag, self.epoch, self.batch, self.wait = flag, epoch, batch, wait

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.current_epoch + 1 == self.epoch and batch_idx == self.batch and not os.path.exists(self.flag):
            with open(self.flag, "w") as f:
                f.write(f"epoch {self.epoch} batch {self.batch}\n")
            time.sleep(self.wait)
