"""Reaching the Hugging Face Hub for a dataset or model named by hub id: on a machine without a network
the user is told at once, in one line (the callers word it), not after a minute of the download's
retries, each printed twice; those retry lines only with --verbose."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

PROXIES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def before_hub_download() -> None:
    """Quiet huggingface_hub's retry warnings (unless --verbose), and raise ConnectionError at once when the
    Hub's host name does not resolve and no proxy is set (a proxy may reach it where DNS does not)."""
    import huggingface_hub.utils.logging as hub_logging

    if os.environ.get("TEXTCLF_VERBOSE") != "1":
        hub_logging.set_verbosity_error()
    if any(os.environ.get(v) for v in PROXIES) or os.environ.get("HF_HUB_OFFLINE") == "1":
        return
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError as err:
        raise ConnectionError(f"cannot resolve {host}: no network") from err
