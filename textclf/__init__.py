"""textclf: train, compare and serve neural text classifiers."""

__version__ = "0.1.0"

__all__ = ["load_classifier", "train", "__version__"]


def __getattr__(name: str):
    """`from textclf import load_classifier, train` (textclf.serve.loading.load_classifier,
    textclf.training.api.train), imported on first use so that importing textclf, e.g. for the CLI's
    argument parsing, does not load torch."""
    if name == "load_classifier":
        from textclf.serve.loading import load_classifier

        return load_classifier
    if name == "train":
        from textclf.training.api import train

        return train
    raise AttributeError(f"module 'textclf' has no attribute {name!r}")
