"""smfuse.data.sets: named sets in the data folder, and folders of your own pairs."""

import numpy as np
import pytest

from smfuse.data.sets import has_dataset, load_dataset, load_folder, missing_files
from smfuse.io import write_image


def _pair(rng, shape=(24, 32)):
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    return a, 255 - a


def test_flat_pairs_in_every_naming(tmp_path, rng):
    a, b = _pair(rng)
    write_image(tmp_path / "mffw_01_A.jpg", a)
    write_image(tmp_path / "mffw_01_B.jpg", b)
    write_image(tmp_path / "x-A.png", a)
    write_image(tmp_path / "x-B.png", b)
    write_image(tmp_path / "scene_10_1.tif", a)
    write_image(tmp_path / "scene_10_2.tif", b)
    write_image(tmp_path / "scene_2_a.bmp", a)
    write_image(tmp_path / "scene_2_b.bmp", b)
    write_image(tmp_path / "scene_2_truth.png", a)
    write_image(tmp_path / "scene_2_mask.png", np.where(a > 127, 255, 0).astype(np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    pairs = load_folder(tmp_path)
    assert [p.name for p in pairs] == ["mffw_01", "scene_2", "scene_10", "x"]  # natural order
    s2 = pairs[1]
    np.testing.assert_array_equal(s2.a, a)
    np.testing.assert_array_equal(s2.b, b)
    np.testing.assert_array_equal(s2.truth, a)
    np.testing.assert_array_equal(s2.mask, a > 127)
    np.testing.assert_array_equal(pairs[3].b, b)  # PNG: lossless
    assert pairs[0].truth is None and pairs[0].mask is None
    assert [p.name for p in load_dataset(str(tmp_path), limit=2)] == ["mffw_01", "scene_2"]
    assert has_dataset(str(tmp_path))


def test_subfolders(tmp_path, rng):
    for sub in ("A", "B", "truth"):
        (tmp_path / sub).mkdir()
    a, b = _pair(rng, (16, 16, 3))
    for n in ("p1", "p2"):
        write_image(tmp_path / "A" / f"{n}.png", a)
        write_image(tmp_path / "B" / f"{n}.png", b)
    write_image(tmp_path / "truth" / "p2.png", a)
    pairs = load_folder(tmp_path)
    assert [p.name for p in pairs] == ["p1", "p2"] and pairs[0].truth is None
    np.testing.assert_array_equal(pairs[1].truth, a)
    assert pairs[1].meta["layout"] == "subfolders A/B"


def test_unpaired_ambiguous_and_stray_files_are_listed(tmp_path, rng):
    a, b = _pair(rng)
    write_image(tmp_path / "one_A.png", a)
    write_image(tmp_path / "one_B.png", b)
    write_image(tmp_path / "lonely_A.png", a)
    with pytest.raises(ValueError, match=r"cannot pair every image: 1 without their partner source \(lonely_A\.png:"):
        load_folder(tmp_path)
    (tmp_path / "lonely_A.png").unlink()
    write_image(tmp_path / "one_1.png", a)
    with pytest.raises(ValueError, match=r"2 that are several files for one image of a pair \(one_1\.png, one_A\.png:"):
        load_folder(tmp_path)
    (tmp_path / "one_1.png").unlink()
    write_image(tmp_path / "holiday.png", a)
    with pytest.raises(ValueError, match=r"1 not part of a pair \(holiday\.png:"):
        load_folder(tmp_path)


def test_every_file_that_cannot_be_paired_is_named_in_one_message(tmp_path, rng):
    a, b = _pair(rng)
    for name, x in (("bird.png", a), ("cat_A.png", a), ("dog_B.png", b), ("ok_A.png", a), ("ok_B.png", b),
                    ("twin_A.png", a), ("twin_1.png", a), ("twin_B.png", b)):
        write_image(tmp_path / name, x)
    with pytest.raises(ValueError) as exc:
        load_folder(tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{tmp_path}: cannot pair every image: ")
    assert "1 not part of a pair (bird.png: " in msg
    assert "2 without their partner source (cat_A.png, dog_B.png: " in msg
    assert "2 that are several files for one image of a pair (twin_1.png, twin_A.png: " in msg
    assert "ok_" not in msg


def test_unpaired_files_in_subfolders_are_named_with_their_folder(tmp_path, rng):
    a, b = _pair(rng)
    for sub in ("A", "B"):
        (tmp_path / sub).mkdir()
    write_image(tmp_path / "A" / "p1.png", a)
    write_image(tmp_path / "B" / "p1.png", b)
    write_image(tmp_path / "A" / "p2.png", a)
    write_image(tmp_path / "B" / "p3.png", b)
    with pytest.raises(ValueError, match=r"2 without their partner source \(A/p2\.png, B/p3\.png: "):
        load_folder(tmp_path)


def test_size_mismatch_and_empty_and_missing_folder(tmp_path, rng):
    a, b = _pair(rng)
    write_image(tmp_path / "s_A.png", a)
    write_image(tmp_path / "s_B.png", b[:-1])
    with pytest.raises(ValueError, match="s_A.png"):
        load_folder(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no image pairs found"):
        load_folder(empty)
    with pytest.raises(ValueError, match="does not exist"):
        load_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown data set 'nowhere'"):
        load_dataset("nowhere")


def test_a_named_set_missing_from_the_data_folder_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))
    assert not has_dataset("lytro") and len(missing_files("lytro")) == 40
    with pytest.raises(ValueError, match=r"40 files missing.*smfuse data fetch lytro"):
        load_dataset("lytro")
    with pytest.raises(ValueError, match="smfuse data fetch authors"):
        load_dataset("train")
