"""Reading and writing images, grey conversion, the one input contract and safe writes.

The input contract (:func:`check_image`, :func:`as_image`, :func:`check_pair`) is the
one place where an image array handed to the package is checked; every public boundary
(fusion, the guided block, the metrics, the baselines, evaluation, the command line)
calls it, so an image is accepted or refused alike everywhere:

* a numpy array, grey ``(H, W)`` or RGB ``(H, W, 3)``, not empty;
* ``uint8`` (0..255), ``uint16`` (0..65535) or float; a float image lies in [0, 1],
  or in [0, ``data_range``] when the caller says so (it is then scaled by
  ``1 / data_range``); values outside are refused, not clipped, with a one-line
  ``ValueError`` that names the range and the fix; NaN and infinity are refused.

Files are read as cameras and tools write them (:func:`read_image`): turned upright by their
EXIF orientation, grey+alpha read as grey, palette images as what they show. Two paths given
as a pair of sources (:func:`source_pair`) must not name one file twice.

Every public function here raises a one-line ``ValueError`` naming the problem; writers
are atomic (a temporary file renamed into place), so a failed call never leaves a
half-written output, and the file they leave follows the umask (0644 under 022).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = [
    "read_image",
    "upright",
    "source_pair",
    "refuse_same_source",
    "write_image",
    "rgb2gray_matlab",
    "to_grey",
    "to_unit",
    "from_unit",
    "check_pair",
    "round_half_away",
    "atomic_path",
    "check_image",
    "as_image",
    "grey_unit",
    "grey255",
    "check_data_range",
    "FLOAT_TOLERANCE",
    "refuse_clobber",
]

_TIFF = {".tif", ".tiff"}
_WRITABLE = {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp"}

# MATLAB rgb2gray weights (the inverse of the NTSC transform, as MATLAB computes them).
RGB2GRAY_WEIGHTS = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round half away from zero, as MATLAB's ``round`` (numpy rounds half to even)."""
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG, JPEG, BMP or TIFF image, grey or RGB, 8 or 16 bit, upright.

    Read as cameras and tools write them:

    * the EXIF orientation tag (0x0112; in a TIFF its own Orientation tag) is applied, with
      the semantics of PIL's ``ImageOps.exif_transpose``: a photo stored sideways with
      orientation 6 comes back upright, and the array has no tag left to apply (an image
      written by :func:`write_image` carries none);
    * an alpha channel that is fully opaque is dropped, so grey+alpha (``LA``) is grey and
      RGBA is RGB; a translucent alpha channel is refused: compositing it onto a backdrop
      would invent pixels that neither camera saw, and the focus measure would judge the
      backdrop;
    * a palette image is read as what it shows: grey where every colour it uses is grey,
      else RGB; a 1-bit image is grey 0/255; CMYK and YCbCr are converted to RGB.

    Parameters
    ----------
    path : str or PathLike
        The image file.

    Returns
    -------
    image : (H, W) or (H, W, 3) ndarray
        In the file's own dtype (``uint8``, ``uint16`` or ``float32``).

    Raises
    ------
    ValueError
        If the file is missing, cannot be decoded, has a translucent alpha channel,
        or is not grey or RGB.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"image file not found: {p}")
    try:
        if p.suffix.lower() in _TIFF:
            import tifffile

            with tifffile.TiffFile(p) as tif:
                arr = np.asarray(tif.asarray())
                tag = tif.pages[0].tags.get(_ORIENTATION) if len(tif.pages) else None
                orientation = tag.value if tag is not None else 1
        else:
            from PIL import Image

            with Image.open(p) as im:
                if im.format == "PNG" and _png_16_bit_colour(p):
                    raise ValueError(f"{p}: a 16-bit colour PNG cannot be read here without losing its low 8 bits; "
                                     "save it as a 16-bit TIFF (or as 8-bit) first")
                im.load()
                orientation = im.getexif().get(_ORIENTATION, 1)
                arr = _pil_array(im, p)
    except ValueError:
        raise
    except Exception as exc:  # decoders raise many kinds; one line for the user
        raise ValueError(f"cannot read image {p}: {type(exc).__name__}: {exc}") from None
    arr = _drop_opaque_alpha(arr, p)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f"{p}: expected a grey (H, W) or RGB (H, W, 3) image, got shape {arr.shape}")
    if arr.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise ValueError(f"{p}: unsupported pixel type {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{p}: image contains NaN or infinite values")
    return np.ascontiguousarray(upright(arr, orientation))


#: The EXIF (and TIFF) Orientation tag.
_ORIENTATION = 0x0112


def upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """An image stored with EXIF ``orientation`` turned as it is meant to be seen.

    The eight values of the tag as PIL's ``ImageOps.exif_transpose`` applies them: 1 as
    stored, 2 mirrored left-right, 3 turned 180 degrees, 4 mirrored top-bottom, 5
    transposed, 6 turned 90 degrees clockwise, 7 transversed, 8 turned 90 degrees
    anticlockwise; any other value leaves the image as stored.

    Parameters
    ----------
    image : (H, W) or (H, W, C) ndarray
    orientation : int

    Returns
    -------
    ndarray
        A view of ``image``; ``(W, H[, C])`` for 5 to 8.
    """
    try:
        orientation = int(orientation)
    except (TypeError, ValueError):
        return image
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(image, -1)
    if orientation == 7:
        return image[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(image, 1)
    return image


def _png_16_bit_colour(p: Path) -> bool:
    """Whether a PNG file holds 16-bit colour (PIL decodes it to 8 bits): its IHDR's bit depth and colour type."""
    with open(p, "rb") as fh:
        head = fh.read(26)
    return len(head) == 26 and head[24] == 16 and head[25] in (2, 6)


def _pil_array(im, p: Path) -> np.ndarray:
    """The pixels of a loaded PIL image as grey, grey+alpha, RGB or RGBA."""
    mode = im.mode
    if mode in ("P", "PA"):
        see_through = mode == "PA" or "transparency" in im.info
        arr = np.asarray(im.convert("RGBA" if see_through else "RGB"))
        colour = arr[..., :3]
        if np.array_equal(colour[..., 0], colour[..., 1]) and np.array_equal(colour[..., 0], colour[..., 2]):
            arr = np.dstack([colour[..., 0], arr[..., 3]]) if see_through else colour[..., 0]
        return arr
    if mode in ("La",):
        return np.asarray(im.convert("LA"))
    if mode in ("RGBa", "CMYK", "YCbCr", "HSV", "RGBX"):
        return np.asarray(im.convert("RGBA" if mode == "RGBa" else "RGB"))
    if mode.startswith("I;16"):
        return np.asarray(im, dtype=np.uint16)
    if mode == "I":
        arr = np.asarray(im).astype(np.int64)
        if arr.min() < 0 or arr.max() > 65535:
            raise ValueError(f"{p}: 32-bit integer image out of 16-bit range")
        return arr.astype(np.uint16)
    if mode == "F":
        return np.asarray(im, dtype=np.float32)
    if mode == "1":
        return np.asarray(im, dtype=np.uint8) * 255
    return np.asarray(im)  # L, LA, RGB, RGBA


def _drop_opaque_alpha(arr: np.ndarray, p: Path) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        alpha = arr[..., -1]
        full = np.iinfo(arr.dtype).max if arr.dtype.kind == "u" else 1.0
        if not np.all(alpha == full):
            raise ValueError(
                f"{p}: image has a translucent alpha channel; flatten it onto a background first"
            )
        arr = arr[..., :-1]
        if arr.shape[2] == 1:
            arr = arr[..., 0]
    return arr


def _umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp"):
    """A temporary file beside ``path`` that replaces ``path`` only if the block succeeds.

    Yields the temporary path (a closed, empty file) to write to; on normal exit it is
    given the mode a newly created file gets under the umask (``0o666 & ~umask``: 0644
    under 022; ``mkstemp`` alone would leave 0600) and renamed onto ``path`` (atomic on
    one file system); on any error it is removed, so a failed write never leaves a
    half-written output nor a stray temporary file.

    Raises
    ------
    OSError
        (of the same kind) If the folder cannot be written, naming ``path`` and its
        folder, not the hidden temporary file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(out, suffix=".csv") as tmp:
    ...     _ = tmp.write_text("a,b\\n")
    >>> out.read_text()
    'a,b\\n'
    """
    p = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{p.name}.", suffix=suffix, dir=p.parent)
    except OSError as exc:
        raise _write_error(exc, p) from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, p)
        except OSError as exc:
            raise _write_error(exc, p) from None
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_error(exc: OSError, p: Path) -> OSError:
    why = exc.strerror or str(exc)
    if isinstance(exc, (PermissionError, FileNotFoundError)) or p.is_dir():
        where = f"{p} is a folder" if p.is_dir() else f"folder {p.parent} is not writable or does not exist"
        msg = f"cannot write {p}: {where} ({why}); choose another output path"
    else:
        msg = f"cannot write {p}: {why}"
    err = type(exc)(msg)
    err.errno = exc.errno
    return err


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an image atomically (PNG/TIFF/BMP lossless; JPEG at quality 95).

    Parameters
    ----------
    path : str or PathLike
        Destination; its suffix picks the format. Its folder must exist.
    image : (H, W) or (H, W, 3) ndarray
        ``uint8`` or ``uint16`` (16-bit grey to PNG or TIFF, 16-bit colour to TIFF), or
        float (to TIFF only, written as ``float32`` with its values unchanged).

    Raises
    ------
    ValueError
        If the format, folder, shape or pixel type cannot be written (nothing is).
    OSError
        If the folder is not writable (see :func:`atomic_path`).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _WRITABLE:
        raise ValueError(f"cannot write {p}: unknown image format {suffix!r} (use .png, .tif, .jpg or .bmp)")
    if not p.parent.is_dir():
        raise ValueError(f"cannot write {p}: folder {p.parent} does not exist")
    if not isinstance(image, np.ndarray):
        raise TypeError(f"cannot write {p}: expected a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3) or image.size == 0:
        raise ValueError(f"cannot write {p}: expected a grey (H, W) or RGB (H, W, 3) image, got shape {image.shape}")
    if image.dtype.kind == "f":
        if suffix not in _TIFF:
            raise ValueError(f"cannot write {p}: float images are written as float32 TIFF only; use a .tif "
                             "path, or convert to uint8/uint16 first")
        if not np.isfinite(image).all():
            raise ValueError(f"cannot write {p}: image contains NaN or infinite values")
        image = image.astype(np.float32)
    elif image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot write {p}: expected uint8, uint16 or float pixels, got {image.dtype}")
    if image.dtype == np.uint16 and suffix not in (".png", ".tif", ".tiff"):
        raise ValueError(f"cannot write {p}: 16-bit images need .png or .tif")
    if image.dtype == np.uint16 and image.ndim == 3 and suffix not in _TIFF:
        raise ValueError(f"cannot write {p}: 16-bit colour images need .tif")
    with atomic_path(p, suffix=suffix) as tmp:
        if suffix in _TIFF:
            import tifffile

            tifffile.imwrite(tmp, image)
        else:
            from PIL import Image

            kwargs = {"quality": 95} if suffix in (".jpg", ".jpeg") else {}
            Image.fromarray(image).save(tmp, format=_pil_format(suffix), **kwargs)


def _pil_format(suffix: str) -> str:
    return {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}[suffix]


def rgb2gray_matlab(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` of an 8-bit RGB image, bit-exact.

    ``0.298936021293775 R + 0.587043074451121 G + 0.114020904255103 B`` rounded half
    away from zero, as ``uint8``. This is the grey conversion behind the published
    metric tables (see ``spec/METRICS.md``).

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray

    Returns
    -------
    grey : (H, W) uint8 ndarray
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb2gray_matlab expects an (H, W, 3) image, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"rgb2gray_matlab expects uint8 pixels, got {rgb.dtype}")
    g = rgb.astype(np.float64) @ RGB2GRAY_WEIGHTS
    return np.clip(round_half_away(g), 0, 255).astype(np.uint8)


def to_unit(image: np.ndarray) -> np.ndarray:
    """Scale an image to float64 in [0, 1] by its dtype's range (floats are taken as [0, 1])."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float64) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float64) / 65535.0
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise ValueError("image contains NaN or infinite values")
        return image.astype(np.float64)
    raise ValueError(f"unsupported pixel type {image.dtype}; expected uint8, uint16 or float")


def from_unit(image: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`to_unit`: [0, 1] floats back to ``dtype`` (rounded, clipped; no stretch)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.asarray(image, dtype=dtype)
    top = float(np.iinfo(dtype).max)
    return np.clip(np.rint(np.asarray(image) * top), 0, top).astype(dtype)


def to_grey(image: np.ndarray) -> np.ndarray:
    """Grey version of an image in [0, 1] float64.

    RGB ``uint8`` images use MATLAB ``rgb2gray`` (rounded to 8 bit, as the authors'
    grey training images and the metric references are); other RGB images use the same
    weights without rounding.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) ndarray

    Returns
    -------
    grey : (H, W) float64 ndarray in [0, 1]
    """
    image = np.asarray(image)
    if image.ndim == 2:
        return to_unit(image)
    if image.ndim == 3 and image.shape[2] == 3:
        if image.dtype == np.uint8:
            return rgb2gray_matlab(image).astype(np.float64) / 255.0
        return to_unit(image) @ RGB2GRAY_WEIGHTS
    raise ValueError(f"expected a grey (H, W) or RGB (H, W, 3) image, got shape {image.shape}")


# ----------------------------------------------------------------------------- the input contract

#: Float pixels at most this far (relative to the range) outside [0, data_range] are
#: taken as rounding (a float32 filter's last bit) and clipped; further out they are refused.
FLOAT_TOLERANCE = 1e-6


def check_data_range(data_range) -> float | None:
    """``data_range`` as a float (``None`` stays ``None``: float images are in [0, 1]).

    Raises
    ------
    ValueError
        If it is not a finite number > 0.
    """
    if data_range is None:
        return None
    ok = isinstance(data_range, (int, float, np.integer, np.floating)) and not isinstance(data_range, bool)
    if not ok or not np.isfinite(data_range) or data_range <= 0:
        raise ValueError(f"data_range must be a positive number (the value of white in a float image), "
                         f"got {data_range!r}")
    return float(data_range)


def _range_error(role: str, lo: float, hi: float, top: float, option: str) -> ValueError:
    span = "[0, 1]" if top == 1.0 else f"[0, {top:g}] (from {option}{top:g})"
    guess = next((g for g in (255, 65535) if top < g and hi <= g), None)
    if lo < -FLOAT_TOLERANCE * top:
        fix = f"clip or rescale it into {span.split(' (')[0]} first"
    elif guess is not None:
        fix = f"pass {option}{guess} if {guess} is white, or divide it by {guess} first"
    else:
        fix = "rescale it into [0, 1] first (divide by its maximum), or pass its white level as " + option.strip()
    return ValueError(f"{role} is a float image with values in [{lo:.6g}, {hi:.6g}], outside {span}; {fix}")


def check_image(x, *, role: str = "the image", data_range: float | None = None, grey: bool = False,
                option: str = "data_range=") -> np.ndarray:
    """Check an image against the input contract; return it unchanged.

    Parameters
    ----------
    x : ndarray
        A grey ``(H, W)`` or RGB ``(H, W, 3)`` image: ``uint8``, ``uint16`` or float.
    role : str
        What the image is, for the messages (``"the first source"``, ``"the fused image"``).
    data_range : float, optional
        The value of white in a float image: it must lie in [0, data_range]. Default
        ``None``: [0, 1]. Integer images always use their type's full range.
    grey : bool
        Accept grey ``(H, W)`` images only.
    option : str
        How the caller spells ``data_range`` in the fix the message names
        (``"--data-range "`` on the command line).

    Returns
    -------
    ndarray
        ``x`` itself.

    Raises
    ------
    TypeError
        If ``x`` is not a numpy array ("expected a numpy array, got list").
    ValueError
        If it is empty or of the wrong shape or pixel type, holds NaN or infinity, or is
        a float image outside its range (the message names the range and the fix).

    Examples
    --------
    >>> import numpy as np
    >>> check_image(np.full((4, 4), 200.0), role="the first source")
    Traceback (most recent call last):
    ...
    ValueError: the first source is a float image with values in [200, 200], outside [0, 1]; pass data_range=255 if 255 is white, or divide it by 255 first
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{role}: expected a numpy array, got {type(x).__name__} (convert it with np.asarray first)")
    if grey and x.ndim != 2:
        hint = " (convert colour with smfuse.io.to_grey first)" if x.ndim == 3 and x.shape[2] == 3 else ""
        raise ValueError(f"{role} must be a grey (H, W) image, got shape {x.shape}{hint}")
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[2] != 3):
        raise ValueError(f"{role} must be a grey (H, W) or RGB (H, W, 3) image, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{role} is empty (shape {x.shape})")
    if x.dtype in (np.uint8, np.uint16):
        return x
    if x.dtype.kind != "f":
        raise ValueError(f"{role} has pixel type {x.dtype}; expected uint8, uint16 or float "
                         "(e.g. x.astype(np.uint8) for values 0..255)")
    top = check_data_range(data_range) or 1.0
    if not np.isfinite(x).all():
        raise ValueError(f"{role} contains NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < -FLOAT_TOLERANCE * top or hi > top * (1 + FLOAT_TOLERANCE):
        raise _range_error(role, lo, hi, top, option)
    return x


def as_image(x, *, role: str = "the image", data_range: float | None = None, grey: bool = False,
             option: str = "data_range=") -> np.ndarray:
    """An image checked by :func:`check_image`, as float64 in [0, 1].

    ``uint8`` is divided by 255, ``uint16`` by 65535, float by ``data_range`` (default
    1); float values within :data:`FLOAT_TOLERANCE` outside the range are clipped.

    Returns
    -------
    image : ndarray
        Same shape, float64 in [0, 1].
    """
    x = check_image(x, role=role, data_range=data_range, grey=grey, option=option)
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if x.dtype == np.uint16:
        return x.astype(np.float64) / 65535.0
    top = check_data_range(data_range) or 1.0
    out = x.astype(np.float64)
    if top != 1.0:
        out /= top
    return np.clip(out, 0.0, 1.0, out=out)


def grey_unit(x, *, role: str = "the image", data_range: float | None = None,
              option: str = "data_range=") -> np.ndarray:
    """Grey version of a checked image, float64 in [0, 1] (:func:`to_grey` after :func:`check_image`).

    8-bit RGB goes through MATLAB ``rgb2gray`` (rounded to 8 bit); other RGB images use
    the same weights without rounding.
    """
    x = check_image(x, role=role, data_range=data_range, option=option)
    if x.ndim == 3 and x.dtype == np.uint8:
        return rgb2gray_matlab(x).astype(np.float64) / 255.0
    u = as_image(x, role=role, data_range=data_range, option=option)
    return u @ RGB2GRAY_WEIGHTS if u.ndim == 3 else u


def grey255(x, *, role: str = "the image", data_range: float | None = None,
            option: str = "data_range=") -> np.ndarray:
    """A checked image in the metric convention: grey float64 on the 0..255 scale.

    ``uint8`` grey is used as it is and ``uint8`` RGB goes through MATLAB ``rgb2gray``
    (bit-exact with the published tables, see :mod:`smfuse.evaluation.metrics`); ``uint16`` is
    divided by 257 and float multiplied by ``255 / data_range`` (exact for float images
    already on 0..255 with ``data_range=255``); other RGB images are then made grey with
    the ``rgb2gray`` weights, unrounded.

    Returns
    -------
    grey : (H, W) float64 ndarray in [0, 255]
    """
    x = check_image(x, role=role, data_range=data_range, option=option)
    if x.dtype == np.uint8:
        return (rgb2gray_matlab(x) if x.ndim == 3 else x).astype(np.float64)
    if x.dtype == np.uint16:
        g = x.astype(np.float64) / 257.0
    else:
        top = check_data_range(data_range) or 1.0
        g = x.astype(np.float64)
        if top != 255.0:
            g *= 255.0 / top
        np.clip(g, 0.0, 255.0, out=g)
    return g @ RGB2GRAY_WEIGHTS if g.ndim == 3 else g


def check_pair(a, b, *, names: tuple[str, str] | None = None, data_range: float | None = None,
               option: str = "data_range=") -> tuple[np.ndarray, np.ndarray]:
    """Check that two source images can be fused together (the input contract for a pair).

    Parameters
    ----------
    a, b : ndarray
        The first and second source (see :func:`check_image`).
    names : (str, str), optional
        Labels (file names, say) added to the roles in the messages: "the first source
        NAME" (an empty label adds nothing).
    data_range, option
        As for :func:`check_image`.

    Returns
    -------
    (a, b)
        The two arrays, unchanged.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_image` for each source; also if the shapes differ (colour beside
        grey included: convert the colour source with :func:`rgb2gray_matlab`, or both
        to colour, first), if the pixel types differ, or if they are smaller than 3x3.
    """
    ra, rb = "the first source", "the second source"
    if names is not None:
        ra, rb = (f"{r} {n}" if n else r for r, n in zip((ra, rb), names))
    a = check_image(a, role=ra, data_range=data_range, option=option)
    b = check_image(b, role=rb, data_range=data_range, option=option)
    if a.ndim != b.ndim:
        kinds = {2: "grey", 3: "colour"}
        raise ValueError(f"{ra} is {kinds[a.ndim]} and {rb} is {kinds[b.ndim]}; convert both to the same kind first")
    if a.shape != b.shape:
        raise ValueError(f"sources differ in size: {ra} is {a.shape[:2]}, {rb} is {b.shape[:2]}; "
                         "register and crop them first")
    if a.dtype != b.dtype:
        raise ValueError(f"sources differ in pixel type: {ra} is {a.dtype}, {rb} is {b.dtype}; "
                         "convert one of them first")
    if min(a.shape[:2]) < 3:
        raise ValueError(f"sources are too small ({a.shape[:2]}); need at least 3x3 pixels")
    return a, b


def refuse_same_source(a: str | os.PathLike, b: str | os.PathLike) -> None:
    """Refuse two source paths that name one image: the same file, or two copies of it.

    Fusing an image with itself does nothing (every pixel ties) and is nearly always a
    slip on the command line, so it is refused before any work.

    Parameters
    ----------
    a, b : str or PathLike
        The first and second source.

    Raises
    ------
    ValueError
        If ``a`` and ``b`` are the same path, the same file through a symlink or a hard
        link (:func:`os.path.samefile`), or two files with the same bytes. Missing files
        pass (reading them says so).
    """
    p, q = Path(a), Path(b)
    fix = "give two images of one scene focused at different depths"
    if not (p.is_file() and q.is_file()):
        return
    if os.path.samefile(p, q):
        how = "the same path" if os.path.abspath(p) == os.path.abspath(q) else "links to one file"
        raise ValueError(f"the first source {p} and the second source {q} are one file ({how}); {fix}")
    if p.stat().st_size == q.stat().st_size:
        import filecmp

        if filecmp.cmp(p, q, shallow=False):
            raise ValueError(f"the first source {p} and the second source {q} are copies of one image "
                             f"(identical bytes); {fix}")


def source_pair(a, b, *, data_range: float | None = None, option: str = "data_range=",
                distinct: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A pair of sources from arrays or image files, checked by :func:`check_pair`.

    Parameters
    ----------
    a, b : ndarray, str or PathLike
        The first and second source: arrays (see :func:`check_image`) or the paths of
        image files (read by :func:`read_image`, upright).
    data_range, option
        As for :func:`check_image`.
    distinct : bool
        Refuse two paths that name one image (:func:`refuse_same_source`), before reading.

    Returns
    -------
    (a, b) : tuple of ndarray

    Raises
    ------
    TypeError, ValueError
        As :func:`refuse_same_source`, :func:`read_image` and :func:`check_pair`.
    """
    is_path = [isinstance(x, (str, os.PathLike)) for x in (a, b)]
    if all(is_path) and distinct:
        refuse_same_source(a, b)
    names = tuple(str(x) if p else "" for x, p in zip((a, b), is_path))
    a = read_image(a) if is_path[0] else a
    b = read_image(b) if is_path[1] else b
    return check_pair(a, b, names=names, data_range=data_range, option=option)


# ----------------------------------------------------------------------------- safe outputs

def refuse_clobber(outputs: dict[str, str | os.PathLike], sources: dict[str, str | os.PathLike]) -> None:
    """Refuse outputs that would destroy an input or each other, before any work.

    Parameters
    ----------
    outputs : dict
        What each output is (``"output"``, ``"mask output"``) -> its path.
    sources : dict
        What each input is (``"the first source"``) -> its path.

    Raises
    ------
    ValueError
        If an output path is a source file (the same file: the same path, a symlink to it
        or a hard link of it, by :func:`os.path.samefile`), or two outputs name the same
        file.
    """
    def same(p: Path, q: Path) -> bool:
        if os.path.lexists(p) and os.path.lexists(q):
            try:
                return os.path.samefile(p, q)
            except OSError:  # a dangling link
                pass
        return p.resolve() == q.resolve()

    outs = [(k, Path(v)) for k, v in outputs.items() if v is not None]
    for what, p in outs:
        for role, src in sources.items():
            if src is not None and same(p, Path(src)):
                raise ValueError(f"{what} {p} is {role} ({src}); writing it would destroy the input: "
                                 "choose another output path")
    for i, (w1, p1) in enumerate(outs):
        for w2, p2 in outs[i + 1:]:
            if same(p1, p2):
                raise ValueError(f"{w1} and {w2} are the same file ({p1}); give them different paths")
