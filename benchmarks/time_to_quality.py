"""Time to quality of a training run, read from its log: when MF/MI agreement first reaches a target.

    python benchmarks/time_to_quality.py RUN_DIR [--target 0.95] [--name NAME] [--threads N]

RUN_DIR is a folder written by ``smfuse train`` (``log.csv`` with ``seconds`` and the MF/MI
agreement on the training pairs every ``eval_every`` steps, ``config.json``). Prints the
curve, and records ``train.time_to_<target>.<name>`` (seconds of training, evaluation
excluded from the rate but not from the wall time) in results/benchmarks.csv, with the
step and the configuration in the notes. A run that never reaches the target records
nothing and says so.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import record_result  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--name", help="benchmark name suffix (default: the run's variant)")
    ap.add_argument("--threads", type=int, required=True, help="CPU threads the run used")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)
    run = Path(args.run_dir)
    cfg = json.loads((run / "config.json").read_text())
    rows = [r for r in csv.DictReader(open(run / "log.csv")) if r["agreement"]]
    if not rows:
        raise SystemExit(f"{run}: the log has no MF/MI agreement rows (eval_every was 0?)")
    hit = None
    for r in rows:
        print(f"step {int(r['step']):>5}  {float(r['seconds']) / 60:6.1f} min  MF/MI {float(r['agreement']):.4f}")
        if hit is None and float(r["agreement"]) >= args.target:
            hit = r
    if hit is None:
        print(f"never reached {args.target}")
        return 1
    minutes = float(hit["seconds"]) / 60
    print(f"reached {args.target} at step {hit['step']} after {minutes:.1f} min")
    if not args.no_record:
        name = args.name or cfg["variant"]
        notes = (f"wall time of smfuse train until MF/MI >= {args.target} on the 20 training pairs "
                 f"(step {hit['step']}); "
                 f"variant {cfg['variant']} lr {cfg['lr']} {cfg['lr_schedule']} over {cfg['steps']} steps; "
                 f"batch {cfg['batch_size']} of {cfg['patch_size']}x{cfg['patch_size']}; "
                 f"precision {cfg.get('precision', 'fp32')}")
        record_result(f"train.time_to_{args.target}.{name}", float(hit["seconds"]), "s", median_of=1,
                      threads=args.threads, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
