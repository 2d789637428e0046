"""What textclf prints: logging, set up once for the CLI and the Python API alike, and wall times as
people read them."""

from __future__ import annotations

import logging
import os
import sys


def quiet_libraries(debug: bool = False, own_logger_only: bool = False) -> None:
    """textclf's own lines at INFO (the data summary, ...); the libraries' only when they are errors, and
    no progress bars from datasets, unless `debug`. The CLI sets up the root logger; the Python API
    (`own_logger_only`) only the "textclf" logger, and only when the program has not set up logging itself."""
    if not own_logger_only:
        logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, format="%(message)s")
    elif not logging.getLogger().handlers and not logging.getLogger("textclf").handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger("textclf").addHandler(handler)
        logging.getLogger("textclf").setLevel(logging.INFO)
    if not debug:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
        for name in ("datasets", "fsspec", "httpx", "huggingface_hub", "urllib3", "filelock", "lightning.pytorch",
                     "lightning.fabric", "lightning"):
            logging.getLogger(name).setLevel(logging.ERROR)
        # datasets reads these when imported; `predict` on texts never imports it (a slow import)
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("DATASETS_VERBOSITY", "error")
        if "datasets" in sys.modules:  # already imported (main() called in process): tell it directly
            datasets = sys.modules["datasets"]
            datasets.disable_progress_bars()
            datasets.logging.set_verbosity_error()


def clock(seconds: float) -> str:
    """`3m05s`, or `1h02m` from an hour on (compare's ETA, tune's wall time against its budget)."""
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m{s:02d}s"
