"""smfuse.data.fetch against a mirror of the pinned sources, served by a loopback HTTP server in the test.

The mirror is built from the real data folder the tests use (skipped when it is absent): each
file at OWNER/REPO/COMMIT/PATH, as SMFUSE_DATA_MIRROR expects.
"""

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from smfuse.data import fetch
from smfuse.cli import main
from smfuse.data.sets import data_root


def _mirror_path(entry):
    return entry.url[len(fetch.GITHUB_RAW) + 1:]


@pytest.fixture
def source():
    root = data_root()
    if not all((root / e.file).is_file() for e in fetch.set_files("grayscale")):
        pytest.skip("the real grey set is not in the data folder (run `smfuse data fetch grayscale` or set SMFUSE_DATA)")
    return root


@pytest.fixture
def mirror(tmp_path, source, monkeypatch):
    """A mirror of the grey set's sources on http://127.0.0.1:PORT (the transcribed NAMES.tsv is not served)."""
    top = tmp_path / "mirror"
    for e in fetch.set_files("grayscale"):
        if e.how == "download":
            dst = top / _mirror_path(e)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / e.file, dst)
    handler = functools.partial(_QuietHandler, directory=str(top))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(fetch.MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}")
    yield top
    server.shutdown()
    server.server_close()


@pytest.fixture
def peers_mirror(tmp_path, monkeypatch):
    """A mirror of the peers set (weights and IFCNN's outputs), its files linked from the data folder."""
    root = data_root()
    entries = fetch.set_files("peers")
    if not all((root / e.file).is_file() for e in entries):
        pytest.skip("the peers set is not in the data folder (run `smfuse data fetch peers` or set SMFUSE_DATA)")
    top = tmp_path / "mirror"
    for e in entries:
        dst = top / _mirror_path(e)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to((root / e.file).resolve())
    handler = functools.partial(_QuietHandler, directory=str(top))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(fetch.MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}")
    yield top
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_registry_pins_every_url_to_a_commit():
    rows = fetch.registry()
    assert {e.set for e in rows} == set(fetch.SETS)
    assert len({e.file for e in rows}) == len(rows), "one row per file"
    for e in rows:
        assert len(e.sha256) == 64 and e.bytes > 0
        if e.how == "download":
            owner, repo, commit = _mirror_path(e).split("/")[:3]
            assert len(commit) == 40 and all(c in "0123456789abcdef" for c in commit), e.url
    # every PNG is made from a TIFF of the same set that is fetched before it
    order = {e.file: i for i, e in enumerate(rows)}
    for e in rows:
        if e.how.startswith("png:"):
            assert order[e.how[4:]] < order[e.file]


def test_mirror_url_maps_owner_repo_commit_path():
    e = next(e for e in fetch.registry() if e.how == "download")
    assert fetch.file_url(e, "") == e.url
    assert fetch.file_url(e, "http://m:1/base/") == "http://m:1/base/" + _mirror_path(e)


def test_fetch_verifies_and_a_rerun_fetches_only_what_is_missing(mirror, tmp_path):
    dest = tmp_path / "d"
    rep = fetch.fetch("grayscale", root=dest, progress=False, log=lambda s: None)
    entries = fetch.set_files("grayscale")
    assert rep["grayscale"]["fetched"] == len(entries)
    assert all(_sha(dest / e.file) == e.sha256 for e in entries)
    assert fetch.set_status("grayscale", dest)["state"] == "present"
    (dest / "grayscale" / "g_03_2.tif").unlink()
    rep = fetch.fetch("grayscale", root=dest, progress=False, log=lambda s: None)
    assert rep["grayscale"]["fetched"] == 1 and rep["grayscale"]["kept"] == len(entries) - 1


def test_a_corrupted_download_is_refused_and_not_kept(mirror, tmp_path, capsys):
    victim = next(mirror.rglob("g_05_1.tif"))
    victim.write_bytes(victim.read_bytes() + b"x")
    dest = tmp_path / "d"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMFUSE_DATA", str(dest))
        assert main(["data", "fetch", "grayscale", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("smfuse: error: grayscale/g_05_1.tif: sha256")
    want = next(e.sha256 for e in fetch.set_files("grayscale") if e.file.endswith("g_05_1.tif"))
    assert want in err[0] and hashlib.sha256(victim.read_bytes()).hexdigest() in err[0]
    assert not (dest / "grayscale" / "g_05_1.tif").exists()
    assert not [p for p in (dest / "grayscale").iterdir() if "g_05_1" in p.name], "no partial file left behind"
    assert (dest / "grayscale" / "g_04_2.tif").is_file(), "files verified before the bad one are kept"


def test_an_unreachable_source_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(fetch.MIRROR_ENV, "http://127.0.0.1:9")  # the discard port: connection refused
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path / "d"))
    assert main(["data", "fetch", "lytro", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lytro/" in err[0] and "download from http://127.0.0.1:9/" in err[0]
    assert not any(p.is_file() for p in (tmp_path / "d").rglob("*"))


def test_unknown_set_and_list(tmp_path, monkeypatch, capsys):
    assert main(["data", "fetch", "lytro", "nope"]) == 2
    assert "unknown data set 'nope'; choose from lytro" in capsys.readouterr().err
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))
    (tmp_path / "lytro").mkdir()
    e = fetch.set_files("lytro")[1]
    (tmp_path / e.file).write_bytes(b"\0" * e.bytes)
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "lytro       partial     1/54" in out and "mfifb       missing     0/200" in out
    assert "peers       missing     0/27" in out


def test_the_peers_set_is_fetched_where_the_peer_methods_look(peers_mirror, tmp_path, monkeypatch, capsys):
    from smfuse.evaluation.methods import get_method

    entries = fetch.set_files("peers")
    assert {e.file.split("/")[1] for e in entries} == {"mffgan", "u2fusion", "sesf", "ifcnn"}
    assert all(e.how == "download" for e in entries)
    dest = tmp_path / "d"
    monkeypatch.setenv("SMFUSE_DATA", str(dest))
    assert "run `smfuse data fetch peers`" in get_method("sesf").why_unavailable()
    assert main(["data", "fetch", "peers", "--quiet"]) == 0
    assert "peers: 27 files" in capsys.readouterr().out
    assert all(_sha(dest / e.file) == e.sha256 for e in entries)
    assert fetch.set_status("peers", dest)["state"] == "present"
    for name in ("mffgan", "mffgan_mfiwhu", "u2fusion", "sesf", "ifcnn"):
        assert get_method(name).why_unavailable() is None, name
