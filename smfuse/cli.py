"""The ``smfuse`` command line.

::

    smfuse fuse A B -o FUSED [--mask-out MASK] [--weights W] [--tile N]
    smfuse initial-mask A B -o MASK
    smfuse metrics A B FUSED [--json]
    smfuse evaluate --dataset lytro (--method NAME | --folder DIR) [-o CSV]
    smfuse train [--config quick|full|fast] --out DIR [--resume] [--set KEY=VALUE ...]
        (also under ``torchrun --nproc_per_node=N``: data-parallel, see smfuse.distributed)
    smfuse reproduce [--profile quick|full]
    smfuse site -o DIR          (the committed notebooks and results as a static site)
    smfuse course -o DIR        (student copies of the notebooks: solution cells removed)

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

    from .fuse import fuse, load_model

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
        from .baselines import get_baseline

        table = ev.evaluate_method(args.dataset, get_baseline(args.method), limit=args.limit, out_csv=out,
                                   progress=not args.quiet)
    print(table.tail(1).to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def _parse_set(items: list[str]) -> dict:
    from dataclasses import fields

    from .train import TrainConfig

    types = {f.name: f.type for f in fields(TrainConfig)}
    out = {}
    for item in items:
        if "=" not in item:
            raise CLIError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        if k not in types:
            raise CLIError(f"--set: unknown training option {k!r}; known: {', '.join(types)}")
        t = str(types[k])
        try:
            if v.lower() == "none":
                out[k] = None
            elif t.startswith("int"):
                out[k] = int(v)
            elif t.startswith("float"):
                out[k] = float(v)
            else:
                out[k] = v
        except ValueError:
            raise CLIError(f"--set {k}: cannot read {v!r} as {t}") from None
    return out


def cmd_train(args) -> int:
    from .train import get_config, train

    cfg = get_config(args.config, **_parse_set(args.set or []))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # started by torchrun: one process of several
        from .distributed import cleanup, setup

        rank = setup(device=cfg.device)[0]
        try:
            res = train(cfg, args.out, resume=args.resume, progress=not args.quiet)
        except BaseException:
            cleanup(wait=False)
            raise
        cleanup()
        if rank != 0:
            return 0
    else:
        res = train(cfg, args.out, resume=args.resume, progress=not args.quiet)
    print(f"trained {res['steps']} steps in {res['seconds']:.1f} s; "
          f"MF/MI agreement {res['agreement'].mean():.4f} (min {res['agreement'].min():.4f}); "
          f"weights: {Path(args.out) / 'final.pt'}")
    return 0


def cmd_reproduce(args) -> int:
    from .reproduce import run

    return run(profile=args.profile, out=args.out, only=args.only)


def cmd_site(args) -> int:
    from .site import build_site

    b = build_site(args.output, root=args.root)
    print(f"site: {len(b.pages)} pages ({len(b.notebooks)} notebooks), {b.images} images, "
          f"built in {b.seconds:.1f} s: {b.out_dir / 'index.html'}")
    return 0


def cmd_course(args) -> int:
    from .course import write_course

    c = write_course(args.output, notebooks_dir=args.notebooks)
    print(f"course: {len(c.notebooks)} student notebooks, {c.exercises} exercises, "
          f"{c.solutions_removed} solution cells removed: {c.out_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="smfuse", description="SMFuse multi-focus image fusion (replication).")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fuse", help="fuse two multi-focus sources")
    f.add_argument("a", help="first source (near focus)")
    f.add_argument("b", help="second source (far focus)")
    f.add_argument("-o", "--output", required=True, help="fused image (same dtype as the sources)")
    f.add_argument("--mask-out", help="also write the binary mask MF (8-bit 0/255; 255 = second source)")
    f.add_argument("--weights", help="our checkpoint path, or official:PATH for the authors' checkpoint.zip "
                                     "(default: the weights shipped with smfuse)")
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
    e.add_argument("--dataset", default="lytro")
    e.add_argument("--method", help="a baseline name (see smfuse.baselines)")
    e.add_argument("--folder", help="a folder of fused images")
    e.add_argument("--limit", type=int)
    e.add_argument("-o", "--output", help="CSV table (one row per image and a mean row)")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("train", help="self-supervised training")
    t.add_argument("--config", default="full", help="quick, full or fast")
    t.add_argument("--out", required=True, help="run folder (log.csv, checkpoints)")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a TrainConfig field")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=cmd_train)

    r = sub.add_parser("reproduce", help="run every notebook into results/")
    r.add_argument("--profile", default="quick", choices=["quick", "full"])
    r.add_argument("--out", default="results")
    r.add_argument("--only", nargs="*", help="notebook numbers or names to run")
    r.set_defaults(func=cmd_reproduce)

    s = sub.add_parser("site", help="render the committed notebooks and results into a static site")
    s.add_argument("-o", "--output", required=True, help="folder for the site (new, empty, or an earlier site)")
    s.add_argument("--root", help="checkout to render (default: the one holding this package)")
    s.set_defaults(func=cmd_site)

    c = sub.add_parser("course", help="write student copies of the notebooks (every solution cell removed)")
    c.add_argument("-o", "--output", required=True, help="folder for the student notebooks")
    c.add_argument("--notebooks", help="folder of notebooks (default: notebooks/ of this checkout)")
    c.set_defaults(func=cmd_course)
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
