"""Reading and writing images, grey conversion and input checks.

Every public function here checks its input and raises a one-line ``ValueError`` naming
the problem; writers are atomic (a temporary file renamed into place), so a failed call
never leaves a half-written output.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = [
    "read_image",
    "write_image",
    "rgb2gray_matlab",
    "to_gray",
    "to_unit",
    "from_unit",
    "check_pair",
    "round_half_away",
    "atomic_path",
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
    """Read a PNG, JPEG, BMP or TIFF image, grey or RGB, 8 or 16 bit.

    Parameters
    ----------
    path : str or PathLike
        The image file.

    Returns
    -------
    image : (H, W) or (H, W, 3) ndarray
        In the file's own dtype (``uint8``, ``uint16`` or ``float32``). An alpha channel
        that is fully opaque is dropped.

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

            arr = np.asarray(tifffile.imread(p))
        else:
            from PIL import Image

            with Image.open(p) as im:
                im.load()
                if im.mode in ("P", "PA", "LA", "RGBA", "CMYK", "YCbCr"):
                    im = im.convert("RGBA" if "A" in im.mode or im.mode == "P" else "RGB")
                if im.mode == "I;16" or im.mode.startswith("I;16"):
                    arr = np.asarray(im, dtype=np.uint16)
                elif im.mode == "I":
                    arr = np.asarray(im).astype(np.int64)
                    if arr.min() < 0 or arr.max() > 65535:
                        raise ValueError(f"{p}: 32-bit integer image out of 16-bit range")
                    arr = arr.astype(np.uint16)
                elif im.mode == "F":
                    arr = np.asarray(im, dtype=np.float32)
                elif im.mode == "1":
                    arr = np.asarray(im, dtype=np.uint8) * 255
                else:
                    arr = np.asarray(im)
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
    return np.ascontiguousarray(arr)


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


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp"):
    """A temporary file beside ``path`` that replaces ``path`` only if the block succeeds.

    Yields the temporary path (a closed, empty file) to write to; on normal exit it is
    renamed onto ``path`` (atomic on one file system), on any error it is removed, so a
    failed write never leaves a half-written output nor a stray temporary file.

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
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{p.name}.", suffix=suffix, dir=p.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an image atomically (PNG/TIFF/BMP lossless; JPEG at quality 95).

    Parameters
    ----------
    path : str or PathLike
        Destination; its suffix picks the format. Its folder must exist.
    image : (H, W) or (H, W, 3) ndarray
        ``uint8`` or ``uint16`` (16-bit grey to PNG or TIFF, 16-bit colour to TIFF).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _WRITABLE:
        raise ValueError(f"cannot write {p}: unknown image format {suffix!r} (use .png, .tif, .jpg or .bmp)")
    if not p.parent.is_dir():
        raise ValueError(f"cannot write {p}: folder {p.parent} does not exist")
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"cannot write {p}: expected uint8 or uint16 pixels, got {image.dtype}")
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


def to_gray(image: np.ndarray) -> np.ndarray:
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


def check_pair(a: np.ndarray, b: np.ndarray, *, names: tuple[str, str] = ("a", "b")) -> None:
    """Check that two source images can be fused together.

    Raises
    ------
    ValueError
        If the shapes differ (colour beside grey included: convert the colour source with
        :func:`rgb2gray_matlab`, or both to colour, first), if the dtypes differ, or if
        a float image holds NaN or infinity.
    """
    a, b = np.asarray(a), np.asarray(b)
    na, nb = names
    for name, x in ((na, a), (nb, b)):
        if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[2] != 3):
            raise ValueError(f"source {name} must be (H, W) grey or (H, W, 3) RGB, got shape {x.shape}")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise ValueError(f"source {name} contains NaN or infinite values")
    if a.ndim != b.ndim:
        kinds = {2: "grey", 3: "colour"}
        raise ValueError(
            f"source {na} is {kinds[a.ndim]} and source {nb} is {kinds[b.ndim]}; "
            "convert both to the same kind first"
        )
    if a.shape != b.shape:
        raise ValueError(f"sources differ in size: {na} is {a.shape[:2]}, {nb} is {b.shape[:2]}; register and crop them first")
    if a.dtype != b.dtype:
        raise ValueError(f"sources differ in pixel type: {na} is {a.dtype}, {nb} is {b.dtype}")
    if min(a.shape[:2]) < 3:
        raise ValueError(f"sources are too small ({a.shape[:2]}); need at least 3x3 pixels")
