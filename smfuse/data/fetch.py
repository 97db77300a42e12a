"""Fetch the real data sets from their pinned original sources, verified by sha256.

The registry ``data/registry.tsv`` (at the repository root) lists every file of every real
set: its place in the data folder, its size, its sha256, and its original URL, a raw file
of a public GitHub repository pinned to a commit. Files are downloaded with `pooch
<https://www.fatiando.org/pooch>`_ (as scikit-image's own data module does): each one goes
to a temporary file beside its destination and is moved into place only once its sha256
matches, so a failed or corrupted download leaves nothing behind; a rerun downloads only
what is missing (or does not match).

Sets (:data:`SETS`):

``lytro``
    20 colour pairs and the triple series (Nejati, Samavi, Shirani 2015).
``grayscale``
    10 classic grey pairs (Liu et al. 2020).
``nyud100_gt``
    100 synthetic-defocus pairs with the all-in-focus truth (MIT).
``authors``
    The SMFuse authors' released checkpoint, their 20 grey training pairs and saved
    initial masks.
``reference``
    Liu et al.'s lossless sources and fused results (TIFF as released, and PNG
    re-encodings made here, pixel-identical) and their published metric values.
``mfifb``
    The MFIFB benchmark's published Lytro results of 10 methods (Zhang 2020).
``peers``
    The released weights of the peer methods SMFuse is compared with (MFF-GAN's Lytro and
    MFI-WHU models, U2Fusion, SESF-Fuse) and IFCNN's own lossless outputs on the 20 Lytro
    pairs (:mod:`smfuse.evaluation.peers`).

Environment:

``SMFUSE_DATA``
    The data folder (default ``data/`` in the repository root); see
    :func:`smfuse.data.sets.data_root`.
``SMFUSE_DATA_MIRROR=BASE``
    Download every file from ``BASE/OWNER/REPO/COMMIT/PATH`` instead of the GitHub
    raw-file host (a mirror of the sources, or a local server in the tests).

Three kinds of registry rows (column ``how``): ``download`` (the bytes of the URL);
``png:FILE`` (a lossless PNG re-encoding of the downloaded TIFF ``FILE``, checked to be
pixel-identical to it); ``transcribed`` (a small table transcribed from a published
spreadsheet, tracked in the repository's ``data/`` folder and copied from there).
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SETS", "Entry", "FetchError", "registry", "set_files", "set_status", "fetch", "file_url",
           "data_folder", "REGISTRY", "MIRROR_ENV", "DATA_ENV", "GITHUB_RAW"]

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The registry of every real file (tracked in the repository).
REGISTRY = REPO_ROOT / "data" / "registry.tsv"
DATA_ENV = "SMFUSE_DATA"
MIRROR_ENV = "SMFUSE_DATA_MIRROR"
GITHUB_RAW = "https://raw.githubusercontent.com"
#: The fetchable sets, in the order ``all`` fetches them.
SETS = ("lytro", "grayscale", "nyud100_gt", "authors", "reference", "mfifb", "peers")


class FetchError(ValueError):
    """A file could not be fetched or verified (a one-line message naming it)."""


@dataclass(frozen=True)
class Entry:
    """One registry row.

    Attributes
    ----------
    set : str
        One of :data:`SETS`.
    file : str
        Path inside the data folder (``lytro/lytro-01-A.jpg``).
    bytes : int
    sha256 : str
    url : str
        The original URL (pinned to a commit); empty for transcribed files.
    how : str
        ``download``, ``png:FILE`` or ``transcribed``.
    """

    set: str
    file: str
    bytes: int
    sha256: str
    url: str
    how: str


def data_folder() -> Path:
    """``$SMFUSE_DATA`` if set, else ``data/`` in the repository root (it need not exist yet)."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "data"


_REGISTRY_CACHE: dict = {}


def registry(path: str | os.PathLike | None = None) -> list[Entry]:
    """Every registry row, in fetch order (each PNG after the TIFF it is made from)."""
    p = Path(path) if path is not None else REGISTRY
    key = (str(p), p.stat().st_mtime_ns if p.is_file() else None)
    if key in _REGISTRY_CACHE:
        return _REGISTRY_CACHE[key]
    if not p.is_file():
        raise FetchError(f"data registry {p} not found (is smfuse run from a source checkout?)")
    with open(p, newline="") as f:
        rows = [Entry(r["set"], r["file"], int(r["bytes"]), r["sha256"], r["url"], r["how"])
                for r in csv.DictReader(f, delimiter="\t")]
    _REGISTRY_CACHE.clear()
    _REGISTRY_CACHE[key] = rows
    return rows


def _check_names(names) -> list[str]:
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        raise FetchError(f"name at least one data set: {', '.join(SETS)} or all")
    out = []
    for n in names:
        if n == "all":
            out.extend(SETS)
        elif n in SETS:
            out.append(n)
        else:
            raise FetchError(f"unknown data set {n!r}; choose from {', '.join(SETS)} or all")
    return list(dict.fromkeys(out))


def set_files(name: str) -> list[Entry]:
    """The registry rows of set ``name``."""
    (name,) = _check_names([name])
    return [e for e in registry() if e.set == name]


def file_url(entry: Entry, mirror: str | None = None) -> str:
    """Where ``entry`` is downloaded from: its URL, or the same path under ``mirror``.

    ``mirror`` defaults to ``$SMFUSE_DATA_MIRROR``; a mirror holds ``OWNER/REPO/COMMIT/PATH``.
    """
    mirror = os.environ.get(MIRROR_ENV) if mirror is None else mirror
    if not mirror or not entry.url:
        return entry.url
    prefix = GITHUB_RAW + "/"
    if not entry.url.startswith(prefix):
        raise FetchError(f"{entry.file}: URL {entry.url} is not a GitHub raw-file URL; it cannot be mirrored")
    return mirror.rstrip("/") + "/" + entry.url[len(prefix):]


def set_status(name: str, root: str | os.PathLike | None = None) -> dict:
    """What of set ``name`` is in the data folder (file existence and size; no hashing).

    Returns
    -------
    dict
        ``files`` (in the registry), ``present`` (files there with the registry's size),
        ``bytes`` (the set's total), ``missing`` (list of file paths), ``state``
        (``present``, ``partial`` or ``missing``).
    """
    base = Path(root) if root is not None else data_folder()
    entries = set_files(name)
    missing = []
    for e in entries:
        p = base / e.file
        try:
            ok = e.how.startswith("png:") or p.stat().st_size == e.bytes  # a made PNG: its size may differ
            ok = ok and p.is_file()
        except OSError:
            ok = False
        if not ok:
            missing.append(e.file)
    n_ok = len(entries) - len(missing)
    state = "present" if not missing else ("missing" if n_ok == 0 else "partial")
    return {"set": name, "files": len(entries), "present": n_ok, "bytes": sum(e.bytes for e in entries),
            "missing": missing, "state": state}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(entry: Entry, dest: Path, url: str) -> None:
    import pooch
    import requests

    try:
        pooch.retrieve(url, known_hash=f"sha256:{entry.sha256}", fname=dest.name, path=dest.parent,
                       progressbar=False)
    except ValueError as exc:  # pooch: the downloaded file's hash does not match (and was deleted)
        import re

        got = re.search(r"but got ([0-9a-fA-F]{64})", str(exc))
        raise FetchError(f"{entry.file}: sha256 of the download is {got.group(1) if got else '?'}, the registry "
                         f"says {entry.sha256} (from {url}); the file was not kept: the source or mirror "
                         "serves other bytes") from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(f"{entry.file}: download from {url} failed ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:160]}); nothing was kept: check the connection, "
                         f"or set {MIRROR_ENV} to a mirror") from None


def _derive_png(entry: Entry, dest: Path, base: Path) -> None:
    """A lossless PNG re-encoding of the TIFF named by ``entry.how``, checked pixel by pixel."""
    import numpy as np
    from PIL import Image

    src = base / entry.how.split(":", 1)[1]
    if not src.is_file():
        raise FetchError(f"{entry.file}: made from {src.name}, which is not in the data folder; fetch it first")
    with Image.open(src) as im:
        im.load()
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            im.save(tmp, format="PNG", optimize=True)  # the settings that made the registered PNGs
            with Image.open(tmp) as back:
                same = back.mode == im.mode and np.array_equal(np.asarray(back), np.asarray(im))
            if not same:
                raise FetchError(f"{entry.file}: the PNG re-encoding of {src.name} is not pixel-identical; not kept")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)


def _copy_transcribed(entry: Entry, dest: Path) -> None:
    src = REPO_ROOT / "data" / entry.file
    if not src.is_file() or _sha256(src) != entry.sha256:
        raise FetchError(f"{entry.file}: the transcribed copy in the repository's data/ folder is missing or "
                         "changed; restore it with git")
    if src.resolve() == dest.resolve():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _have(entry: Entry, dest: Path) -> bool:
    """Whether ``dest`` already holds ``entry`` (a made PNG was checked pixel by pixel when it was made)."""
    if not dest.is_file():
        return False
    if entry.how.startswith("png:"):
        return True
    return dest.stat().st_size == entry.bytes and _sha256(dest) == entry.sha256


def fetch(names, *, root: str | os.PathLike | None = None, progress: bool = True, log=print) -> dict:
    """Download the named sets into the data folder, verifying every file.

    Parameters
    ----------
    names : str or list of str
        Names of :data:`SETS`, or ``"all"``.
    root : path, optional
        The data folder (default :func:`data_folder`); created if needed.
    progress : bool
        Show a progress bar (bytes of the files still to fetch).
    log : callable
        Receives one line per set.

    Returns
    -------
    dict
        Per set: ``fetched`` and ``kept`` (already there, verified) file counts,
        ``bytes`` fetched and ``seconds``.

    Raises
    ------
    FetchError
        At the first file that cannot be downloaded or does not match its sha256 (the
        message names the file, and both checksums); files verified before it are kept,
        the failing one is not, and a rerun continues from there.
    """
    import logging
    import time

    from tqdm.auto import tqdm

    sets = _check_names(names)
    base = Path(root) if root is not None else data_folder()
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"cannot create the data folder {base}: {exc.strerror}") from None
    import pooch

    pooch.get_logger().setLevel(logging.WARNING)  # one line per set below, not one per file
    report = {}
    for name in sets:
        entries = set_files(name)
        todo = [e for e in entries if not _have(e, base / e.file)]
        t0 = time.perf_counter()
        done_bytes = 0
        with tqdm(total=sum(e.bytes for e in todo), unit="B", unit_scale=True, desc=name,
                  disable=not progress or not todo) as bar:
            for e in todo:
                dest = base / e.file
                if e.how == "download":
                    _download(e, dest, file_url(e))
                elif e.how.startswith("png:"):
                    _derive_png(e, dest, base)
                elif e.how == "transcribed":
                    _copy_transcribed(e, dest)
                else:
                    raise FetchError(f"{e.file}: unknown registry kind {e.how!r}")
                done_bytes += e.bytes
                bar.update(e.bytes)
        seconds = time.perf_counter() - t0
        report[name] = {"fetched": len(todo), "kept": len(entries) - len(todo), "bytes": done_bytes,
                        "seconds": seconds}
        log(f"{name}: {len(entries)} files, {_size(sum(e.bytes for e in entries))} in {base / name_folder(name)}; "
            f"fetched {len(todo)} ({_size(done_bytes)}, {seconds:.1f} s), {len(entries) - len(todo)} already there")
    return report


def name_folder(name: str) -> str:
    """The top folder of set ``name`` inside the data folder (``authors`` -> ``smfuse_official``)."""
    tops = {e.file.split("/", 1)[0] for e in set_files(name)}
    return ", ".join(sorted(tops))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover
