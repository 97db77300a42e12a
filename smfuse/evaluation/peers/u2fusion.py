"""U2Fusion (Xu, Ma, Jiang, Guo, Ling), ported to PyTorch from its released TensorFlow weights.

Paper: H. Xu, J. Ma, J. Jiang, X. Guo, H. Ling, "U2Fusion: A Unified Unsupervised Image
Fusion Network", IEEE Trans. Pattern Anal. Mach. Intell. 44(1), 2022, 502-518,
doi:10.1109/TPAMI.2020.3012548.

Code: github.com/hanna-xu/U2Fusion at commit ``0a5882140df67b3e0b588e1f2233e18cf944f1a4``
(``Net.py``, ``model.py``, ``test_main.py``; the checkpoint ``model/model.ckpt``, one model
for every fusion task, read here without TensorFlow by
:func:`smfuse.runtime.tensorbundle.read_tensor_bundle`). Colour:
github.com/hanna-xu/utils at commit ``e881f05c8c36812340ba4cfac29c396c0052da8b``
(``fusedY2RGB/fusedY2RGB.m``, ``fusedY2RGB/YCbCr2rgb.m``, MATLAB).

Network (``Net.py``, 659,217 parameters; ``Generator/encoder``, ``Generator_1/decoder``):
the two grey sources, concatenated as two channels, go through a dense encoder (a 3x3
convolution to 44 channels, then five 3x3 convolutions of 44 channels, each one's output
concatenated *before* its input, to 264 channels) and a decoder of four 3x3 convolutions
(264 -> 128 -> 64 -> 32 -> 1). Every convolution reflect-pads by one pixel and runs
VALID, adds its bias and, except the last, applies leaky ReLU ``max(x, 0.2 x)``; the last
gives ``tanh(x) / 2 + 0.5``.

Pipeline of the authors' test script (``test_main.py``), reproduced here:

1. Sources read as 8 bit, divided by 255; a colour source becomes its full-range luma
   ``Y = 0.299 R + 0.587 G + 0.114 B`` (float64), fed to the network as float32.
2. The network's output ``F`` in (0, 1) is written through ``scipy.misc.toimage(F,
   cmin=0, cmax=max(F))``: stretched so that its maximum becomes 255, then
   ``uint8(F * 255 / max(F) + 0.5)`` in float32 (SciPy's ``bytescale``).
3. With two colour sources the script writes this grey Y only; the authors restore colour
   with their separate MATLAB script ``fusedY2RGB.m`` (the repository's README points to it):
   Cb and Cr of each source from MATLAB ``rgb2ycbcr`` (BT.601 studio range, rounded to
   uint8), fused as ``(x1 |x1 - 128| + x2 |x2 - 128|) / (|x1 - 128| + |x2 - 128|)`` (128
   where both are 128), and the fused 8-bit Y put back with ``YCbCr2rgb.m``
   (``[1.164 0 1.596; 1.164 -0.392 -0.813; 1.164 2.017 0] * [Y - 16, Cb - 128, Cr - 128]``),
   then ``uint8`` (rounded half away from zero, clipped). That script treats the
   full-range, stretched Y as studio-range Y, so the colour output is brighter and of
   higher contrast than the grey one; this is what the authors' pipeline does and it is
   kept.

Source order: the network is not symmetric in its two inputs. The authors' multi-focus
configuration of ``test_main.py`` feeds the far-focus image as ``SOURCE1`` and the
near-focus image as ``SOURCE2`` (their ``test_imgs/multi-focus/far`` and ``near`` are grey
Lytro B and A images). This project's pairs follow Lytro: ``a`` = near focus, ``b`` = far
focus, so :func:`fuse` feeds ``b`` first and ``a`` second, as the authors ran Lytro.

Departures from the authors' code:

- PyTorch instead of TensorFlow 1; convolutions in float32 on CPU. On Lytro pairs 01-03
  the 8-bit grey output differs from the authors' code (run under TensorFlow 2.21 with
  ``tf.compat.v1``) on a few pixels by one grey level (``tests/fixtures/peers/u2fusion``).
- The colour step is done in Python (NumPy) instead of MATLAB. MATLAB ``rgb2ycbcr`` is
  reproduced from its definition (``imlincomb`` with ``origT / 255`` and offsets 16, 128,
  rounded half away from zero); it was not run against MATLAB or Octave here.
- The fused Y goes to the colour step as the 8-bit array, not through a file: the
  authors' ``test_main.py`` saves it in the sources' format (JPEG for the Lytro JPEGs,
  lossy) and ``fusedY2RGB.m`` reads that file back and writes the colour result as JPEG
  again; neither lossy JPEG round trip is reproduced.
- Grey sources give the grey output of step 2 (as ``test_main.py`` does); a grey and a
  colour source are not accepted (both sources must have the same shape), where
  ``test_main.py`` would colour the result from the one colour source.

With the colour step, QAB/F on Lytro 01 / 02 (MATLAB ``rgb2gray`` of sources and result)
is 0.656 / 0.621, as measured with the authors' pipeline. Cost: about 6 CPU-seconds per
520x520 pair (two threads), against about 4.5 for the authors' code under TensorFlow 2.21
on the same machine.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...data.sets import data_root
from ...runtime.tensorbundle import read_tensor_bundle

__all__ = ["fuse", "fuse_y", "load_weights", "default_weights", "U2FusionNet", "fuse_luma", "fused_y2rgb",
           "rgb2ycbcr_matlab", "N_PARAMETERS"]

#: Parameters of the released generator (encoder and decoder).
N_PARAMETERS = 659_217

_WIDTH = 44  # ``n`` in Net.py
_ENCODER = ("conv1_1", "dense_block_conv1", "dense_block_conv2", "dense_block_conv3", "dense_block_conv4",
            "dense_block_conv5")
_DECODER = ("conv2_1", "conv2_2", "conv2_3", "conv2_4")
_DATA_SUFFIX = ".data-00000-of-00001"


class U2FusionNet(nn.Module):
    """U2Fusion's generator (``Net.py``: ``Generator.transform``).

    Takes two grey images in [0, 1] as ``(B, 1, H, W)`` float tensors (``SOURCE1``,
    ``SOURCE2``) and returns the fused image ``tanh(x) / 2 + 0.5``, ``(B, 1, H, W)``.
    Every convolution is 3x3 with one pixel of reflection padding.
    """

    def __init__(self) -> None:
        super().__init__()
        n = _WIDTH
        self.encoder = nn.ModuleList([nn.Conv2d(2, n, 3)] + [nn.Conv2d(n * k, n, 3) for k in range(1, 6)])
        self.decoder = nn.ModuleList([nn.Conv2d(n * 6, 128, 3), nn.Conv2d(128, 64, 3), nn.Conv2d(64, 32, 3),
                                      nn.Conv2d(32, 1, 3)])

    def forward(self, source1: torch.Tensor, source2: torch.Tensor) -> torch.Tensor:
        """Fuse ``source1`` and ``source2`` (each ``(B, 1, H, W)``, H and W at least 2).

        The dense block's concatenations ``[new, input]`` are laid out in one buffer,
        already reflect-padded, that fills from its last channels to its first: each
        convolution reads a contiguous tail of it. Same values as padding and
        concatenating anew at every layer, with less copying.
        """
        n = _WIDTH
        batch, _, h, w = source1.shape
        buf = source1.new_empty((batch, 6 * n, h + 2, w + 2))
        lo = 6 * n
        x = F.pad(torch.cat([source1, source2], dim=1), (1, 1, 1, 1), mode="reflect")
        for conv in self.encoder:
            y = F.leaky_relu_(conv(x), 0.2)  # max(x, 0.2 x), Net.py's leaky ReLU
            lo -= n
            _put_reflect_padded(buf[:, lo:lo + n], y)
            x = buf[:, lo:]
        for conv in self.decoder[:-1]:
            x = F.pad(F.leaky_relu_(conv(x), 0.2), (1, 1, 1, 1), mode="reflect")
        return torch.tanh(self.decoder[-1](x)) / 2 + 0.5


def _put_reflect_padded(dst: torch.Tensor, y: torch.Tensor) -> None:
    """Write ``y`` (B, C, H, W) into ``dst`` (B, C, H+2, W+2) with one pixel of reflection padding."""
    dst[:, :, 1:-1, 1:-1] = y
    dst[:, :, 0, 1:-1] = dst[:, :, 2, 1:-1]
    dst[:, :, -1, 1:-1] = dst[:, :, -3, 1:-1]
    dst[:, :, :, 0] = dst[:, :, :, 2]
    dst[:, :, :, -1] = dst[:, :, :, -3]


def default_weights() -> Path:
    """The released checkpoint's prefix: ``<data folder>/peers/u2fusion/model.ckpt``.

    The data folder is ``$SMFUSE_DATA`` if set, else ``data/`` in the repository root
    (:func:`smfuse.data.sets.data_root`).
    """
    return data_root() / "peers" / "u2fusion" / "model.ckpt"


def _checkpoint_files(path: str | os.PathLike | None) -> tuple[Path, Path]:
    prefix = Path(path) if path is not None else default_weights()
    if prefix.name.endswith(".index"):
        prefix = prefix.with_name(prefix.name[: -len(".index")])
    index, data = prefix.with_name(prefix.name + ".index"), prefix.with_name(prefix.name + _DATA_SUFFIX)
    for f in (index, data):
        if not f.is_file():
            raise ValueError(f"U2Fusion weights missing: {f} does not exist; run `smfuse data fetch peers` "
                             f"(or set SMFUSE_DATA to the folder that holds peers/u2fusion/)")
    return index, data


@functools.lru_cache(maxsize=4)
def _load(index: str, data: str) -> U2FusionNet:
    tensors = read_tensor_bundle(index, data)
    net = U2FusionNet()
    layers = ([(f"Generator/encoder/{s}", c) for s, c in zip(_ENCODER, net.encoder)]
              + [(f"Generator_1/decoder/{s}", c) for s, c in zip(_DECODER, net.decoder)])
    with torch.no_grad():
        for name, conv in layers:
            kernel = tensors[f"{name}/kernel"]  # (kh, kw, in, out) -> (out, in, kh, kw)
            if kernel.shape != (3, 3, conv.in_channels, conv.out_channels):
                raise ValueError(f"{index}: {name}/kernel has shape {kernel.shape}, not U2Fusion's "
                                 f"{(3, 3, conv.in_channels, conv.out_channels)}")
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
            conv.bias.copy_(torch.from_numpy(tensors[f"{name}/bias"]))
    net.eval().requires_grad_(False)
    return net


def load_weights(path: str | os.PathLike | None = None) -> U2FusionNet:
    """The released U2Fusion generator as a PyTorch module (loaded once per checkpoint).

    Parameters
    ----------
    path : str or PathLike, optional
        The TensorFlow checkpoint prefix (``.../model.ckpt``, beside which lie
        ``model.ckpt.index`` and ``model.ckpt.data-00000-of-00001``), or its ``.index``
        file. Default :func:`default_weights`.

    Returns
    -------
    U2FusionNet
        In eval mode, without gradients, float32 on CPU. The same object is returned for
        the same path: do not modify it.

    Raises
    ------
    ValueError
        If a checkpoint file is missing (the message names it and the fix) or the
        checkpoint is not U2Fusion's.
    """
    index, data = _checkpoint_files(path)
    return _load(str(index.resolve()), str(data.resolve()))


def _check_sources(a, b) -> None:
    for role, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"U2Fusion: source {role} is a {type(x).__name__}, not a numpy array; "
                            f"pass np.asarray(image) of dtype uint8")
        if x.dtype != np.uint8:
            raise TypeError(f"U2Fusion: source {role} has dtype {x.dtype}, not uint8; convert it to 8 bit "
                            f"first (e.g. np.clip(np.round(x * 255), 0, 255).astype(np.uint8) for floats in [0, 1])")
        if not (x.ndim == 2 or (x.ndim == 3 and x.shape[2] == 3)):
            raise ValueError(f"U2Fusion: source {role} has shape {x.shape}; give (H, W) grey or (H, W, 3) RGB "
                             f"(drop an alpha channel with x[..., :3])")
        if min(x.shape[:2]) < 2:
            raise ValueError(f"U2Fusion: source {role} is {x.shape[0]}x{x.shape[1]}; reflection padding "
                             f"needs at least 2x2 pixels")
    if a.shape != b.shape:
        raise ValueError(f"U2Fusion: the sources differ in shape, {a.shape} and {b.shape}; give two registered "
                         f"images of the same size, both grey or both RGB")


def _luma(x: np.ndarray) -> np.ndarray:
    """``test_main.py``: ``imread(...) / 255.0``, then ``rgb2ycbcr``'s Y for colour (float64)."""
    x = x / 255.0
    if x.ndim == 3:
        x = 0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2]
    return x


def _bytescale(f: np.ndarray) -> np.ndarray:
    """``scipy.misc.toimage(f, cmin=0.0, cmax=np.max(f))`` (SciPy <= 1.1 ``bytescale``) for float32 ``f``."""
    cscale = float(np.max(f))  # cmax - cmin, cmin = 0
    if cscale == 0:
        cscale = 1.0
    scaled = f * np.float32(255.0 / cscale)  # float32, as NumPy 1.x computed it
    return (np.clip(scaled, 0, 255) + np.float32(0.5)).astype(np.uint8)


def fuse_luma(y1: np.ndarray, y2: np.ndarray, net: U2FusionNet | None = None) -> np.ndarray:
    """The network's raw output for two grey images in [0, 1] (``SOURCE1``, ``SOURCE2``).

    Parameters
    ----------
    y1, y2 : (H, W) ndarray
        Float grey images in [0, 1], in the network's input order.
    net : U2FusionNet, optional
        Default :func:`load_weights` ().

    Returns
    -------
    (H, W) float32 ndarray
        ``tanh(.) / 2 + 0.5``, before the 8-bit stretch.
    """
    net = load_weights() if net is None else net
    t1 = torch.from_numpy(np.ascontiguousarray(y1, dtype=np.float32))[None, None]
    t2 = torch.from_numpy(np.ascontiguousarray(y2, dtype=np.float32))[None, None]
    with torch.inference_mode():
        return net(t1, t2)[0, 0].numpy()


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _to_uint8_matlab(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)`` of doubles: rounded half away from zero, clipped to [0, 255]."""
    return np.clip(_round_half_away(x), 0, 255).astype(np.uint8)


def rgb2ycbcr_matlab(rgb: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2ycbcr`` of a uint8 RGB image: BT.601 studio-range YCbCr, uint8.

    Each channel is ``imlincomb(T(p,1), R, T(p,2), G, T(p,3), B, offset(p))`` with
    ``T = (1/255) * [65.481 128.553 24.966; -37.797 -74.203 112; 112 -93.786 -18.214]``
    and offsets ``[16 128 128]``, computed in double and rounded half away from zero.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray

    Returns
    -------
    (H, W, 3) uint8 ndarray
    """
    t = (1.0 / 255.0) * np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0],
                                  [112.0, -93.786, -18.214]])
    offset = (16.0, 128.0, 128.0)
    r, g, b = (rgb[:, :, k].astype(np.float64) for k in range(3))
    return np.stack([_to_uint8_matlab(t[p, 0] * r + t[p, 1] * g + t[p, 2] * b + offset[p]) for p in range(3)],
                    axis=-1)


def _fuse_chroma(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """``fusedY2RGB.m``: ``(x1 |x1-128| + x2 |x2-128|) / (|x1-128| + |x2-128|)``, 128 where both are 128."""
    w1, w2 = np.abs(x1 - 128.0), np.abs(x2 - 128.0)
    den = w1 + w2
    both_neutral = (x1 == 128) & (x2 == 128)
    return np.where(both_neutral, 128.0, (x1 * w1 + x2 * w2) / np.where(both_neutral, 1.0, den))


def fused_y2rgb(y: np.ndarray, rgb1: np.ndarray, rgb2: np.ndarray) -> np.ndarray:
    """The authors' colour step (``fusedY2RGB.m`` with ``YCbCr2rgb.m``), in NumPy.

    Parameters
    ----------
    y : (H, W) uint8 ndarray
        The fused grey image as the authors' test script writes it.
    rgb1, rgb2 : (H, W, 3) uint8 ndarray
        The colour sources.

    Returns
    -------
    (H, W, 3) uint8 ndarray
        ``uint8(M * [Y - 16, Cb - 128, Cr - 128])`` with
        ``M = [1.164 0 1.596; 1.164 -0.392 -0.813; 1.164 2.017 0]`` and Cb, Cr fused from the
        sources' MATLAB ``rgb2ycbcr``.
    """
    c1 = rgb2ycbcr_matlab(rgb1).astype(np.float64)
    c2 = rgb2ycbcr_matlab(rgb2).astype(np.float64)
    yy = y.astype(np.float64) - 16.0
    cb = _fuse_chroma(c1[:, :, 1], c2[:, :, 1]) - 128.0
    cr = _fuse_chroma(c1[:, :, 2], c2[:, :, 2]) - 128.0
    r = 1.164 * yy + 1.596 * cr
    g = 1.164 * yy + -0.392 * cb + -0.813 * cr
    b = 1.164 * yy + 2.017 * cb
    return np.stack([_to_uint8_matlab(r), _to_uint8_matlab(g), _to_uint8_matlab(b)], axis=-1)


def fuse_y(a: np.ndarray, b: np.ndarray, *, weights: str | os.PathLike | None = None) -> np.ndarray:
    """The fused grey image exactly as the authors' ``test_main.py`` writes it.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) uint8 ndarray
        As for :func:`fuse`: ``a`` near focus, ``b`` far focus (fed first).
    weights : str or PathLike, optional
        The checkpoint prefix (see :func:`load_weights`).

    Returns
    -------
    (H, W) uint8 ndarray
        ``uint8(F * 255 / max(F) + 0.5)`` of the network's output ``F`` for the sources'
        grey levels (colour sources: their full-range luma ``0.299 R + 0.587 G + 0.114 B``).

    Raises
    ------
    TypeError, ValueError
        As :func:`fuse`.
    """
    _check_sources(a, b)
    net = load_weights(weights)
    return _bytescale(fuse_luma(_luma(b), _luma(a), net))


def fuse(a: np.ndarray, b: np.ndarray, *, weights: str | os.PathLike | None = None) -> np.ndarray:
    """Fuse two registered multi-focus sources with the released U2Fusion model.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) uint8 ndarray
        The sources, same shape: ``a`` the near-focus and ``b`` the far-focus image (the
        Lytro ``A`` / ``B`` convention); ``b`` is fed as the network's first input, as the
        authors' multi-focus test configuration feeds its ``far/`` image.
    weights : str or PathLike, optional
        The checkpoint prefix (see :func:`load_weights`); default :func:`default_weights`.

    Returns
    -------
    (H, W) or (H, W, 3) uint8 ndarray
        Grey sources: the authors' 8-bit output (stretched so that the network's maximum
        is 255). Colour sources: that Y with the sources' fused chroma, as the authors'
        ``fusedY2RGB.m`` restores colour.

    Raises
    ------
    TypeError
        If a source is not a uint8 numpy array.
    ValueError
        If the sources differ in shape, are neither (H, W) nor (H, W, 3), are smaller
        than 2x2, or the weights are missing.
    """
    y = fuse_y(a, b, weights=weights)
    if a.ndim == 2:
        return y
    return fused_y2rgb(y, b, a)
