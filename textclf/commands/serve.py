"""`textclf serve CKPT`: an HTTP server answering as predict does (textclf.serve.http)."""

from __future__ import annotations

import os
import sys

from textclf.commands import flags


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf serve", description="An HTTP server that answers POST /predict as textclf predict "
                     "does (OpenAPI docs at /docs).")
    p.add_argument("checkpoint")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max_batch", type=flags.positive_int, default=64,
                   help="texts of concurrent requests run as one batch, at most (default 64)")
    p.add_argument("--max_wait_ms", type=float, default=5.0,
                   help="how long a batch waits for more requests before it runs (default 5 ms)")
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU)")
    args = p.parse_args(argv)
    flags.require("serve", ("fastapi", "uvicorn"), "pip install 'fastapi>=0.110' 'uvicorn>=0.29'")
    from textclf.serve.http import serve
    from textclf.serve.loading import load_classifier
    from textclf.train.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    clf = load_classifier(args.checkpoint, quantize=args.quantize)
    print(f"serving {args.checkpoint} ({', '.join(clf.label_names)}) on http://{args.host}:{args.port} "
          f"(docs: /docs); Ctrl-C stops", file=sys.stderr, flush=True)
    serve(clf, args.host, args.port, args.max_batch, args.max_wait_ms, name=os.path.basename(args.checkpoint))
    return 0
