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
    raw-file host: an HTTP(S) server that mirrors the sources, or a folder on this machine
    (``file:///path/to/mirror``, or the plain path). ``smfuse data mirror DIR``
    (:func:`make_mirror`) lays out the sets of a data folder that way, so that a copy made
    on a connected machine serves an offline one; files are still checked by sha256.

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

__all__ = ["SETS", "Entry", "FetchError", "registry", "set_files", "set_status", "fetch", "file_url", "make_mirror",
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


def _mirror(mirror: str | None = None) -> str:
    """The mirror in use: ``mirror``, else ``$SMFUSE_DATA_MIRROR``; ``""`` for none. A plain path becomes a file URL."""
    mirror = os.environ.get(MIRROR_ENV, "") if mirror is None else mirror
    if mirror and "://" not in mirror:
        mirror = Path(mirror).expanduser().resolve().as_uri()
    return mirror


def mirror_path(entry: Entry) -> str:
    """``OWNER/REPO/COMMIT/PATH`` of a downloaded file: where a mirror holds it."""
    prefix = GITHUB_RAW + "/"
    if not entry.url.startswith(prefix):
        raise FetchError(f"{entry.file}: URL {entry.url} is not a GitHub raw-file URL; it cannot be mirrored")
    return entry.url[len(prefix):]


def file_url(entry: Entry, mirror: str | None = None) -> str:
    """Where ``entry`` is downloaded from: its URL, or the same path under ``mirror``.

    ``mirror`` defaults to ``$SMFUSE_DATA_MIRROR``; a mirror holds ``OWNER/REPO/COMMIT/PATH``
    under an ``http(s)://`` or ``file://`` base, or under a plain folder path.
    """
    mirror = _mirror(mirror)
    if not mirror or not entry.url:
        return entry.url
    return mirror.rstrip("/") + "/" + mirror_path(entry)


def set_status(name: str, root: str | os.PathLike | None = None) -> dict:
    """What of set ``name`` has been fetched into the data folder (file existence and size; no hashing).

    Only the files a fetch brings count (downloaded, or made from a download); the small
    transcribed tables are tracked in the repository's ``data/`` folder and copied by
    :func:`fetch`, so on a fresh clone, whose data folder is that ``data/``, every set
    reads ``missing``, not ``partial``.

    Returns
    -------
    dict
        ``files`` (to fetch, in the registry), ``present`` (files there with the
        registry's size), ``bytes`` (their total), ``missing`` (list of file paths),
        ``state`` (``present``, ``partial`` or ``missing``).
    """
    base = Path(root) if root is not None else data_folder()
    entries = [e for e in set_files(name) if e.how != "transcribed"]
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


def _reason(exc: BaseException) -> str:
    """What went wrong with a download, in a few words (no retry counts, no object dumps)."""
    import re

    import requests

    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason}".strip()
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
        return found.group(1).strip() if found else "could not connect"
    return type(exc).__name__


def _advice(mirror: str) -> str:
    if mirror:
        return (f"the mirror {MIRROR_ENV}={mirror} failed: check that it is up and holds OWNER/REPO/COMMIT/PATH "
                f"(`smfuse data mirror DIR` lays one out), or unset {MIRROR_ENV} to fetch from the original source")
    return f"check the connection, or set {MIRROR_ENV} to a mirror of the sources (see `smfuse data mirror`)"


def _download(entry: Entry, dest: Path, url: str, mirror: str = "") -> None:
    """Download ``url`` to ``dest`` (a temporary file beside it, moved in place once its sha256 matches)."""
    import pooch
    import requests

    where = f"the mirror {mirror}" if mirror else "the source"
    try:
        if url.startswith("file://"):
            _copy_local(entry, dest, url, mirror)
        else:
            pooch.retrieve(url, known_hash=f"sha256:{entry.sha256}", fname=dest.name, path=dest.parent,
                           progressbar=False)
    except FetchError:
        raise
    except ValueError as exc:  # pooch: the downloaded file's hash does not match (and was deleted)
        import re

        got = re.search(r"but got ([0-9a-fA-F]{64})", str(exc))
        raise FetchError(f"{entry.file}: sha256 of the download is {got.group(1) if got else '?'}, the registry "
                         f"says {entry.sha256} (from {url}); the file was not kept: {where} serves other "
                         "bytes than the pinned original") from None
    except requests.exceptions.RequestException as exc:
        raise FetchError(f"{entry.file}: download from {url} failed ({_reason(exc)}); nothing was kept: "
                         f"{_advice(mirror)}") from None


def _copy_local(entry: Entry, dest: Path, url: str, mirror: str) -> None:
    """A ``file://`` download: copy, check the sha256, move into place."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    src = Path(url2pathname(urlparse(url).path))
    if not src.is_file():
        raise FetchError(f"{entry.file}: {url} is not in the mirror; nothing was kept: {_advice(mirror)}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        shutil.copyfile(src, tmp)
        got = _sha256(tmp)
        if got != entry.sha256:
            raise FetchError(f"{entry.file}: sha256 of the download is {got}, the registry says {entry.sha256} "
                             f"(from {url}); the file was not kept: the mirror {mirror} serves other bytes "
                             "than the pinned original")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


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
        Show a progress bar per set (bytes of the files still to fetch), on a terminal.
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
        message names the file, the whole address it came from, and both checksums or
        the reason; a mirror that failed is named as such); files verified before it are
        kept, the failing one is not, nor any folder this call made that is left empty,
        and a rerun continues from there.
    """
    import logging
    import time

    from tqdm.auto import tqdm

    sets = _check_names(names)
    base = Path(root) if root is not None else data_folder()
    mirror = _mirror()
    made = _new_folders(base, base)
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
        # one bar per set, on a terminal only (disable=None): in a log its redraws read as repeated bars
        with tqdm(total=sum(e.bytes for e in todo), unit="B", unit_scale=True, desc=name,
                  disable=None if progress and todo else True) as bar:
            for e in todo:
                dest = base / e.file
                made += _new_folders(dest.parent, base)
                try:
                    if e.how == "download":
                        _download(e, dest, file_url(e, mirror), mirror)
                    elif e.how.startswith("png:"):
                        _derive_png(e, dest, base)
                    elif e.how == "transcribed":
                        _copy_transcribed(e, dest)
                    else:
                        raise FetchError(f"{e.file}: unknown registry kind {e.how!r}")
                except BaseException:
                    _remove_empty(made)  # "nothing was kept": no empty folder either
                    raise
                done_bytes += e.bytes
                bar.update(e.bytes)
        seconds = time.perf_counter() - t0
        report[name] = {"fetched": len(todo), "kept": len(entries) - len(todo), "bytes": done_bytes,
                        "seconds": seconds}
        log(f"{name}: {len(entries)} files, {_size(sum(e.bytes for e in entries))} in {base / name_folder(name)}; "
            f"fetched {len(todo)} ({_size(done_bytes)}, {seconds:.1f} s), {len(entries) - len(todo)} already there")
    return report


def _new_folders(folder: Path, base: Path) -> list[Path]:
    """``folder`` and its parents up to ``base`` (included) that do not exist yet, deepest first."""
    out = []
    for d in (folder, *folder.parents):
        if d.exists():
            break
        out.append(d)
        if d == base:
            break
    return out


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders this fetch made that are still empty, deepest first."""
    for d in sorted(set(folders), key=lambda d: len(d.parts), reverse=True):
        try:
            d.rmdir()
        except OSError:  # not empty (files verified before the failure are kept), or gone
            pass


def make_mirror(folder: str | os.PathLike, names=None, *, root: str | os.PathLike | None = None) -> dict:
    """Lay out the downloaded files of a data folder as a mirror: ``FOLDER/OWNER/REPO/COMMIT/PATH``.

    A data folder filled on a connected machine thus serves machines without a
    connection: copy ``FOLDER`` there and fetch with ``SMFUSE_DATA_MIRROR=file:///FOLDER``
    (every file is still checked against the registry's sha256). Only downloaded files are
    copied: the PNG re-encodings and the transcribed tables are made by :func:`fetch`
    itself.

    Parameters
    ----------
    folder : path
        Where to write the mirror (created if needed; files already there with the right
        size are kept).
    names : str or list of str, optional
        Sets of :data:`SETS` or ``"all"``; default: every set whose downloads are all in
        the data folder.
    root : path, optional
        The data folder to copy from (default :func:`data_folder`).

    Returns
    -------
    dict
        ``files`` and ``bytes`` copied or already there, ``sets`` (names), ``folder``
        and ``url`` (the ``file://`` URL to give ``SMFUSE_DATA_MIRROR``).

    Raises
    ------
    FetchError
        If a named set has files missing in the data folder (fetch it first), or no set
        is complete.
    """
    base = Path(root) if root is not None else data_folder()
    out = Path(folder).expanduser()
    chosen = _check_names(names) if names else [n for n in SETS if set_status(n, base)["state"] == "present"]
    if not chosen:
        raise FetchError(f"no set is complete in the data folder {base}; fetch one first "
                         "(smfuse data fetch NAME), or set SMFUSE_DATA to the folder that holds them")
    entries = [e for n in chosen for e in set_files(n) if e.how == "download"]
    missing = [e.file for e in entries if not (base / e.file).is_file()]
    if missing:
        raise FetchError(f"{len(missing)} files of {', '.join(chosen)} are not in the data folder {base} (first: "
                         f"{missing[0]}); fetch them first: smfuse data fetch {' '.join(chosen)}")
    total = 0
    for e in entries:
        dst = out / mirror_path(e)
        if not (dst.is_file() and dst.stat().st_size == e.bytes):
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f".{dst.name}.part")
            try:
                shutil.copyfile(base / e.file, tmp)
                os.replace(tmp, dst)
            finally:
                tmp.unlink(missing_ok=True)
        total += e.bytes
    return {"files": len(entries), "bytes": total, "sets": chosen, "folder": out,
            "url": out.resolve().as_uri()}


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
