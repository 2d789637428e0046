"""`textclf serve CKPT`: an HTTP server answering as predict does (textclf.serve.http)."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from textclf.commands import flags
from textclf.errors import TextclfError


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf serve", description="An HTTP server that answers POST /predict as textclf predict "
                     "does (OpenAPI docs at /docs).")
    p.add_argument("checkpoint")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="port, 1 to 65535 (default 8000)")
    p.add_argument("--max_batch", type=flags.positive_int, default=64,
                   help="texts of concurrent requests run as one batch, at most (default 64)")
    p.add_argument("--max_wait_ms", type=_milliseconds, default=5.0,
                   help="how long a batch waits for more requests before it runs (default 5 ms)")
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU)")
    flags.add_device(p)
    args = p.parse_args(argv)
    flags.require("serve", ("fastapi", "uvicorn", "fastapi_offline"),
                  "pip install 'fastapi>=0.110' 'uvicorn>=0.29' 'fastapi-offline>=1.7' (or the .[serve] extra)")
    from textclf.serve.http import serve
    from textclf.serve.loading import load_classifier
    from textclf.training.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    _check_can_listen(args.host, args.port)
    clf = load_classifier(args.checkpoint, device=args.device, quantize=args.quantize)
    device = getattr(clf, "device", "cpu")
    print(f"serving {args.checkpoint} ({', '.join(clf.label_names)}) on {device}, at http://{args.host}:{args.port} "
          f"(docs: /docs); Ctrl-C stops", file=sys.stderr, flush=True)
    serve(clf, args.host, args.port, args.max_batch, args.max_wait_ms, name=os.path.basename(args.checkpoint))
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return int(text)


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected milliseconds, 0 or more, got {text!r}")
    return value


def _check_can_listen(host: str, port: int) -> None:
    """A one-line error when the address cannot be listened on (in use, not this machine's), before the model loads."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            sock.bind(infos[0][4])
    except OSError as err:
        raise TextclfError(f"cannot listen on {host}:{port}: {err.strerror or err}: choose another --port or --host") from err
