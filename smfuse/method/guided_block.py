"""The guided block: repeated-blur subtraction maps -> guided filter -> initial mask MI.

The authors compute MI once, in MATLAB, before training. For each source (grey, [0, 1]):

1. ``blur = mean_filter(I, 7)`` with replicate borders ("repeated blur": blurring a
   focused pixel changes it more than blurring a defocused one);
2. ``S = |I - blur|`` — the subtraction map;
3. ``F = guided_filter(guide=I, src=S, r=5, eps=0.3)``;
4. ``MI = F2 > F1`` (strict: ties go to the first source; no morphology).

MI is 1 where the *second* source is sharper, as the authors' masks are (255 there).

Every function takes its images through the input contract (:func:`smfuse.io.as_image`):
``uint8`` and ``uint16`` are scaled to [0, 1] by their range (so an 8-bit image gives the
same mask as its [0, 1] version; ``eps`` is on the [0, 1] scale), float images must lie
in [0, 1] or in [0, ``data_range``]. :func:`initial_mask` also takes colour sources and image
files, as :func:`smfuse.fuse` does, and makes them grey the same way (:func:`smfuse.io.grey_unit`:
MATLAB ``rgb2gray`` for 8-bit colour).

:func:`initial_mask` streams the filters down the image in bands of rows, so that a 12 MP
pair needs a few bands of working memory, not a dozen whole-image arrays. An output row
depends on the input rows within :func:`halo` ``= blur_size // 2 + 2 r`` of it (13 for the
authors' 7 and 5: the mean filter reaches 3 rows, each of the guided filter's two box
passes 5), but bands read with that halo would not give the same bits: SciPy's box filter
keeps a running sum down each column, so a value depends, in its last bit, on where the
column started. The bands therefore carry each box filter's running sum from one band to
the next (:class:`_RunningBox`: the additions of ``scipy.ndimage.uniform_filter``, SciPy
1.17, in its order), and the banded mask is bit-identical to the whole-image one,
``focus_map(I2) > focus_map(I1)``, for any band height (tests/test_guided_block.py).
"""

from __future__ import annotations

import numpy as np

from scipy import ndimage

from smfuse.method.filters import guided_filter, mean_filter
from smfuse.io import as_image, grey_unit, source_pair

__all__ = ["subtraction_map", "focus_map", "initial_mask", "halo", "BLUR_SIZE", "GF_RADIUS", "GF_EPS"]

BLUR_SIZE = 7
GF_RADIUS = 5
GF_EPS = 0.3
#: Pixels per band of :func:`initial_mask` (rows = this // width): 1 MB per float64 array of
#: a band, some 30 of them alive at once; bands this small also run faster than the
#: whole-image filters on large images (their arrays stay in the CPU's cache).
BAND_PIXELS = 1 << 17


def _grey01(x: np.ndarray, role: str, data_range: float | None) -> np.ndarray:
    return as_image(x, role=role, data_range=data_range, grey=True)


def subtraction_map(image: np.ndarray, *, blur_size: int = BLUR_SIZE, data_range: float | None = None) -> np.ndarray:
    """Subtraction map ``S = |I - blur(I)|`` of one grey source.

    Parameters
    ----------
    image : (H, W) ndarray
        Grey source: uint8, uint16 or float in [0, 1] (see the module notes).
    blur_size : int
        Side of the mean filter (7 in the authors' code).
    data_range : float, optional
        White level of a float image, if not 1.

    Returns
    -------
    S : (H, W) float64 ndarray, >= 0
    """
    image = _grey01(image, "the image", data_range)
    return np.abs(image - mean_filter(image, blur_size))


def focus_map(image: np.ndarray, *, blur_size: int = BLUR_SIZE, r: int = GF_RADIUS,
              eps: float = GF_EPS, data_range: float | None = None) -> np.ndarray:
    """Guided-filtered subtraction map ``F = GF(I, S)``: the guided block's focus measure.

    Parameters
    ----------
    image : (H, W) ndarray
        Grey source: uint8, uint16 or float in [0, 1].
    blur_size, r, eps
        Mean-filter side, guided-filter radius and regularisation (7, 5, 0.3).
    data_range : float, optional
        White level of a float image, if not 1.
    """
    image = _grey01(image, "the image", data_range)
    return guided_filter(image, subtraction_map(image, blur_size=blur_size), r, eps)


def halo(*, blur_size: int = BLUR_SIZE, r: int = GF_RADIUS) -> int:
    """Rows (and columns) of input that one output pixel of the guided block depends on, each side.

    ``blur_size // 2`` for the mean filter of the subtraction map, then ``r`` for each of
    the guided filter's two box passes (over ``I, S`` for ``a, b``, then over ``a, b``):
    13 for the authors' settings.
    """
    return blur_size // 2 + 2 * r


def _check_params(blur_size, r, eps) -> None:
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not is_int(blur_size) or blur_size < 1 or blur_size % 2 == 0:
        raise ValueError(f"blur_size must be a positive odd integer (the mean filter's side, 7), got {blur_size!r}")
    if not is_int(r) or r < 0:
        raise ValueError(f"r must be an integer >= 0 (the guided filter's radius, 5), got {r!r}")
    if not isinstance(eps, (int, float, np.integer, np.floating)) or not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a number > 0 (the guided filter's regularisation, 0.3), got {eps!r}")


def initial_mask(i1, i2, *, blur_size: int = BLUR_SIZE, r: int = GF_RADIUS, eps: float = GF_EPS,
                 data_range: float | None = None, band: int | None = None) -> np.ndarray:
    """Initial binary mask MI of a source pair (the guided block's output, Sec. III-A).

    Parameters
    ----------
    i1, i2 : (H, W) or (H, W, 3) ndarray, or path
        The first (near-focus; the authors' ``Train_ir``) and second (far-focus;
        ``Train_vi``) source, same shape and pixel type: uint8, uint16, or float in
        [0, 1] (in [0, ``data_range``] if given); or the paths of two image files
        (:func:`smfuse.io.read_image`). What :func:`smfuse.fuse` accepts, checked by
        :func:`smfuse.io.source_pair`; colour is made grey as fusion makes it
        (:func:`smfuse.io.grey_unit`: MATLAB ``rgb2gray`` for 8-bit colour).
    blur_size, r, eps
        Mean-filter side, guided-filter radius and regularisation (7, 5, 0.3).
    data_range : float, optional
        White level of float sources, if not 1.
    band : int, optional
        Rows per band of the streamed filters (default: about :data:`BAND_PIXELS` pixels
        per band); any value gives the same mask, bit for bit.

    Returns
    -------
    MI : (H, W) bool ndarray
        True where the second source is sharper (``F2 > F1``, strict: ties go to the
        first source), ``F = focus_map(I)``.

    Raises
    ------
    TypeError, ValueError
        If the sources break the input contract (:func:`smfuse.io.check_pair`), name the
        same file, or a parameter is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import gaussian_filter
    >>> sharp = np.random.default_rng(0).random((32, 32))
    >>> initial_mask(gaussian_filter(sharp, 2), sharp).mean() > 0.9   # the second is sharper
    True
    """
    _check_params(blur_size, r, eps)
    if band is not None and (not isinstance(band, (int, np.integer)) or isinstance(band, bool) or band < 1):
        raise ValueError(f"band must be a positive number of rows or None, got {band!r}")
    a, b = source_pair(i1, i2, data_range=data_range)
    g1 = grey_unit(a, role="the first source", data_range=data_range)
    del a
    g2 = grey_unit(b, role="the second source", data_range=data_range)
    del b
    h, w = g1.shape
    rows = band or max(1, BAND_PIXELS // w)
    s1 = _FocusStream(h, w, blur_size, r, float(eps))
    s2 = _FocusStream(h, w, blur_size, r, float(eps))
    mask = np.empty((h, w), bool)
    done = 0
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        f1 = s1.push(g1, y0, y1)
        f2 = s2.push(g2, y0, y1)
        # MI = [F2 > F1]; both streams have emitted the same rows
        np.greater(f2, f1, out=mask[done:done + len(f1)])
        done += len(f1)
    assert done == h, (done, h)
    return mask


# ----------------------------------------------------------------------------- the streamed filters

class _RunningBox:
    """``scipy.ndimage.uniform_filter1d`` along axis 0 of rows fed in order, band by band.

    SciPy (1.17) filters each column with a running sum: ``s_0`` is the sum of the first
    ``size`` padded values, added in order from 0; ``s_y = s_{y-1} + (P[y+size-1] -
    P[y-1])``; the output is ``s_y / size``. This does the same additions, vectorised over
    the columns (``np.cumsum`` adds in order), and keeps ``s`` and the last padded rows from
    one band to the next, so that the output rows are the same bits as the whole-image
    filter's. ``mode`` is ``"nearest"`` (the border row repeated) or ``"constant"`` (zeros).
    """

    def __init__(self, size: int, height: int, width: int, mode: str):
        self.k, self.h, self.height, self.width, self.mode = size, size // 2, height, width, mode
        self.fed = 0  # input rows received
        self.done = 0  # output rows emitted
        self.base = 0  # padded index of tail[0]
        self.tail = np.empty((0, width))
        self.s = None  # the running sum at output row done - 1
        self.last = None

    def _pad(self, row: np.ndarray | None, n: int) -> np.ndarray:
        if self.mode == "nearest":
            return np.repeat(row[None], n, axis=0)
        return np.zeros((n, self.width))

    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed the next input rows ``x`` (n, W); return the output rows now complete (m, W)."""
        if self.k == 1:  # SciPy skips an axis of size 1: the rows themselves
            self.fed += len(x)
            return np.array(x, dtype=np.float64)
        parts = [self.tail]
        if self.fed == 0 and len(x):
            parts.append(self._pad(x[0], self.h))
        parts.append(x)
        self.fed += len(x)
        if len(x):
            self.last = x[-1]
        if self.fed == self.height:
            parts.append(self._pad(self.last, self.k - self.h - 1))
        ext = np.concatenate(parts)
        end = min(self.height, self.base + len(ext) - self.k + 1)  # outputs [done, end) are complete
        if end <= self.done:
            self.tail = ext
            return np.empty((0, self.width))
        first = max(self.done, 1)  # rows [first, end) come from the running sum
        lo, k = first - self.base, self.k
        d = ext[lo + k - 1:end - self.base + k - 1] - ext[lo - 1:end - self.base - 1]  # P[y+size-1] - P[y-1]
        if self.done == 0:
            s0 = np.zeros(self.width)
            for j in range(k):  # the first window, added in order from 0
                s0 += ext[j]
            s = np.cumsum(np.concatenate([s0[None], d]), axis=0)
        else:
            if len(d):
                d[0] += self.s  # s_y = s_{y-1} + (P[y+size-1] - P[y-1]), in the order of the sums below
            s = np.cumsum(d, axis=0, out=d)
        self.s = s[-1].copy()
        self.tail = ext[end - 1 - self.base:]
        self.base = end - 1
        self.done = end
        s /= k
        return s


class _Box2D:
    """``scipy.ndimage.uniform_filter(x, size, mode=mode)`` of rows fed in order (axis 0 streamed, then axis 1)."""

    def __init__(self, size: int, height: int, width: int, mode: str):
        self.size, self.mode = size, mode
        self.rows = _RunningBox(size, height, width, mode)

    def push(self, x: np.ndarray) -> np.ndarray:
        y = self.rows.push(x)
        if self.size > 1 and len(y):
            ndimage.uniform_filter1d(y, self.size, axis=1, output=y, mode=self.mode, cval=0.0)
        return y


class _Count:
    """The box filter of an image of ones (zero padding): how many window pixels lie in the image.

    Every column of ones is the same, so one column is streamed down the image (the same
    running sums as every column of the whole-image filter), and the few distinct rows it
    gives (the first and last ``r`` differ from the inner ones) are filtered along axis 1
    once each and reused: the same bits as ``uniform_filter(np.ones((H, W)), 2 r + 1,
    mode="constant")`` at a fraction of its cost.
    """

    def __init__(self, size: int, height: int, width: int):
        self.size, self.width = size, width
        self.column = _RunningBox(size, height, 1, "constant")
        self.rows: dict[float, np.ndarray] = {}

    def push(self, n: int) -> np.ndarray:
        c = self.column.push(np.ones((n, 1)))[:, 0]
        out = np.empty((len(c), self.width))
        for v in np.unique(c):
            row = self.rows.get(v)
            if row is None:
                row = np.full((1, self.width), v)
                if self.size > 1:
                    ndimage.uniform_filter1d(row, self.size, axis=1, output=row, mode="constant", cval=0.0)
                self.rows[v] = row
            out[c == v] = row
        return out


class _BoxMean:
    """:func:`smfuse.method.filters.box_mean` of several quantities fed in order, all on the same rows."""

    def __init__(self, n: int, r: int, height: int, width: int):
        self.sums = [_Box2D(2 * r + 1, height, width, "constant") for _ in range(n)]
        self.count = _Count(2 * r + 1, height, width)

    def push(self, *xs: np.ndarray) -> list[np.ndarray]:
        count = self.count.push(len(xs[0]))
        out = []
        for box, x in zip(self.sums, xs):
            total = box.push(x)
            total /= count  # box_mean = total / count
            out.append(total)
        return out


class _FocusStream:
    """``focus_map(I)`` (``guided_filter(I, |I - mean_filter(I)|, r, eps)``) of a grey image, band by band.

    :meth:`push` takes the rows ``[y0, y1)`` of the whole grey image and returns the focus
    map's rows that are then complete, in order (they lag by up to :func:`halo` rows; the
    last push returns the rest).
    """

    def __init__(self, height: int, width: int, blur_size: int, r: int, eps: float):
        self.eps = eps
        self.blur = _Box2D(blur_size, height, width, "nearest")
        self.first = _BoxMean(4, r, height, width)  # I, p, I p, I I
        self.second = _BoxMean(2, r, height, width)  # a, b
        self.at_s = self.at_q = 0  # the next row of S, of q

    def push(self, image: np.ndarray, y0: int, y1: int) -> np.ndarray:
        blur = self.blur.push(image[y0:y1])
        n = len(blur)
        I = image[self.at_s:self.at_s + n]
        # Sec. III-A: the subtraction map S = |I - blur(I)|, the guided filter's input p
        p = np.abs(I - blur)
        self.at_s += n
        mean_I, mean_p, corr_Ip, corr_II = self.first.push(I, p, I * p, I * I)
        # He et al., Alg. 1: a = cov(I, p) / (var(I) + eps), b = mean(p) - a mean(I)
        cov_Ip = corr_Ip - mean_I * mean_p
        var_I = corr_II - mean_I * mean_I
        a = cov_Ip / (var_I + self.eps)
        b = mean_p - a * mean_I
        mean_a, mean_b = self.second.push(a, b)
        k = len(mean_a)
        # F = q = mean(a) I + mean(b)
        q = mean_a * image[self.at_q:self.at_q + k] + mean_b
        self.at_q += k
        return q
