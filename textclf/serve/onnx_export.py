"""`textclf export CKPT --format onnx --output model.onnx`: a network checkpoint as an ONNX file.

The network is exported whole (embedding, encoder, pooling, head: token ids and lengths in, logits out)
with dynamic batch and length axes, by torch's TorchScript-based exporter with the speed switches off
(the plain path, which traces into plain ONNX operators). Everything else prediction needs goes into the
file's metadata: the tokenizer JSON, the label names, the preprocessing (max_length, truncation) and the
network config, so `load_classifier("model.onnx")` (textclf.serve.onnx_model: onnxruntime only, no torch
model) predicts with nothing beside it. The export checks itself: onnxruntime's logits on sample texts
must equal the checkpoint's to 1e-4, or the file is not written.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

from textclf.errors import TextclfError
from textclf.serve.onnx_model import METADATA, onnx_session

OPSET = 18
TOLERANCE = 1e-4
# sample texts of the self-check: lengths from one token to past max_length
CHECK_TEXTS = ["good", "a film with no surprises at all", "the plot is thin , but the acting is wonderful and the "
               "score lifts every scene", " ".join(["long"] * 600)]


def export_onnx(checkpoint: str, output: str, overwrite: bool = False) -> dict:
    """Write the ONNX file of a network checkpoint; returns what was checked."""
    import onnx
    import torch

    from textclf.files import check_output, write_whole
    from textclf.model import speed
    from textclf.model.checkpoint import network_from, read_checkpoint
    from textclf.serve.classifier import Classifier

    check_output(output, overwrite, inputs=[checkpoint])
    ckpt = read_checkpoint(checkpoint)
    if "network" not in ckpt["textclf"]:
        raise TextclfError(f"{checkpoint} is a {ckpt['textclf'].get('kind', 'non-network')} model: only a single "
                           "network exports to ONNX")
    model, archive = network_from(ckpt, checkpoint)
    reference = Classifier(model, archive, fold=False)
    batch = reference.encode(CHECK_TEXTS)[np.arange(len(CHECK_TEXTS))]
    ids, lengths = batch["input_ids"], batch["lengths"]
    with speed.switched(threaded_directions=False, fast_pooling=False, fast_dropout=False, packed_rnn=False), \
            torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notices about tracing; the self-check below decides
        expected = model(ids, lengths).numpy()
        checked = {}

        def write(tmp: str) -> None:
            torch.onnx.export(model, (ids, lengths), tmp, input_names=["input_ids", "lengths"], output_names=["logits"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "length"}, "lengths": {0: "batch"},
                                            "logits": {0: "batch"}}, opset_version=OPSET, dynamo=False)
            proto = onnx.load(tmp)
            meta = proto.metadata_props.add()
            meta.key, meta.value = METADATA, json.dumps(archive.to_dict(), ensure_ascii=False)
            onnx.save(proto, tmp)
            got = onnx_session(tmp).run(None, {"input_ids": ids.numpy(), "lengths": lengths.numpy()})[0]
            diff = float(np.abs(got - expected).max())
            if not diff <= TOLERANCE:
                raise TextclfError(f"the ONNX model's logits differ from the checkpoint's by {diff:.2g} (> {TOLERANCE}): "
                                   "not written; please report this encoder's config")
            checked["max_abs_diff"] = diff

        write_whole(output, write)
    return {"output": output, "max_abs_diff": checked["max_abs_diff"], "bytes": os.path.getsize(output),
            "encoder": archive.network.encoder}
