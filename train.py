"""The main job: `python train.py` trains a BiGRU on the bundled SST-2 (configs/sst2.yaml).

Takes the same flags as `textclf train`; with none, it uses configs/sst2.yaml.
"""

import sys

from textclf.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    if not any(a == "--config" or a.startswith("--config=") for a in args):
        args = ["--config", "configs/sst2.yaml", *args]
    sys.exit(main(["train", *args]))
