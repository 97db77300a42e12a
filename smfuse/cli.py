"""The ``smfuse`` command line.

::

    smfuse fuse A B -o FUSED [--mask-out MASK] [--weights SPEC] [--tile N] [--data-range W] [--quiet]
    smfuse initial-mask A B -o MASK [--data-range W]
    smfuse metrics A B FUSED [--json] [--data-range W]
    smfuse evaluate --dataset lytro (--method NAME | --folder DIR) [-o CSV]
    smfuse train [--config NAME] --out DIR [--resume] [--set KEY=VALUE ...]
        (data-parallel, the CPU threads split between the processes: a configuration with
        processes > 1, as ``fast``, starts them itself; or ``torchrun --nproc_per_node=N
        -m smfuse.cli train ...``; see smfuse.runtime.distributed)
    smfuse study [--arms a b ...] [--seeds 0 1 2] [--jobs 2]
    smfuse reproduce [--profile quick|full] [--only NN ...] [-p KEY=VALUE ...] [--grid KEY=V1,V2 ...]
        [--refresh-results]   (the full profile verifies the run against results/: exit 0/1/3)
    smfuse data list
    smfuse data fetch NAME ... | all
    smfuse data mirror DIR [NAME ... | all]   (a folder laid out as SMFUSE_DATA_MIRROR expects)
    smfuse site -o DIR          (the committed notebooks and results as a static site)
    smfuse course -o DIR        (student copies of the notebooks: solution cells removed)

    smfuse --version        (also ``python -m smfuse ...``)

Every error is one line on stderr (``smfuse: error: ...``) with exit status 2 and no
output file left behind; outputs that would overwrite a source (the same path, a
symlink or a hard link to it), or each other, are refused before any work, and so are
two sources that name one image (``fuse``, ``initial-mask``); an output folder that is a
file is refused by name.
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


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in the house form: one line, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"smfuse: error: {message} (see '{self.prog} --help')\n")


_RANGE_OPTION = "--data-range "


def _check_out(path: str, what: str) -> Path:
    from smfuse.io import _WRITABLE

    p = Path(path)
    if p.suffix.lower() not in _WRITABLE:
        raise CLIError(f"{what} {p}: unknown image format {p.suffix!r} (use .png, .tif, .jpg or .bmp)")
    if p.is_dir():
        raise CLIError(f"{what} {p} is a folder; name the image file to write")
    if not p.parent.is_dir():
        raise CLIError(f"{what} {p}: folder {p.parent} does not exist")
    if not os.access(p.parent, os.W_OK | os.X_OK):
        raise CLIError(f"{what} {p}: folder {p.parent} is not writable; choose another output folder")
    return p


def _check_folder(path: str, option: str, purpose: str) -> Path:
    """Refuse an output folder that is a file, or lies under one, by name (before any work)."""
    p = Path(path).expanduser()
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                where = "is a file" if q == p else f"lies under {q}, which is a file"
                raise CLIError(f"{option} {p} {where}; give a folder {purpose}")
            break
    return p


def _sources(args) -> dict:
    srcs = {"the first source": args.a, "the second source": args.b}
    if getattr(args, "fused", None):
        srcs["the fused image"] = args.fused
    weights = getattr(args, "weights", None)
    if weights and os.path.isfile(weights):
        srcs["the weights file"] = weights
    return srcs


def _read_pair(a: str, b: str, data_range: float | None = None):
    """Read and check two sources (``fuse`` and ``initial-mask`` refuse one image given twice before this)."""
    from smfuse.io import source_pair

    return source_pair(a, b, data_range=data_range, option=_RANGE_OPTION, distinct=False)


def _write_all(items: list[tuple[Path, object]]) -> None:
    """Write several images; if any fails, remove the ones already written."""
    from smfuse.io import write_image

    done: list[Path] = []
    try:
        for path, img in items:
            write_image(path, img)
            done.append(path)
    except BaseException:
        for p in done:
            p.unlink(missing_ok=True)
        raise


def _check_out_dtype(out: Path, dtype, what: str = "-o") -> None:
    suffix = out.suffix.lower()
    if dtype.kind == "f" and suffix not in (".tif", ".tiff"):
        raise CLIError(f"{what} {out}: the sources are float images and the fused image keeps their values, "
                       "so it is written as a float32 TIFF: use a .tif output (or convert the sources to 8 or 16 bit)")
    if dtype == "uint16" and suffix in (".jpg", ".jpeg", ".bmp"):
        raise CLIError(f"{what} {out}: 16-bit sources need a .png or .tif output")


def cmd_fuse(args) -> int:
    import numpy as np

    from smfuse.runtime.inference import fuse
    from smfuse.io import refuse_clobber
    from smfuse.runtime.weights import load_model

    from smfuse.io import refuse_same_source

    refuse_same_source(args.a, args.b)
    out = _check_out(args.output, "-o")
    mask_out = _check_out(args.mask_out, "--mask-out") if args.mask_out else None
    refuse_clobber({"-o": out, "--mask-out": mask_out}, _sources(args))
    a, b = _read_pair(args.a, args.b, args.data_range)
    _check_out_dtype(out, a.dtype)
    model = load_model(args.weights)
    res = fuse(a, b, model, tile=args.tile, data_range=args.data_range, progress=not args.quiet)
    items = [(out, res.fused)]
    if mask_out:
        items.append((mask_out, (res.mask * 255).astype(np.uint8)))
    _write_all(items)
    return 0


def cmd_initial_mask(args) -> int:
    import numpy as np

    from smfuse.method.guided_block import initial_mask
    from smfuse.io import refuse_clobber, refuse_same_source

    refuse_same_source(args.a, args.b)
    out = _check_out(args.output, "-o")
    refuse_clobber({"-o": out}, _sources(args))
    a, b = _read_pair(args.a, args.b, args.data_range)
    # colour, 16-bit and float sources as fusion takes them, made grey the same way
    mi = initial_mask(a, b, r=args.r, eps=args.eps, blur_size=args.blur, data_range=args.data_range)
    _write_all([(out, np.where(mi, np.uint8(255), np.uint8(0)))])
    return 0


def cmd_metrics(args) -> int:
    from smfuse.io import check_image, read_image
    from smfuse.evaluation.metrics import compute_all

    a, b = _read_pair(args.a, args.b, args.data_range)
    f = check_image(read_image(args.fused), role=f"the fused image {args.fused}", data_range=args.data_range,
                    option=_RANGE_OPTION)
    if f.shape != a.shape:
        raise CLIError(f"the fused image {args.fused} is {f.shape} but the sources are {a.shape}; "
                       "give the fused image of these sources")
    values = compute_all(a, b, f, data_range=args.data_range)
    if args.json:
        print(json.dumps(values, indent=2))
    else:
        width = max(len(k) for k in values)
        for k, v in values.items():
            print(f"{k:<{width}}  {v:.6f}")
    return 0


def cmd_evaluate(args) -> int:
    from smfuse.evaluation import evaluate as ev

    if bool(args.method) == bool(args.folder):
        raise CLIError("give exactly one of --method NAME or --folder DIR")
    out = Path(args.output) if args.output else None
    if out is not None and not out.parent.is_dir():
        raise CLIError(f"output {out}: folder {out.parent} does not exist")
    if args.folder:
        if not Path(args.folder).is_dir():
            raise CLIError(f"--folder {args.folder}: not a folder")
        table = ev.evaluate_folder(args.dataset, args.folder, out_csv=out, progress=not args.quiet, limit=args.limit)
    else:
        table = ev.evaluate_method(args.dataset, args.method, limit=args.limit, out_csv=out,
                                   progress=not args.quiet)
    print(table.tail(1).to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


def cmd_train(args) -> int:
    from smfuse.runtime import distributed
    from smfuse.runtime.train import get_config, parse_overrides, train

    _check_folder(args.out, "--out", "for the run (it holds log.csv and the checkpoints)")
    overrides = parse_overrides(args.set or [])
    cfg = get_config(args.config, **overrides)  # checked before any process group or data
    if distributed.is_launched():  # one process of several, started by torchrun
        rank, world, res = distributed.run(args.config, overrides, args.out, resume=args.resume,
                                           overwrite=args.overwrite, progress=not args.quiet, backend=args.backend)
        if rank != 0:
            return 0
    else:
        from smfuse.runtime.train import check_run, local_processes

        n = local_processes(cfg)
        if n > 1:  # a data-parallel configuration: check here once, then start the processes
            check_run(cfg, args.out, resume=args.resume, overwrite=args.overwrite)
            return distributed.launch(args.argv, n)
        if args.backend:
            raise CLIError("--backend applies only to several processes (processes > 1, or under torchrun)")
        world = 1
        res = train(cfg, args.out, resume=args.resume, overwrite=args.overwrite, progress=not args.quiet)
    on = f" on {world} processes" if world > 1 else ""
    if res["steps"] < cfg.steps:
        print(f"stopped at step {res['steps']} of {cfg.steps}{on} in {res['seconds']:.1f} s; continue with "
              f"--resume: {Path(args.out) / 'checkpoint.pt'}")
        return 0
    print(f"trained {res['steps']} steps{on} in {res['seconds']:.1f} s; "
          f"MF/MI agreement {res['agreement'].mean():.4f} (min {res['agreement'].min():.4f}); "
          f"weights: {Path(args.out) / 'final.pt'}")
    return 0


def cmd_study(args) -> int:
    from smfuse.reproduce.study import run_study

    _check_folder(args.work, "--work", "for the checkpoints of runs in progress")
    _check_folder(args.results, "--results", "for the finished runs")

    run_study(arms=args.arms, seeds=args.seeds, jobs=args.jobs, threads=args.threads, work=args.work,
              results=args.results)
    return 0


def cmd_reproduce(args) -> int:
    from smfuse.reproduce.run import run_from_options

    if args.out:
        _check_folder(args.out, "--out", "for the results")

    return run_from_options(profile=args.profile, out=args.out, only=args.only, param=args.param, grid=args.grid,
                            no_fetch=args.no_fetch, refresh=args.refresh_results)


def cmd_data(args) -> int:
    from smfuse.data import fetch

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
    if args.action == "mirror":
        _check_folder(args.folder, "mirror folder", "to lay the mirror out in")
        rep = fetch.make_mirror(args.folder, args.names or None)
        print(f"mirror: {rep['files']} files ({fetch._size(rep['bytes'])}) in {rep['folder']}; fetch from it with "
              f"{fetch.MIRROR_ENV}={rep['url']} smfuse data fetch NAME ... | all")
        return 0
    fetch.fetch(args.names, progress=not args.quiet)
    return 0


def _white_level(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v > 0 and v != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number (the white level, e.g. 255), got {text!r}")
    return v


def _data_range_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-range", type=_white_level, metavar="W",
                   help="white level of float images (e.g. 255 for float TIFFs on 0..255); "
                        "default: float images lie in [0, 1]. 8/16-bit images use their full range")


def cmd_site(args) -> int:
    from smfuse.reproduce.site import build_site

    _check_folder(args.output, "-o", "for the site")

    b = build_site(args.output, root=args.root)
    print(f"site: {len(b.pages)} pages ({len(b.notebooks)} notebooks), {b.images} images, "
          f"built in {b.seconds:.1f} s: {b.out_dir / 'index.html'}")
    return 0


def cmd_course(args) -> int:
    from smfuse.reproduce.course import write_course

    _check_folder(args.output, "-o", "for the student notebooks")

    c = write_course(args.output, notebooks_dir=args.notebooks)
    print(f"course: {len(c.notebooks)} student notebooks, {c.exercises} exercises, "
          f"{c.solutions_removed} solution cells removed: {c.out_dir}")
    return 0


class _LazyHelp(argparse.HelpFormatter):
    """Help that names the training configurations, read from their table only when help is shown.

    (Importing the table loads torch, which every other command would then wait for.)
    """

    def _expand_help(self, action):
        if action.help and "%(configs)s" in action.help:
            from smfuse.runtime.train import CONFIGS

            action = argparse.Action(action.option_strings, action.dest, default=action.default,
                                     help=action.help.replace("%(configs)s", ", ".join(CONFIGS)))
        return super()._expand_help(action)


def _message(exc: BaseException) -> str:
    """One line for the user: an OSError as "what: file", without its errno number."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}" + (f" (and {exc.filename2})" if exc.filename2 else "")
    return " ".join(str(exc).split("\n"))


def build_parser() -> argparse.ArgumentParser:
    from smfuse import __version__
    from smfuse.data.sets import DATASETS
    from smfuse.evaluation.methods import method_names

    p = _Parser(prog="smfuse", description="SMFuse multi-focus image fusion (replication).")
    p.add_argument("--version", action="version", version=f"smfuse {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    f = sub.add_parser("fuse", help="fuse two multi-focus sources")
    f.add_argument("a", help="first source image (near focus): PNG, JPEG, BMP or TIFF; 8/16 bit or float")
    f.add_argument("b", help="second source image (far focus), registered with A: same size and pixel type")
    f.add_argument("-o", "--output", required=True,
                   help="fused image (same pixel type as the sources; float sources need .tif); "
                        "must not be a source")
    f.add_argument("--mask-out", help="also write the binary mask MF (8-bit 0/255; 255 = second source); "
                                      "must differ from -o and the sources")
    f.add_argument("--weights", help="paper or code (our weights for that loss variant, from SMFUSE_WEIGHTS_DIR "
                                     "or shipped with smfuse), authors[:PATH][@EPOCH] (the authors' checkpoint.zip), "
                                     "or the path of one of our checkpoints (default: paper)")
    f.add_argument("--tile", type=int, default=512, help="tile side for large images (default 512)")
    _data_range_arg(f)
    f.add_argument("--quiet", action="store_true", help="no progress bar over the tiles of large images")
    f.set_defaults(func=cmd_fuse)

    m = sub.add_parser("initial-mask", help="write the guided block's initial mask MI (0/255)")
    m.add_argument("a", help="first source image (near focus)")
    m.add_argument("b", help="second source image (far focus), same size and pixel type")
    m.add_argument("-o", "--output", required=True, help="mask image to write (8-bit 0/255; 255 = second source)")
    m.add_argument("--r", type=int, default=5, help="guided filter radius (5)")
    m.add_argument("--eps", type=float, default=0.3, help="guided filter eps on the [0, 1] scale (0.3)")
    m.add_argument("--blur", type=int, default=7, help="mean filter size (7)")
    _data_range_arg(m)
    m.set_defaults(func=cmd_initial_mask)

    q = sub.add_parser("metrics", help="print every fusion metric for one triple")
    q.add_argument("a", help="first source image")
    q.add_argument("b", help="second source image")
    q.add_argument("fused", help="fused image of A and B (same size and kind)")
    q.add_argument("--json", action="store_true", help="print JSON")
    _data_range_arg(q)
    q.set_defaults(func=cmd_metrics)

    e = sub.add_parser("evaluate", help="score a method or a folder of fused results over a data set")
    e.add_argument("--dataset", default="lytro",
                   help=f"a data set ({', '.join(DATASETS)}; default lytro) or a folder of your own pairs "
                        "(X_A/X_B, X_1/X_2, or subfolders A/ and B/; see smfuse.data.sets.load_folder)")
    e.add_argument("--method", choices=method_names(), metavar="NAME",
                   help=f"a fusion method: one of {', '.join(method_names())}")
    e.add_argument("--folder", help="a folder of fused images, one per pair, named after the pair")
    e.add_argument("--limit", type=int, help="score only the first N pairs")
    e.add_argument("-o", "--output", help="CSV table (one row per image and a mean row)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("train", help="self-supervised training", formatter_class=_LazyHelp)
    t.add_argument("--config", default="full", metavar="NAME",
                   help="a configuration of smfuse.runtime.train.CONFIGS: %(configs)s (default full; "
                        "train on your own pairs: --set dataset=FOLDER)")
    t.add_argument("--out", required=True, metavar="DIR", help="run folder (log.csv, checkpoints)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint.pt")
    t.add_argument("--overwrite", action="store_true", help="start over in an --out that already holds a run")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a TrainConfig field")
    t.add_argument("--backend", choices=["gloo", "nccl"],
                   help="under torchrun only: the process group's backend (default: nccl on CUDA, else gloo)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("study", help="train every arm x seed of the training study (resumable)")
    s.add_argument("--arms", nargs="*",
                   help="arms to train (default: the ablation arms a-h of smfuse.reproduce.study.ARMS; plus, dilated, vote: "
                        "smfuse.reproduce.study.PLUS_ARMS; the convergence check a-long c-long d-long e-long f-long g-long "
                        "h-long b-half c-half d-half e-half a-xlong: smfuse.reproduce.study.BUDGET_ARMS; the guided "
                        "block's supervision label-mi label-s: smfuse.reproduce.study.SUPERVISION_ARMS)")
    s.add_argument("--seeds", nargs="*", type=int, help="seeds (default 0 1 2)")
    s.add_argument("--jobs", type=int, default=1, help="runs side by side, threads split between them (default 1)")
    s.add_argument("--threads", type=int, help="threads of each run (default: the machine's split between the jobs)")
    s.add_argument("--work", default="runs/study", help="checkpoints of runs in progress (default runs/study)")
    s.add_argument("--results", default="results/study", help="finished runs (default results/study)")
    s.set_defaults(func=cmd_study)

    r = sub.add_parser("reproduce", help="run the notebooks into runs/; the full profile ends with its reproduction "
                                         "report against the committed results/",
                       epilog="exit status: 0 everything reproduced; 1 a notebook failed or something differs from "
                              "results/ (runs/<run>/REPRODUCTION.md says what); 2 a usage error; 3 incomplete: some "
                              "claims could not be checked (the report names the command that fetches the data)")
    r.add_argument("--profile", default="quick", choices=["quick", "full"], help="quick (minutes) or full")
    r.add_argument("--out", help="the run's folder (default: a fresh runs/full-YYYYmmdd-HHMMSS/ for full, "
                                 "runs/results-quick/ for quick; never inside results/)")
    r.add_argument("--only", nargs="*", help="notebook numbers or names to run")
    r.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="a notebook parameter (dataset, weights, methods, seed), passed to every selected notebook")
    r.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="run once per value (per combination, if repeated) and collect every run's claims "
                        "into OUT/claims_grid.csv")
    r.add_argument("--no-fetch", action="store_true", help="full profile: do not fetch the real data first")
    r.add_argument("--refresh-results", action="store_true",
                   help="full profile: after a complete run (every notebook, no claim 'not measured'), replace the "
                        "committed results/ with it; refused otherwise")
    r.set_defaults(func=cmd_reproduce)

    d = sub.add_parser("data", help="list or fetch the real data sets (pinned sources, sha256-checked)")
    dsub = d.add_subparsers(dest="action", required=True, metavar="ACTION",
                            help="list (what is present), fetch (download and verify) or mirror (lay the "
                                 "present sets out for an offline machine)")
    dl = dsub.add_parser("list", help="each set: present / partial / missing, and its size")
    dl.set_defaults(func=cmd_data)
    df = dsub.add_parser("fetch", help="download sets into the data folder ($SMFUSE_DATA, default data/)")
    df.add_argument("names", nargs="+", metavar="NAME", help="lytro, grayscale, nyud100_gt, authors, reference, "
                                                             "mfifb, peers, or all")
    df.add_argument("--quiet", action="store_true", help="no progress bar")
    df.set_defaults(func=cmd_data)
    dm = dsub.add_parser("mirror", help="lay the sets of the data folder out as a mirror (OWNER/REPO/COMMIT/PATH), "
                                        "to fetch from offline with SMFUSE_DATA_MIRROR=file:///DIR")
    dm.add_argument("folder", metavar="DIR", help="folder to write the mirror into (created if needed)")
    dm.add_argument("names", nargs="*", metavar="NAME", help="sets to copy (default: all that are present)")
    dm.set_defaults(func=cmd_data)
    w = sub.add_parser("site", help="render the committed notebooks and results into a static site")
    w.add_argument("-o", "--output", required=True, help="folder for the site (new, empty, or an earlier site)")
    w.add_argument("--root", help="checkout to render (default: the one holding this package)")
    w.set_defaults(func=cmd_site)

    c = sub.add_parser("course", help="write student copies of the notebooks (every solution cell removed)")
    c.add_argument("-o", "--output", required=True, help="folder for the student notebooks")
    c.add_argument("--notebooks", help="folder of notebooks (default: notebooks/ of this checkout)")
    c.set_defaults(func=cmd_course)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    if getattr(args, "func", None) is cmd_train:  # its own arguments, to start data-parallel processes with
        args.argv = raw[raw.index("train") + 1:]
    try:
        return args.func(args)
    except (CLIError, ValueError, OSError) as exc:
        print(f"smfuse: error: {_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("smfuse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
