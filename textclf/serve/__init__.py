"""From a checkpoint to labels: `Classifier` and `load_classifier` (classifier.py), `evaluate`
(evaluate.py), int8 quantization (quantize.py)."""
