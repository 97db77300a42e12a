import numpy as np
import pytest

from smfuse.io import check_pair, from_unit, read_image, rgb2gray_matlab, round_half_away, to_gray, to_unit, write_image


def test_round_half_away_differs_from_numpy():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5])
    np.testing.assert_array_equal(round_half_away(x), [1, 2, 3, -1, -3])
    assert np.rint(2.5) == 2  # numpy is half-to-even


def test_rgb2gray_matlab_known_values():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 20, 30]]], np.uint8)
    # 0.298936..*255 = 76.2287 -> 76; 0.587043..*255 = 149.696 -> 150; 0.114020..*255 = 29.075 -> 29
    # 10*.2989+20*.5870+30*.1140 = 2.989+11.741+3.421 = 18.151 -> 18
    np.testing.assert_array_equal(rgb2gray_matlab(px)[0], [76, 150, 29, 255, 18])


def test_rgb2gray_half_rounds_up():
    # find a colour whose exact grey value has fraction .5 +- tiny: R=G=B gives integers, use weights
    px = np.zeros((1, 1, 3), np.uint8)
    px[0, 0] = [1, 0, 4]  # 0.298936 + 0.456084 = 0.75502 -> 1
    assert rgb2gray_matlab(px)[0, 0] == 1


@pytest.mark.parametrize("dtype,shape", [(np.uint8, (9, 7)), (np.uint8, (9, 7, 3)), (np.uint16, (9, 7)),
                                         (np.uint16, (9, 7, 3))])
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_write_read_roundtrip(tmp_path, rng, dtype, shape, suffix):
    top = np.iinfo(dtype).max
    img = rng.integers(0, top + 1, size=shape).astype(dtype)
    p = tmp_path / f"x{suffix}"
    if dtype == np.uint16 and len(shape) == 3 and suffix == ".png":
        with pytest.raises(ValueError, match="16-bit colour images need .tif"):
            write_image(p, img)
        assert not p.exists()
        return
    write_image(p, img)
    back = read_image(p)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, img)


def test_read_missing_and_corrupt(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        read_image(tmp_path / "nope.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read image"):
        read_image(bad)


def test_alpha_channel(tmp_path):
    from PIL import Image

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    assert read_image(tmp_path / "opaque.png").shape == (4, 4, 3)
    rgba[0, 0, 3] = 10
    Image.fromarray(rgba).save(tmp_path / "translucent.png")
    with pytest.raises(ValueError, match="alpha"):
        read_image(tmp_path / "translucent.png")


def test_nan_float_tiff_rejected(tmp_path):
    import tifffile

    x = np.zeros((5, 5), np.float32)
    x[2, 2] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", x)
    with pytest.raises(ValueError, match="NaN"):
        read_image(tmp_path / "nan.tif")


def test_write_bad_folder_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        write_image(tmp_path / "no" / "x.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="float32 TIFF only; use a .tif path"):
        write_image(tmp_path / "x.png", np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="uint8, uint16 or float pixels"):
        write_image(tmp_path / "x.png", np.zeros((3, 3), np.int32))
    assert list(tmp_path.iterdir()) == []


def test_unit_roundtrip():
    x = np.array([[0, 128, 255]], np.uint8)
    np.testing.assert_allclose(to_unit(x), [[0, 128 / 255, 1]])
    np.testing.assert_array_equal(from_unit(to_unit(x), np.uint8), x)
    y = np.array([[0, 65535]], np.uint16)
    np.testing.assert_array_equal(from_unit(to_unit(y), np.uint16), y)


def test_to_gray_uses_matlab_conversion():
    px = np.array([[[10, 20, 30]]], np.uint8)
    assert to_gray(px)[0, 0] == pytest.approx(18 / 255)


def test_check_pair_messages():
    g = np.zeros((8, 8), np.uint8)
    c = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="the first source is grey and the second source is colour"):
        check_pair(g, c)
    with pytest.raises(ValueError, match="differ in size"):
        check_pair(g, np.zeros((8, 9), np.uint8))
    with pytest.raises(ValueError, match="pixel type"):
        check_pair(g, np.zeros((8, 8), np.uint16))
    f = np.zeros((8, 8), np.float32)
    f[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        check_pair(f, np.zeros((8, 8), np.float32))
    check_pair(c, c)
