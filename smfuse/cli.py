"""The ``smfuse`` command line.

::

    smfuse fuse A B -o FUSED [--mask-out MASK] [--weights SPEC] [--tile N]
    smfuse initial-mask A B -o MASK
    smfuse metrics A B FUSED [--json]
    smfuse evaluate --dataset lytro (--method NAME | --folder DIR) [-o CSV]
    smfuse train [--config quick|full|fast] --out DIR [--resume] [--set KEY=VALUE ...]
        (also as ``torchrun --nproc_per_node=N -m smfuse.cli train ...``: data-parallel,
        the CPU threads split between the processes; see smfuse.distributed)
    smfuse study [--arms a b ...] [--seeds 0 1 2] [--jobs 2]
    smfuse reproduce [--profile quick|full] [--only NN ...] [-p KEY=VALUE ...] [--grid KEY=V1,V2 ...]
    smfuse data list
    smfuse data fetch NAME ... | all

Every error is one line on stderr (``smfuse: error: ...``) with exit status 2 and no
output file left behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["main"]


class CLIError(Exception):
    """An error to report to the user in one line."""


def _check_out(path: str, what: str) -> Path:
    from .io import _WRITABLE

    p = Path(path)
    if p.suffix.lower() not in _WRITABLE:
        raise CLIError(f"{what} {p}: unknown image format {p.suffix!r} (use .png, .tif, .jpg or .bmp)")
    if not p.parent.is_dir():
        raise CLIError(f"{what} {p}: folder {p.parent} does not exist")
    return p


def _read_pair(a: str, b: str):
    from .io import check_pair, read_image

    ia, ib = read_image(a), read_image(b)
    check_pair(ia, ib, names=(a, b))
    return ia, ib


def _write_all(items: list[tuple[Path, object]]) -> None:
    """Write several images; if any fails, remove the ones already written."""
    from .io import write_image

    done: list[Path] = []
    try:
        for path, img in items:
            write_image(path, img)
            done.append(path)
    except BaseException:
        for p in done:
            p.unlink(missing_ok=True)
        raise


def cmd_fuse(args) -> int:
    import numpy as np

    from .fuse import fuse
    from .weights import load_model

    out = _check_out(args.output, "output")
    mask_out = _check_out(args.mask_out, "mask output") if args.mask_out else None
    a, b = _read_pair(args.a, args.b)
    if a.dtype == np.uint16 and out.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        raise CLIError(f"output {out}: 16-bit sources need a .png or .tif output")
    model = load_model(args.weights)
    res = fuse(a, b, model, tile=args.tile)
    items = [(out, res.fused)]
    if mask_out:
        items.append((mask_out, (res.mask * 255).astype(np.uint8)))
    _write_all(items)
    return 0


def cmd_initial_mask(args) -> int:
    import numpy as np

    from .guided_block import initial_mask
    from .io import to_gray

    out = _check_out(args.output, "output")
    a, b = _read_pair(args.a, args.b)
    mi = initial_mask(to_gray(a), to_gray(b), r=args.r, eps=args.eps, blur_size=args.blur)
    _write_all([(out, (mi * 255).astype(np.uint8))])
    return 0


def cmd_metrics(args) -> int:
    from .io import check_pair, read_image
    from .metrics import compute_all

    a, b = _read_pair(args.a, args.b)
    f = read_image(args.fused)
    check_pair(a, f, names=(args.a, args.fused))
    values = compute_all(a, b, f)
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        width = max(len(k) for k in values)
        for k, v in values.items():
            print(f"{k:<{width}}  {v:.6f}")
    return 0


def cmd_evaluate(args) -> int:
    from . import evaluate as ev

    if bool(args.method) == bool(args.folder):
        raise CLIError("give exactly one of --method NAME or --folder DIR")
    out = Path(args.output) if args.output else None
    if out is not None and not out.parent.is_dir():
        raise CLIError(f"output {out}: folder {out.parent} does not exist")
    if args.folder:
        if not Path(args.folder).is_dir():
            raise CLIError(f"--folder {args.folder}: not a folder")
        table = ev.evaluate_folder(args.dataset, args.folder, out_csv=out, progress=not args.quiet)
    else:
        table = ev.evaluate_method(args.dataset, args.method, limit=args.limit, out_csv=out,
                                   progress=not args.quiet)
    print(table.tail(1).to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def cmd_train(args) -> int:
    from . import distributed
    from .train import get_config, parse_overrides, train

    overrides = parse_overrides(args.set or [])
    if distributed.is_launched():  # one process of several, started by torchrun
        rank, world, res = distributed.run(args.config, overrides, args.out, resume=args.resume,
                                           overwrite=args.overwrite, progress=not args.quiet, backend=args.backend)
        if rank != 0:
            return 0
    else:
        if args.backend:
            raise CLIError("--backend applies only under torchrun (WORLD_SIZE > 1)")
        world = 1
        res = train(get_config(args.config, **overrides), args.out, resume=args.resume, overwrite=args.overwrite,
                    progress=not args.quiet)
    on = f" on {world} processes" if world > 1 else ""
    steps_total = get_config(args.config, **overrides).steps
    if res["steps"] < steps_total:
        print(f"stopped at step {res['steps']} of {steps_total}{on} in {res['seconds']:.1f} s; continue with "
              f"--resume: {Path(args.out) / 'checkpoint.pt'}")
        return 0
    print(f"trained {res['steps']} steps{on} in {res['seconds']:.1f} s; "
          f"MF/MI agreement {res['agreement'].mean():.4f} (min {res['agreement'].min():.4f}); "
          f"weights: {Path(args.out) / 'final.pt'}")
    return 0


def cmd_study(args) -> int:
    from .study import run_study

    run_study(arms=args.arms, seeds=args.seeds, jobs=args.jobs, work=args.work, results=args.results)
    return 0


def cmd_reproduce(args) -> int:
    from .reproduce import parse_assignments, run, run_grid

    params = parse_assignments(args.param or [], "-p")
    if args.grid:
        return run_grid(parse_assignments(args.grid, "--grid", many=True), profile=args.profile, out=args.out,
                        only=args.only, parameters=params)
    return run(profile=args.profile, out=args.out, only=args.only, parameters=params,
               fetch=args.profile == "full" and not args.no_fetch)


def cmd_data(args) -> int:
    from . import fetch

    if args.action == "list":
        root = fetch.data_folder()
        print(f"data folder: {root}" + ("" if root.is_dir() else " (does not exist yet)"))
        print(f"{'set':<11} {'state':<8} {'files':>9} {'size':>9}  folder")
        for name in fetch.SETS:
            st = fetch.set_status(name, root)
            state = st["state"] if st["state"] != "partial" else "partial"
            print(f"{name:<11} {state:<8} {st['present']:>4}/{st['files']:<4} {fetch._size(st['bytes']):>9}  "
                  f"{fetch.name_folder(name)}/")
        print("fetch with: smfuse data fetch NAME ... | all")
        return 0
    fetch.fetch(args.names, progress=not args.quiet)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .methods import method_names

    p = argparse.ArgumentParser(prog="smfuse", description="SMFuse multi-focus image fusion (replication).")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fuse", help="fuse two multi-focus sources")
    f.add_argument("a", help="first source (near focus)")
    f.add_argument("b", help="second source (far focus)")
    f.add_argument("-o", "--output", required=True, help="fused image (same dtype as the sources)")
    f.add_argument("--mask-out", help="also write the binary mask MF (8-bit 0/255; 255 = second source)")
    f.add_argument("--weights", help="paper or code (our weights for that loss variant, from SMFUSE_WEIGHTS_DIR "
                                     "or shipped with smfuse), official[:PATH][@EPOCH] (the authors' checkpoint.zip), "
                                     "or the path of one of our checkpoints (default: paper)")
    f.add_argument("--tile", type=int, default=512, help="tile side for large images (default 512)")
    f.set_defaults(func=cmd_fuse)

    m = sub.add_parser("initial-mask", help="write the guided block's initial mask MI (0/255)")
    m.add_argument("a")
    m.add_argument("b")
    m.add_argument("-o", "--output", required=True)
    m.add_argument("--r", type=int, default=5, help="guided filter radius (5)")
    m.add_argument("--eps", type=float, default=0.3, help="guided filter eps (0.3)")
    m.add_argument("--blur", type=int, default=7, help="mean filter size (7)")
    m.set_defaults(func=cmd_initial_mask)

    q = sub.add_parser("metrics", help="print every fusion metric for one triple")
    q.add_argument("a")
    q.add_argument("b")
    q.add_argument("fused")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=cmd_metrics)

    e = sub.add_parser("evaluate", help="score a method or a folder of fused results over a data set")
    e.add_argument("--dataset", default="lytro",
                   help="a data set name (lytro, grayscale, nyud100_gt, train, synthetic) or a folder of your own "
                        "pairs (X_A/X_B, X_1/X_2, or subfolders A/ and B/; see smfuse.data.load_folder)")
    e.add_argument("--method", metavar="NAME", help=f"a fusion method: {', '.join(method_names())}")
    e.add_argument("--folder", help="a folder of fused images")
    e.add_argument("--limit", type=int)
    e.add_argument("-o", "--output", help="CSV table (one row per image and a mean row)")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("train", help="self-supervised training")
    t.add_argument("--config", default="full", help="quick, full, fast or authors (train on your own pairs: "
                                                     "--set dataset=FOLDER)")
    t.add_argument("--out", required=True, help="run folder (log.csv, checkpoints)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint.pt")
    t.add_argument("--overwrite", action="store_true", help="start over in an --out that already holds a run")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a TrainConfig field")
    t.add_argument("--backend", choices=["gloo", "nccl"],
                   help="under torchrun only: the process group's backend (default: nccl on CUDA, else gloo)")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("study", help="train every arm x seed of the training study (resumable)")
    s.add_argument("--arms", nargs="*", help="arms to train (default: all; see smfuse.study.ARMS)")
    s.add_argument("--seeds", nargs="*", type=int, help="seeds (default 0 1 2)")
    s.add_argument("--jobs", type=int, default=1, help="runs side by side, threads split between them (default 1)")
    s.add_argument("--work", default="runs/study", help="checkpoints of runs in progress (default runs/study)")
    s.add_argument("--results", default="results/study", help="finished runs (default results/study)")
    s.set_defaults(func=cmd_study)

    r = sub.add_parser("reproduce", help="run the notebooks (full profile into results/, quick into runs/)")
    r.add_argument("--profile", default="quick", choices=["quick", "full"])
    r.add_argument("--out", help="results folder (default: results/ for full, runs/results-quick/ for quick)")
    r.add_argument("--only", nargs="*", help="notebook numbers or names to run")
    r.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="a notebook parameter (dataset, weights, methods, seed), passed to every selected notebook")
    r.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="run once per value (per combination, if repeated) and collect every run's claims "
                        "into OUT/claims_grid.csv")
    r.add_argument("--no-fetch", action="store_true", help="full profile: do not fetch the real data first")
    r.set_defaults(func=cmd_reproduce)

    d = sub.add_parser("data", help="list or fetch the real data sets (pinned sources, sha256-checked)")
    dsub = d.add_subparsers(dest="action", required=True)
    dl = dsub.add_parser("list", help="each set: present / partial / missing, and its size")
    dl.set_defaults(func=cmd_data)
    df = dsub.add_parser("fetch", help="download sets into the data folder ($SMFUSE_DATA, default data/)")
    df.add_argument("names", nargs="+", metavar="NAME", help="lytro, grayscale, nyud100_gt, authors, reference, "
                                                             "mfifb, or all")
    df.add_argument("--quiet", action="store_true", help="no progress bar")
    df.set_defaults(func=cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ValueError, OSError) as exc:
        print(f"smfuse: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("smfuse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
