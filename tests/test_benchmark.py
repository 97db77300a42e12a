"""Tests of smfuse.evaluation.benchmark: methods x sets -> per-pair scores, t intervals, strongest peer, JPEG."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from smfuse.cli import main
from smfuse.data.sets import load_dataset, synthetic_pair
from smfuse.evaluation import benchmark as B
from smfuse.evaluation import methods as R
from smfuse.evaluation.evaluate import evaluate_method, score_pair
from smfuse.io import write_image


@pytest.fixture
def mine():
    """A user's method (the pixelwise maximum), registered for the test only."""
    m = R.register_method("test_max", lambda a, b: np.maximum(a, b), description="pixelwise maximum")
    yield m
    R.unregister_method("test_max")


def test_t_interval_is_the_student_interval():
    mean, lo, hi = B.t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and hi - mean == pytest.approx(4.302652729911275 / np.sqrt(3))  # t_{0.975, 2} * sd / sqrt(3)
    assert B.t_interval([1.0, 2.0, 3.0], level=0.5)[2] == pytest.approx(2 + 0.8164965809277260 / np.sqrt(3))
    assert np.isnan(B.t_interval([0.7])[1])
    with pytest.raises(ValueError, match="finite"):
        B.t_interval([1.0, np.nan])
    with pytest.raises(ValueError, match="level"):
        B.t_interval([1.0, 2.0], level=95)


def test_t_interval_covers_the_mean_at_its_level(rng):
    x = rng.normal(0.3, 2.0, size=(2000, 8))
    hits = [lo <= 0.3 <= hi for _, lo, hi in map(B.t_interval, x)]
    assert 0.93 < np.mean(hits) < 0.97  # 95 % +- 2 binomial sd over 2000 draws


def _scores(values: dict[str, list[float]], dataset="s") -> pd.DataFrame:
    rows = [{"dataset": dataset, "method": m, "pair": f"p{i}", "qabf": v} for m, vs in values.items()
            for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_summary_strongest_and_paired_effects():
    per_pair = _scores({"x": [0.5, 0.6, 0.7], "y": [0.4, 0.5, 0.9], "z": [0.55, 0.65, 0.75]})
    s = B.summarise(per_pair)
    row = s[(s.method == "y") & (s.metric == "qabf")].iloc[0]
    assert (row.n, row["mean"]) == (3, pytest.approx(0.6))
    assert (row.lo, row.hi) == pytest.approx(B.t_interval([0.4, 0.5, 0.9])[1:])
    assert B.strongest(s, "s", "qabf", ["x", "y"]) == "x"  # tie at 0.6: the first named
    assert B.strongest(s, "s", "qabf", ["y", "x"]) == "y"
    assert B.strongest(s, "s", "qabf", ["z", "x"]) == "z"
    assert B.strongest(s, "s", "qabf", ["absent"]) is None
    eff = B.paired_effects(per_pair, "s", "qabf", ["x", "z"], "y")
    np.testing.assert_allclose(eff.to_numpy(), [[0.1, 0.1, -0.2], [0.15, 0.15, -0.15]])
    assert list(eff.columns) == ["p0", "p1", "p2"]
    with pytest.raises(ValueError, match="no qabf of w on s"):
        B.paired_effects(per_pair, "s", "qabf", "w", "y")
    t = B.mean_table(s, "s")
    assert t.loc["x", "qabf"].startswith("0.6000 [") and t.loc["x", "n"] == 3


def test_effects_use_only_the_pairs_both_methods_have():
    per_pair = pd.concat([_scores({"x": [0.5, 0.6, 0.7]}), _scores({"y": [0.1, 0.2]})])
    assert B.paired_effects(per_pair, "s", "qabf", "x", "y").to_numpy().tolist() == [[pytest.approx(0.4)] * 2]


def test_a_pair_reproduced_exactly_is_left_out_of_means_and_effects():
    # a source equal to the truth: a method that takes it everywhere has an infinite PSNR on that pair
    per_pair = _scores({"x": [30.0, np.inf, 34.0], "y": [29.0, 40.0, 31.0]}).rename(columns={"qabf": "psnr"})
    eff = B.paired_effects(per_pair, "s", "psnr", "x", "y")
    assert list(eff.columns) == ["p0", "p2"] and eff.to_numpy().tolist() == [[1.0, 3.0]]
    s = B.summarise(per_pair).set_index("method")
    assert (s.loc["x", "n"], s.loc["x", "mean"]) == (2, 32.0) and s.loc["y", "n"] == 3


def test_run_benchmark_scores_with_the_one_metric_implementation(mine):
    b = B.run_benchmark(["average", mine], ["synthetic"], limits=1)
    assert list(b.per_pair.columns[:3]) == ["dataset", "method", "pair"]
    assert set(b.per_pair.method) == {"average", "test_max"} and len(b.per_pair) == 2
    pair = load_dataset("synthetic", limit=1)[0]
    want = score_pair(pair, np.maximum(pair.a, pair.b))
    got = b.per_pair.set_index(["method", "pair"]).loc[("test_max", pair.name)]
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-12), k
    assert "psnr" in b.per_pair.columns  # the synthetic pairs have their truth
    same = evaluate_method("synthetic", "average", limit=1, progress=False)
    np.testing.assert_allclose(b.per_pair[b.per_pair.method == "average"].qabf, same.qabf.iloc[:1])


def test_what_cannot_run_is_listed_not_scored(tmp_path, monkeypatch):
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))  # no data: no peers, no Lytro
    lines = []
    b = B.run_benchmark(["average", "sesf", "ifcnn"], ["lytro", "synthetic"], limits=1, log=lines.append)
    assert set(b.per_pair.method) == {"average"}
    notes = b.notes.set_index(["dataset", "method"]).reason
    assert "smfuse data fetch lytro" in notes["lytro", "*"]
    assert "smfuse data fetch peers" in notes["synthetic", "sesf"]
    assert notes["synthetic", "ifcnn"] == "ifcnn has fused images only for lytro"
    assert len(lines) == 3


def test_a_folder_of_outputs_joins_the_benchmark(tmp_path):
    pairs = load_dataset("synthetic", limit=3)
    for p in pairs:
        write_image(tmp_path / f"{p.name}.png", np.maximum(p.a, p.b))
    R.register_folder("test_outputs", tmp_path, dataset="synthetic")
    try:
        b = B.run_benchmark(["test_outputs"], ["synthetic", "grayscale"], limits=3)
        other = synthetic_pair(0, size=40)  # not a pair of the set
        with pytest.raises(ValueError, match="test_outputs has fused images only for the pairs of synthetic"):
            R.get_method("test_outputs")(other.a, other.b)
    finally:
        R.unregister_method("test_outputs")
    want = [score_pair(p, np.maximum(p.a, p.b))["qabf"] for p in pairs]
    np.testing.assert_allclose(b.per_pair.qabf, want, rtol=1e-12)
    assert "grayscale" not in set(b.per_pair.dataset)


def test_the_evaluate_command_output_joins_the_benchmark(tmp_path):
    pairs = load_dataset("synthetic", limit=2)
    for p in pairs:
        write_image(tmp_path / f"{p.name}.png", np.maximum(p.a, p.b))
    csv = tmp_path / "mine.csv"
    assert main(["evaluate", "--dataset", "synthetic", "--folder", str(tmp_path), "--limit", "2", "--quiet",
                 "-o", str(csv)]) == 0
    rows = B.long_table(csv, method="mine", dataset="synthetic")
    assert rows.pair.tolist() == [p.name for p in pairs]
    b = B.run_benchmark(["average"], ["synthetic"], limits=2).join(rows)
    eff = B.paired_effects(b.per_pair, "synthetic", "qabf", "mine", "average")
    assert eff.shape == (1, 2) and set(b.summary().method) == {"average", "mine"}
    with pytest.raises(ValueError, match="rows twice"):
        b.join(rows)


def test_ijg_tables_and_the_quality_read_back():
    np.testing.assert_array_equal(B.ijg_tables(50)[0, :8], [16, 11, 10, 16, 24, 40, 51, 61])  # Annex K, K.1
    assert (B.ijg_tables(100) == 1).all() and (B.ijg_tables(1) == 255).all()  # the scaling clipped to 1..255
    x = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)
    for q, sub in ((30, "4:2:0"), (75, "4:4:4"), (95, "4:2:2")):
        buf = io.BytesIO()
        Image.fromarray(x).save(buf, format="JPEG", quality=q, subsampling=sub)
        buf.seek(0)
        with Image.open(buf) as im:
            assert B.jpeg_settings(im) == B.JpegSettings(q, sub, True)
            decoded = np.asarray(im)
        np.testing.assert_array_equal(B.jpeg_roundtrip(x, B.JpegSettings(q, sub)), decoded)
    buf = io.BytesIO()
    Image.fromarray(x[..., 0]).save(buf, format="JPEG", quality=60)
    assert B.jpeg_settings(io.BytesIO(buf.getvalue())) == B.JpegSettings(60, "4:4:4", True)


def test_tables_that_are_not_ijg_give_the_nearest_quality():
    tables = B.ijg_tables(80).copy()
    tables[0, 0] += 3
    buf = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buf, format="JPEG", qtables=[list(t) for t in tables])
    got = B.jpeg_settings(io.BytesIO(buf.getvalue()))
    assert got.quality == 80 and not got.exact
    with pytest.raises(ValueError, match="quality must be an integer in 1..100"):
        B.JpegSettings(0)
    with pytest.raises(TypeError, match="uint8"):
        B.jpeg_roundtrip(np.zeros((8, 8)), 75)


def test_bench_methods_times_a_method_of_ones_own(tmp_path, monkeypatch):
    import sys
    from pathlib import Path

    bench_dir = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench_dir))
    import bench_methods

    (tmp_path / "my_bench_methods.py").write_text(
        "import numpy as np\nfrom smfuse.evaluation.methods import register_method\n"
        "register_method('test_bench_max', lambda a, b: np.maximum(a, b))\n")
    monkeypatch.chdir(tmp_path)
    try:
        out = bench_methods._worker("test_bench_max", 32, 2, ["my_bench_methods"])
    finally:
        R.unregister_method("test_bench_max")
        sys.modules.pop("my_bench_methods", None)
    assert out["method"] == "test_bench_max" and len(out["times"]) == 2 and out["seconds"] > 0
    assert out["peak_rss_mb"] > 10
    rows = tmp_path / "rows.csv"
    for name, value, unit in (("methods.x.520x520_rgb", 2.0, "MP/s"), ("methods.x.520x520_rgb.peak_rss", 300, "MB")):
        bench_methods.record_result(name, value, unit, median_of=1, threads=1, machine="m", path=rows)
    table = bench_methods.markdown_table(rows, "m")
    assert "| `x` | 2.000 (0.14) | 300 |" in table  # 0.2704 MP / 2 MP/s = 0.14 s a pair
