"""Copy a finished training run into the package as the shipped weights of one loss variant.

    python scripts/ship_weights.py RUN_DIR VARIANT

RUN_DIR is a folder written by ``smfuse train`` (``final.pt``, ``log.csv``, ``config.json``);
VARIANT is ``code`` or ``paper`` and must match the run's configuration. The checkpoint
keeps its training metadata (configuration, time, MF/MI agreement); the log travels beside
it as ``smfuse_<variant>.log.csv`` for the time-to-quality curve.
"""

import json
import shutil
import sys
from pathlib import Path

from smfuse.runtime.checkpoint import read_checkpoint
from smfuse.runtime.weights import PACKAGE_WEIGHTS_DIR as WEIGHTS_DIR


def main(run_dir: str, variant: str) -> None:
    run = Path(run_dir)
    state = read_checkpoint(run / "final.pt")
    cfg = state["meta"]["config"]
    if cfg["variant"] != variant:
        raise SystemExit(f"{run}: trained with variant {cfg['variant']!r}, not {variant!r}")
    WEIGHTS_DIR.mkdir(exist_ok=True)
    shutil.copyfile(run / "final.pt", WEIGHTS_DIR / f"smfuse_{variant}.pt")
    shutil.copyfile(run / "log.csv", WEIGHTS_DIR / f"smfuse_{variant}.log.csv")
    print(json.dumps({k: v for k, v in state["meta"].items() if k != "train_pairs"}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
