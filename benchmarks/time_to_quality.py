"""Time to quality of training runs, read from their logs: when MF/MI agreement first reaches a target.

    python benchmarks/time_to_quality.py RUN_DIR [RUN_DIR ...] [--target 0.95] [--name NAME] --threads N

Each RUN_DIR is a folder written by ``smfuse train`` (``log.csv`` with ``seconds`` and the
MF/MI agreement on the training pairs every ``eval_every`` steps, ``config.json``); give one
per seed of the same configuration. Prints each curve, and records
``train.time_to_<target>.<name>``, the median over the runs of the wall time of
``smfuse train`` until the target (evaluations included), in results/benchmarks.csv, with
every run's seed, step and seconds and the configuration in the notes. If a run never
reaches the target nothing is recorded, and the script says so.
"""

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import record_result  # noqa: E402


def first_hit(run: Path, target: float) -> dict | None:
    """The first log row of ``run`` whose MF/MI agreement reaches ``target`` (None if none); prints the curve."""
    rows = [r for r in csv.DictReader(open(run / "log.csv")) if r["agreement"]]
    if not rows:
        raise SystemExit(f"{run}: the log has no MF/MI agreement rows (eval_every was 0?)")
    print(run)
    hit = None
    for r in rows:
        print(f"  step {int(r['step']):>5}  {float(r['seconds']) / 60:6.1f} min  MF/MI {float(r['agreement']):.4f}")
        if hit is None and float(r["agreement"]) >= target:
            hit = r
    return hit


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--name", help="benchmark name suffix (default: the runs' variant)")
    ap.add_argument("--threads", type=int, required=True, help="CPU threads each run used")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)
    runs = [Path(d) for d in args.run_dirs]
    cfgs = [json.loads((run / "config.json").read_text()) for run in runs]
    differ = sorted(k for k in cfgs[0] if k not in ("seed", "stop_at") and any(c.get(k) != cfgs[0][k] for c in cfgs))
    if differ:
        raise SystemExit(f"the runs differ in more than the seed ({', '.join(differ)}): give runs of one configuration")
    hits = [first_hit(run, args.target) for run in runs]
    missed = [str(run) for run, hit in zip(runs, hits) if hit is None]
    if missed:
        print(f"never reached {args.target}: {', '.join(missed)}; nothing recorded")
        return 1
    secs = [float(h["seconds"]) for h in hits]
    med = statistics.median(secs)
    each = "; ".join(f"seed {c['seed']}: step {h['step']} after {s:.0f} s" for c, h, s in zip(cfgs, hits, secs))
    print(f"reached {args.target}: {each}; median {med / 60:.1f} min")
    if not args.no_record:
        cfg = cfgs[0]
        name = args.name or cfg["variant"]
        notes = (f"wall time of smfuse train until MF/MI >= {args.target} on the 20 training pairs, median of "
                 f"{len(runs)} run(s) ({each}); "
                 f"variant {cfg['variant']} lr {cfg['lr']} {cfg['lr_schedule']} over {cfg['steps']} steps; "
                 f"batch {cfg['batch_size']} of {cfg['patch_size']}x{cfg['patch_size']}; "
                 f"precision {cfg.get('precision', 'fp32')}")
        record_result(f"train.time_to_{args.target}.{name}", med, "s", median_of=len(runs),
                      threads=args.threads, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
