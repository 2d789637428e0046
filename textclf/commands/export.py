"""`textclf export CKPT --format onnx --output model.onnx` (textclf.serve.onnx_export)."""

from __future__ import annotations

from textclf.commands import flags


def run(argv: list[str]) -> int:
    p = flags.Parser(prog="textclf export", description="Export a checkpoint's network for other runtimes.")
    p.add_argument("checkpoint")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="onnx: token ids and lengths in, logits out, "
                   "dynamic batch and length; tokenizer, labels and preprocessing in the file's metadata")
    p.add_argument("--output", required=True, help="e.g. model.onnx")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = p.parse_args(argv)
    flags.require("export", ("onnx", "onnxruntime"), "pip install 'onnx>=1.16' 'onnxruntime>=1.18'")
    from textclf.serve.onnx_export import export_onnx
    from textclf.training.run_dir import check_not_being_replaced

    check_not_being_replaced(args.checkpoint)
    done = export_onnx(args.checkpoint, args.output, args.overwrite)
    print(f"{done['output']}: {done['encoder']} network, {done['bytes'] / 2**20:.1f} MiB; onnxruntime's logits within "
          f"{done['max_abs_diff']:.1g} of the checkpoint's. Use it like a checkpoint: textclf predict {done['output']} "
          "\"a text\"")
    return 0
