"""smfuse.data.fetch against a mirror of the pinned sources, served by a loopback HTTP server in the test.

The mirror is built from the real data folder the tests use (skipped when it is absent): each
file at OWNER/REPO/COMMIT/PATH, as SMFUSE_DATA_MIRROR expects.
"""

import functools
import hashlib
import http.server
import io
import shutil
import sys
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
    first = fetch.set_files("lytro")[0]
    url = "http://127.0.0.1:9/" + _mirror_path(first)  # the whole address, not cut
    assert err == [f"smfuse: error: {first.file}: download from {url} failed (Connection refused); nothing was kept: "
                   f"the mirror SMFUSE_DATA_MIRROR=http://127.0.0.1:9 failed: check that it is up and holds "
                   "OWNER/REPO/COMMIT/PATH (`smfuse data mirror DIR` lays one out), or unset SMFUSE_DATA_MIRROR to "
                   "fetch from the original source"]
    assert not (tmp_path / "d").exists(), "nothing kept: not even the folders the fetch made"


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



# ----------------------------------------------------------------------------- mirrors on disk, failures, progress

def test_without_a_mirror_a_failure_advises_one_and_names_the_http_status():
    import requests

    assert fetch._advice("") == ("check the connection, or set SMFUSE_DATA_MIRROR to a mirror of the sources "
                                 "(see `smfuse data mirror`)")
    assert "unset SMFUSE_DATA_MIRROR" in fetch._advice("http://m") and "set SMFUSE_DATA_MIRROR to a mirror" not in \
        fetch._advice("http://m")
    resp = requests.Response()
    resp.status_code, resp.reason = 404, "Not Found"
    assert fetch._reason(requests.exceptions.HTTPError("404 Client Error: Not Found for url: x", response=resp)) == \
        "HTTP 404 Not Found"
    assert fetch._reason(requests.exceptions.ReadTimeout("read timed out")) == "timed out"


def test_smfuse_data_mirror_serves_an_offline_fetch(source, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(fetch.MIRROR_ENV, raising=False)
    m = tmp_path / "mirror"
    assert main(["data", "mirror", str(m), "grayscale"]) == 0
    out = capsys.readouterr().out
    downloads = [e for e in fetch.set_files("grayscale") if e.how == "download"]
    assert out.startswith(f"mirror: {len(downloads)} files") and f"SMFUSE_DATA_MIRROR={m.resolve().as_uri()}" in out
    assert sorted(str(p.relative_to(m)) for p in m.rglob("*") if p.is_file()) == sorted(_mirror_path(e)
                                                                                          for e in downloads)
    for spelling in (m.resolve().as_uri(), str(m)):  # a file URL, or the plain path
        dest = tmp_path / f"d{len(spelling)}"
        monkeypatch.setenv(fetch.MIRROR_ENV, spelling)
        monkeypatch.setenv("SMFUSE_DATA", str(dest))
        assert main(["data", "fetch", "grayscale", "--quiet"]) == 0
        assert all(_sha(dest / e.file) == e.sha256 for e in fetch.set_files("grayscale"))
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SMFUSE_DATA", str(tmp_path / "empty"))
        assert main(["data", "mirror", str(tmp_path / "m2")]) == 2
    assert capsys.readouterr().err.startswith("smfuse: error: no set is complete in the data folder")


def test_a_failed_fetch_from_a_mirror_folder_keeps_what_it_verified_and_no_empty_folder(source, tmp_path, monkeypatch,
                                                                                       capsys):
    m = tmp_path / "mirror"
    fetch.make_mirror(m, "grayscale", root=source)
    gone = next(e for e in fetch.set_files("grayscale") if e.file.endswith("g_05_1.tif"))
    (m / _mirror_path(gone)).unlink()
    dest = tmp_path / "d"
    (dest / "mine").mkdir(parents=True)  # a data folder in use: what it holds stays
    monkeypatch.setenv(fetch.MIRROR_ENV, m.resolve().as_uri())
    monkeypatch.setenv("SMFUSE_DATA", str(dest))
    assert main(["data", "fetch", "grayscale", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"smfuse: error: {gone.file}: {m.resolve().as_uri()}/{_mirror_path(gone)} is not in the mirror; "
                   f"nothing was kept: the mirror SMFUSE_DATA_MIRROR={m.resolve().as_uri()} failed: check that it is "
                   "up and holds OWNER/REPO/COMMIT/PATH (`smfuse data mirror DIR` lays one out), or unset "
                   "SMFUSE_DATA_MIRROR to fetch from the original source"]
    assert (dest / "grayscale" / "g_04_2.tif").is_file() and not (dest / gone.file).exists()
    assert main(["data", "fetch", "lytro", "--quiet"]) == 2  # its first file fails: its folder goes too
    capsys.readouterr()
    assert sorted(p.name for p in dest.iterdir()) == ["grayscale", "mine"]


def test_data_list_counts_only_the_files_a_fetch_brings(tmp_path, monkeypatch, capsys):
    """A fresh clone's data folder holds the tracked tables only: every set is missing, none partial."""
    for e in fetch.registry():
        if e.how == "transcribed":
            (tmp_path / e.file).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / e.file).write_bytes((fetch.REPO_ROOT / "data" / e.file).read_bytes())
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "partial" not in out
    for name in ("grayscale", "authors", "reference"):
        fetched = [e for e in fetch.set_files(name) if e.how != "transcribed"]
        assert len(fetched) < len(fetch.set_files(name))
        assert f"{name:<11} missing     0/{len(fetched):<4}" in out


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_one_progress_bar_per_set_on_a_terminal_and_none_in_a_log(source, tmp_path, monkeypatch):
    m = tmp_path / "mirror"
    fetch.make_mirror(m, "grayscale", root=source)
    monkeypatch.setenv(fetch.MIRROR_ENV, str(m))
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    fetch.fetch("grayscale", root=tmp_path / "d1", progress=True, log=lambda s: None)
    lines = term.getvalue().split("\n")
    assert len(lines) == 2 and lines[1] == "" and lines[0].count("grayscale:") >= 1, lines  # one bar, redrawn in place
    assert "100%" in lines[0].split("\r")[-1]
    log = io.StringIO()  # not a terminal: redraws would read as repeated bars
    monkeypatch.setattr(sys, "stderr", log)
    fetch.fetch("grayscale", root=tmp_path / "d2", progress=True, log=lambda s: None)
    assert log.getvalue() == ""
