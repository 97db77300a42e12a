"""SESF-Fuse port (:mod:`smfuse.evaluation.peers.sesf`) against the authors' own code.

The references in ``tests/fixtures/peers/sesf/`` were written by the authors' inference code
(github.com/Keep-Passion/SESF-Fuse at 23e60b8, PyTorch, on the CPU; see the README there) on
Lytro pairs 01-03. The port reproduced them exactly when they were made (fused images, raw and
cleaned decision maps, and the float64 weight all identical); the bounds below are the
project's: mean |port - reference| <= 0.5 grey levels, decision maps identical on >= 99.9 %
of pixels. They leave room for another CPU summing the float32 convolutions in another order:
the closest call on these pairs is a relative spatial-frequency gap of 2.3e-6 (pair 03),
while the float32 window sums differ from float64 ones by under 7e-7 relative, so no pixel
flips here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smfuse.data.sets import data_root
from smfuse.evaluation.peers import sesf
from smfuse.io import read_image

FIXTURES = Path(__file__).parent / "fixtures" / "peers" / "sesf"
PAIRS = ("01", "02", "03")


def _weights_or_skip() -> Path:
    path = sesf.default_weights_path()
    if not path.is_file():
        pytest.skip(f"SESF-Fuse weights absent ({path}): run `smfuse data fetch peers` or set SMFUSE_DATA")
    return path


def _sources_or_skip(n: str) -> tuple[np.ndarray, np.ndarray]:
    files = [data_root() / "lytro" / f"lytro-{n}-{s}.jpg" for s in "AB"]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        pytest.skip(f"Lytro sources absent ({', '.join(missing)}): run `smfuse data fetch lytro` or set SMFUSE_DATA")
    return read_image(files[0]), read_image(files[1])


@pytest.fixture(scope="module")
def ported():
    """Port outputs per pair, computed once: ``{n: (fused, maps)}``."""
    cache = {}

    def get(n):
        if n not in cache:
            _weights_or_skip()
            a, b = _sources_or_skip(n)
            cache[n] = sesf.fuse_with_maps(a, b)
        return cache[n]

    return get


def _mask(name: str) -> np.ndarray:
    m = read_image(FIXTURES / name)
    assert set(np.unique(m)) <= {0, 255}
    return m == 255


@pytest.mark.realdata
@pytest.mark.parametrize("n", PAIRS)
def test_fused_matches_authors_code(ported, n):
    fused, _ = ported(n)
    ref = read_image(FIXTURES / f"lytro-{n}.png")
    assert fused.dtype == np.uint8 and fused.shape == ref.shape == (520, 520, 3)
    diff = np.abs(fused.astype(np.int16) - ref.astype(np.int16))
    assert diff.mean() <= 0.5, f"lytro-{n}: mean |port - authors| {diff.mean():.4f} grey levels (max {diff.max()})"


@pytest.mark.realdata
@pytest.mark.parametrize("n", PAIRS)
def test_decision_maps_match_authors_code(ported, n):
    _, maps = ported(n)
    for got, name in ((maps.sf, "sf"), (maps.binary, "decision")):
        same = np.mean(got == _mask(f"lytro-{n}-{name}.png"))
        assert same >= 0.999, f"lytro-{n}: {name} map identical on {same:.5%} of pixels"
    # The final (guided-filtered, unclipped) weight, stored with a step of 1/8192.
    ref = (read_image(FIXTURES / f"lytro-{n}-weight.png").astype(np.float64) - 32768) / 8192
    if np.array_equal(maps.binary, _mask(f"lytro-{n}-decision.png")):
        assert np.abs(maps.weight - ref).max() <= 0.5 / 8192 + 1e-9


@pytest.mark.realdata
def test_grey_in_grey_out_and_equal_sources():
    _weights_or_skip()
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 56), dtype=np.uint8)
    b = np.ascontiguousarray(a[:, ::-1])
    fused, decision = sesf.fuse_with_decision(a, b)
    assert fused.shape == a.shape and fused.dtype == np.uint8 and decision.shape == a.shape
    # Equal sources: equal spatial frequency, ties go to b, so the result is the source.
    assert np.array_equal(sesf.fuse(a, a.copy()), a)
    assert sesf.load_weights() is sesf.load_weights(sesf.default_weights_path())


@pytest.mark.parametrize("a, b, error, words", [
    ([[1, 2]], np.zeros((1, 2), np.uint8), TypeError, "numpy array"),
    (np.zeros((4, 4)), np.zeros((4, 4)), TypeError, "must be uint8"),
    (np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), ValueError, "grey (H, W) or RGB (H, W, 3)"),
    (np.zeros((4,), np.uint8), np.zeros((4,), np.uint8), ValueError, "grey (H, W) or RGB (H, W, 3)"),
    (np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8), ValueError, "differ in shape"),
    (np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.uint8), ValueError, "differ in shape"),
])
def test_input_checks(a, b, error, words, tmp_path):
    # Checked before the weights are read: a missing weights file must not mask the input error.
    with pytest.raises(error) as info:
        sesf.fuse(a, b, weights=tmp_path / "absent.pkl")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_missing_weights_one_line(tmp_path, monkeypatch):
    a = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError) as info:
        sesf.fuse(a, a, weights=tmp_path / "nope.pkl")
    msg = str(info.value)
    assert "\n" not in msg and "nope.pkl" in msg and "smfuse data fetch peers" in msg and "SMFUSE_DATA" in msg
    # The default path follows SMFUSE_DATA.
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))
    assert sesf.default_weights_path() == tmp_path / "peers" / "sesf" / sesf.WEIGHTS_FILE
    with pytest.raises(ValueError, match="smfuse data fetch peers"):
        sesf.load_weights()


def test_not_a_state_dict(tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a readable PyTorch state dict"):
        sesf.load_weights(bad)
