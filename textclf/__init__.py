"""textclf: train, compare and serve neural text classifiers."""

__version__ = "0.1.0"

__all__ = ["load_classifier", "__version__"]


def load_classifier(path: str, device: str = "cpu", quantize: bool = False, precision: str = "fp32"):
    """Load a trained checkpoint for prediction: `load_classifier("runs/x/best.ckpt").predict(["text"])`.
    (Imports torch only when called; see textclf.predict.load_classifier.)"""
    from textclf.predict import load_classifier as _load

    return _load(path, device=device, quantize=quantize, precision=precision)
