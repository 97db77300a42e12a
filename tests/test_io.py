import numpy as np
import pytest

from smfuse.io import check_pair, from_unit, read_image, rgb2gray_matlab, round_half_away, to_grey, to_unit, write_image


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


def test_to_grey_uses_matlab_conversion():
    px = np.array([[[10, 20, 30]]], np.uint8)
    assert to_grey(px)[0, 0] == pytest.approx(18 / 255)


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


# ----------------------------------------------------------------------------- the input contract

def test_check_image_names_the_role_the_problem_and_the_fix():
    from smfuse.io import check_image

    g = np.zeros((4, 5), np.uint8)
    with pytest.raises(TypeError, match=r"^the first source: expected a numpy array, got list"):
        check_image([[1, 2], [3, 4]], role="the first source")
    with pytest.raises(ValueError, match=r"^the fused image has pixel type int64; expected uint8, uint16 or float"):
        check_image(g.astype(np.int64), role="the fused image")
    with pytest.raises(ValueError, match="pixel type bool"):
        check_image(g.astype(bool))
    with pytest.raises(ValueError, match=r"must be a grey \(H, W\) or RGB \(H, W, 3\) image, got shape \(4, 5, 2\)"):
        check_image(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(ValueError, match=r"must be a grey \(H, W\) image, got shape \(4, 5, 3\) \(convert colour"):
        check_image(np.zeros((4, 5, 3), np.uint8), grey=True)
    with pytest.raises(ValueError, match="is empty"):
        check_image(np.zeros((0, 5), np.uint8))
    with pytest.raises(ValueError, match="the image contains NaN or infinite values"):
        check_image(np.array([[0.5, np.inf]]))
    x = np.array([[0.0, 200.0]])
    with pytest.raises(ValueError) as exc:
        check_image(x, role="the first source")
    assert str(exc.value) == ("the first source is a float image with values in [0, 200], outside [0, 1]; "
                              "pass data_range=255 if 255 is white, or divide it by 255 first")
    with pytest.raises(ValueError, match=r"outside \[0, 1\]; pass --data-range 65535 if 65535 is white"):
        check_image(x * 100, option="--data-range ")
    with pytest.raises(ValueError, match=r"values in \[-0.5, 0.5\], outside \[0, 1\]; clip or rescale it into \[0, 1\]"):
        check_image(np.array([[-0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"outside \[0, 100\] \(from data_range=100\)"):
        check_image(x, data_range=100)
    for bad in (0, -1, float("nan"), float("inf"), "255", True):
        with pytest.raises(ValueError, match="data_range must be a positive number"):
            check_image(x, data_range=bad)
    assert check_image(x, data_range=255) is x and check_image(g, data_range=3) is g  # integers keep their range


def test_as_image_scales_each_type_to_unit():
    from smfuse.io import as_image

    np.testing.assert_array_equal(as_image(np.array([[0, 51, 255]], np.uint8)), [[0, 0.2, 1]])
    np.testing.assert_array_equal(as_image(np.array([[0, 13107, 65535]], np.uint16)), [[0, 0.2, 1]])
    np.testing.assert_array_equal(as_image(np.array([[0, 51, 255]], np.float32), data_range=255), [[0, 0.2, 1]])
    np.testing.assert_array_equal(as_image(np.array([[0, 51, 255]], np.uint8), data_range=7), [[0, 0.2, 1]])
    # a float32 filter's last-bit overshoot is rounding, clipped; anything further is refused
    assert as_image(np.array([[1 + 1e-7, -1e-8]]))[0].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="outside"):
        as_image(np.array([[1.001]]))
    assert as_image(np.zeros((2, 2), np.float32)).dtype == np.float64


def test_check_pair_names_both_sources_and_returns_them():
    a = np.zeros((8, 8), np.uint8)
    assert all(x is a for x in check_pair(a, a))
    with pytest.raises(ValueError, match=r"^sources differ in pixel type: the first source x.png is uint8, "
                                         r"the second source y.tif is float64; convert one of them first$"):
        check_pair(a, a / 255.0, names=("x.png", "y.tif"))
    with pytest.raises(ValueError, match=r"the second source is a float image .* pass data_range=255"):
        check_pair(a / 255.0, a + 9.0)
    with pytest.raises(TypeError, match="the second source: expected a numpy array, got list"):
        check_pair(a, a.tolist())


# ----------------------------------------------------------------------------- safe outputs

def test_refuse_clobber_sees_links_and_twins(tmp_path):
    import os

    from smfuse.io import refuse_clobber

    src = tmp_path / "src.png"
    src.write_bytes(b"photo")
    os.symlink(src, tmp_path / "soft.png")
    os.link(src, tmp_path / "hard.png")
    os.symlink(tmp_path / "gone.png", tmp_path / "dangling.png")
    srcs = {"the first source": src}
    for name in ("src.png", "soft.png", "hard.png"):
        with pytest.raises(ValueError, match=rf"^-o \S*{name} is the first source \(\S*src.png\); writing it would "
                                             "destroy the input: choose another output path$"):
            refuse_clobber({"-o": tmp_path / name}, srcs)
    with pytest.raises(ValueError, match="is the first source"):  # the same file by another spelling
        refuse_clobber({"-o": tmp_path / "sub" / ".." / "src.png"}, srcs)
    with pytest.raises(ValueError, match=r"^-o and --mask-out are the same file"):
        refuse_clobber({"-o": tmp_path / "new.png", "--mask-out": tmp_path / "new.png"}, srcs)
    refuse_clobber({"-o": tmp_path / "new.png", "--mask-out": tmp_path / "dangling.png", "x": None}, srcs)
    assert src.read_bytes() == b"photo"


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mode):
    import os
    import stat

    old = os.umask(umask)
    try:
        write_image(tmp_path / "x.png", np.zeros((3, 3), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x.png").stat().st_mode) == mode
    assert os.umask(old) == old  # reading the umask did not change it


def test_atomic_path_names_the_output_not_the_temporary_file(tmp_path, monkeypatch):
    import tempfile

    from smfuse.io import atomic_path

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".tmp-t.csv.abc.csv"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError) as exc:
        with atomic_path(tmp_path / "t.csv"):
            pass
    assert str(exc.value) == (f"cannot write {tmp_path / 't.csv'}: folder {tmp_path} is not writable or does not "
                              "exist (Permission denied); choose another output path")
    monkeypatch.undo()
    (tmp_path / "d.png").mkdir()
    with pytest.raises(OSError, match=r"d.png is a folder"):
        write_image(tmp_path / "d.png", np.zeros((3, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png"]


def test_float_images_are_written_as_float32_tiff(tmp_path):
    x = np.linspace(0, 255, 12, dtype=np.float64).reshape(3, 4)
    write_image(tmp_path / "f.tif", x)
    back = read_image(tmp_path / "f.tif")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, x.astype(np.float32))


# ----------------------------------------------------------------------------- images as cameras and tools write them

def _exif(orientation: int):
    from PIL import Image

    ex = Image.Exif()
    ex[0x0112] = orientation
    return ex


@pytest.mark.parametrize("orientation", range(0, 10))
def test_exif_orientation_is_applied_as_pil_exif_transpose_does(tmp_path, rng, orientation):
    from PIL import Image, ImageOps

    x = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)  # not square: a turn shows in the shape
    p = tmp_path / "o.png"
    Image.fromarray(x).save(p, exif=_exif(orientation))
    with Image.open(p) as im:
        want = np.asarray(ImageOps.exif_transpose(im))
    got = read_image(p)
    assert got.shape == ((7, 5, 3) if orientation in (5, 6, 7, 8) else (5, 7, 3))
    np.testing.assert_array_equal(got, want)
    assert got.flags.c_contiguous


def test_a_tiff_orientation_tag_is_applied_too(tmp_path, rng):
    import tifffile

    x = rng.integers(0, 65536, (5, 7), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "o.tif", x, extratags=[(0x0112, "H", 1, 6, True)])
    got = read_image(tmp_path / "o.tif")
    assert got.dtype == np.uint16 and got.shape == (7, 5)
    # orientation 6 (TIFF 6.0: row 0 is the visual right side, column 0 the visual top): turn 90 degrees clockwise
    np.testing.assert_array_equal(got[0], x[::-1, 0])
    np.testing.assert_array_equal(got[:, -1], x[0])


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_an_image_read_upright_is_written_upright_without_a_tag(tmp_path, rng, suffix):
    from PIL import Image

    x = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    Image.fromarray(x).rotate(90, expand=True).save(tmp_path / f"in{suffix}", exif=_exif(6))
    up = read_image(tmp_path / f"in{suffix}")
    assert up.shape == (40, 30, 3)
    write_image(tmp_path / f"out{suffix}", up)
    with Image.open(tmp_path / f"out{suffix}") as im:
        assert im.size == (30, 40) and 0x0112 not in im.getexif()
    back = read_image(tmp_path / f"out{suffix}")
    if suffix == ".png":
        np.testing.assert_array_equal(back, x)


def test_grey_alpha_is_read_grey_and_a_translucent_alpha_is_refused(tmp_path, rng):
    from PIL import Image

    g = rng.integers(0, 256, (6, 5), dtype=np.uint8)
    Image.fromarray(np.dstack([g, np.full_like(g, 255)]), "LA").save(tmp_path / "la.png")
    got = read_image(tmp_path / "la.png")
    assert got.shape == (6, 5)
    np.testing.assert_array_equal(got, g)
    alpha = np.full_like(g, 255)
    alpha[2, 3] = 254
    Image.fromarray(np.dstack([g, alpha]), "LA").save(tmp_path / "see_through.png")
    with pytest.raises(ValueError, match=r"^\S+see_through.png: image has a translucent alpha channel; flatten it "
                                         "onto a background first$"):
        read_image(tmp_path / "see_through.png")


def test_palette_images_are_read_as_what_they_show(tmp_path, rng):
    from PIL import Image

    g = rng.integers(0, 256, (6, 5), dtype=np.uint8)
    Image.fromarray(g).convert("P").save(tmp_path / "grey_palette.png")
    got = read_image(tmp_path / "grey_palette.png")
    assert got.shape == (6, 5) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, g)
    c = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    pal = Image.fromarray(c).quantize(8)
    pal.save(tmp_path / "colour_palette.png")
    got = read_image(tmp_path / "colour_palette.png")
    assert got.shape == (6, 5, 3)
    np.testing.assert_array_equal(got, np.asarray(pal.convert("RGB")))
    # a transparent palette index that no pixel uses leaves the image opaque, so grey
    unused = int(np.setdiff1d(np.arange(256), g)[0])
    Image.fromarray(g).convert("P").save(tmp_path / "t.png", transparency=unused)
    with Image.open(tmp_path / "t.png") as im:
        assert im.mode == "P" and "transparency" in im.info
    np.testing.assert_array_equal(read_image(tmp_path / "t.png"), g)


def _png_16_bit_rgb(path, a):
    import struct
    import zlib

    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[i].astype(">u2").tobytes() for i in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_a_16_bit_colour_png_is_refused_not_cut_to_8_bits(tmp_path, rng):
    _png_16_bit_rgb(tmp_path / "c16.png", rng.integers(0, 65536, (4, 5, 3)).astype(np.uint16))
    with pytest.raises(ValueError, match=r"c16.png: a 16-bit colour PNG cannot be read here without losing its low "
                                         r"8 bits; save it as a 16-bit TIFF"):
        read_image(tmp_path / "c16.png")


# ----------------------------------------------------------------------------- one image given twice

def test_one_image_given_as_both_sources_is_refused_before_reading(tmp_path, rng, monkeypatch):
    import os

    from smfuse import io
    from smfuse.io import refuse_same_source, source_pair

    a, b = rng.integers(0, 256, (8, 9), dtype=np.uint8), rng.integers(0, 256, (8, 9), dtype=np.uint8)
    write_image(tmp_path / "a.png", a)
    write_image(tmp_path / "b.png", b)
    os.symlink(tmp_path / "a.png", tmp_path / "soft.png")
    os.link(tmp_path / "a.png", tmp_path / "hard.png")
    (tmp_path / "copy.png").write_bytes((tmp_path / "a.png").read_bytes())
    reads = []
    monkeypatch.setattr(io, "read_image", lambda p: reads.append(p))
    cases = {"a.png": "one file \\(the same path\\)", "soft.png": "one file \\(links to one file\\)",
             "hard.png": "one file \\(links to one file\\)", "copy.png": "copies of one image \\(identical bytes\\)"}
    for second, how in cases.items():
        for f in (refuse_same_source, source_pair):
            with pytest.raises(ValueError, match=rf"^the first source \S+a.png and the second source \S+{second} are "
                                                 rf"{how}; give two images of one scene focused at different depths$"):
                f(tmp_path / "a.png", str(tmp_path / second))
    assert reads == [], "refused before any file was read"
    monkeypatch.undo()
    refuse_same_source(tmp_path / "a.png", tmp_path / "b.png")
    refuse_same_source(tmp_path / "a.png", tmp_path / "missing.png")  # reading it says so
    got_a, got_b = source_pair(tmp_path / "a.png", str(tmp_path / "b.png"))
    np.testing.assert_array_equal(got_a, a)
    np.testing.assert_array_equal(got_b, b)
    same_a, same_b = source_pair(tmp_path / "a.png", tmp_path / "a.png", distinct=False)
    np.testing.assert_array_equal(same_a, same_b)
    with pytest.raises(ValueError, match=r"sources differ in size: the first source \S+a.png is \(8, 9\), the second "
                                         r"source is \(8, 8\)"):
        source_pair(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
