"""MFF-GAN, ported from the authors' released TensorFlow 1 weights to PyTorch.

Paper: H. Zhang, Z. Le, Z. Shao, H. Xu, J. Ma, "MFF-GAN: An unsupervised generative
adversarial network with adaptive and gradient joint constraints for multi-focus image
fusion", Information Fusion 66 (2021) 40-53, doi:10.1016/j.inffus.2020.08.022.

Code and weights: https://github.com/HaoZhang1018/MFF-GAN, commit
``2f674c8aa00613e4637b8b12c772323b872fa9b4`` (``test.py`` for inference,
``RGB2YCbCr/main.m`` for colour; ``checkpoint/{Lytro,MFI-WHU}_model/CGAN.model-19``).

Pipeline (grey Y only goes through the network):

1. Y of each colour source by MATLAB's ``rgb2ycbcr`` (uint8: ``16 + (65.481 R + 128.553 G
   + 24.966 B) / 255``, rounded half away from zero). Grey sources are used as they are.
2. Network input ``(Y - 127.5) / 127.5``; the near-focus source (the authors' ``Test_near``,
   Lytro ``A``) goes to the first branch, the far-focus one (``Test_far``, Lytro ``B``) to
   the ``_far`` branch. Swapping them moves the output by 1.0-1.5 grey levels on average
   before the stretch of step 4 (1.8-3.2 after it) on Lytro 01-03.
3. Generator (the ``fusion_model/`` variables: 26 tensors, 40,033 values): two branches
   of 'SAME' convolutions, each followed by ``max(x, 0.2 x)``; ``layer1`` 5x5 1->16,
   ``layer2`` 3x3 16->16; ``layer2_3`` 1x1 on both branches' ``layer2`` (32->16);
   ``layer3`` 3x3 on ``[layer1, layer2, layer2_3]`` (48->16); ``layer3_4`` 1x1 on both
   branches' ``layer3`` (32->16); ``layer4`` 3x3 on ``[layer1, layer2, layer3,
   layer3_4]`` (64->16); ``layer5`` 1x1 on ``[l1 near, l1 far, l2 near, l2 far, l3 near,
   l3 far, l4 near, l4 far]`` (128->1), then ``tanh``. No input padding.
4. ``F = 127.5 tanh(.) + 127.5`` saved with ``scipy.misc.imsave``, which min-max stretches
   the float image to 0..255 (``scipy.misc.bytescale``: ``(F - min) * 255 / (max - min)``,
   ``+ 0.5``, truncated to uint8), all in float32 as in their run.
5. Colour (``main.m``, second part): ``Cb``, ``Cr`` of each source by the authors'
   ``RGB2YCbCr.m`` (``Cb = -0.148 R - 0.291 G + 0.439 B + 128``, ``Cr = 0.439 R - 0.368 G
   - 0.071 B + 128``, in double), fused as ``sum_k C_k |C_k - 128| / sum_k |C_k - 128|``
   (128 where both are 128); the stretched Y and these go through their ``YCbCr2RGB.m``
   (``R = 1.164 (Y - 16) + 1.596 (Cr - 128)``, ``G = 1.164 (Y - 16) - 0.392 (Cb - 128)
   - 0.813 (Cr - 128)``, ``B = 1.164 (Y - 16) + 2.017 (Cb - 128)``) and MATLAB's
   ``uint8`` (round half away from zero, saturate).

Validated against the authors' ``test.py`` (run under TensorFlow 2.21's ``compat.v1``) on
Lytro 01-03: see ``tests/fixtures/peers/mffgan/README.md`` and
``tests/test_peer_mffgan.py``.

Departures from the authors' code:

- Weights are read without TensorFlow (:func:`smfuse.runtime.tensorbundle.read_tensor_bundle`)
  and the network runs in PyTorch, float32 on the CPU (kernels HWIO -> OIHW, no flip;
  'SAME' with odd kernels is a symmetric zero padding of ``k // 2``; channels-last memory
  layout, for speed). Float rounding differs from TensorFlow's kernels, so a few stretched
  pixels differ by one grey level (0 to 5 of 270,400 on Lytro 01-03).
- Colour is restored in Python/numpy, not by their MATLAB ``main.m``; not validated against
  MATLAB (no MATLAB or Octave here). Their ``main.m`` reads back the fused Y from the JPEG
  that ``test.py`` wrote; here the uint8 Y is used directly (no JPEG round trip), and the
  result is returned as an array (``main.m`` writes another JPEG).
- Y of colour sources: their README says to make it with ``main.m``'s first (commented)
  part, i.e. their ``RGB2YCbCr.m`` (``0.257 R + 0.504 G + 0.098 B + 16``) on uint8 images,
  written as JPEG (MATLAB's default quality 75). Their own test images were not made that
  way: MATLAB's built-in ``rgb2ycbcr`` Y of Lytro 01, 05 and 11, JPEG-encoded at quality 75,
  reproduces their ``Test_near``/``Test_far`` ``1-3.jpg`` bit for bit, while ``RGB2YCbCr.m``
  does not (29-35 % of the pixels differ). The port uses the built-in formula and skips
  the lossy JPEG step (the Y goes to the network losslessly).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ...data.fetch import data_folder
from ...runtime.tensorbundle import read_tensor_bundle

__all__ = ["MODELS", "MFFGANGenerator", "default_weights", "load_weights", "rgb2ycbcr_y", "fuse_y",
           "restore_colour", "fuse"]

MODELS: dict[str, str] = {"lytro": "Lytro_model", "mfi-whu": "MFI-WHU_model"}
"""``model=`` name -> folder of the released checkpoint (both ``CGAN.model-19``; trained on
Lytro and on MFI-WHU)."""

_PREFIX = "CGAN.model-19"
_DATA_SUFFIX = ".data-00000-of-00001"
_FIX = "run `smfuse data fetch peers` (or set SMFUSE_DATA)"

# (name, kernel, in channels, out channels) of every convolution; each has a ``_far`` twin
# except ``layer5``. The names are the authors' variable scopes.
_LAYERS = (("layer1", 5, 1, 16), ("layer2", 3, 16, 16), ("layer2_3", 1, 32, 16),
           ("layer3", 3, 48, 16), ("layer3_4", 1, 32, 16), ("layer4", 3, 64, 16))
_LAST = ("layer5", 1, 128, 1)


def _tf_names(layer: str) -> tuple[str, str]:
    """The authors' TensorFlow names of a layer's kernel and bias (``layer2_3_far`` ->
    ``fusion_model/layer2_3_far/w2_3_far``, ``.../b2_3_far``)."""
    suffix = layer[len("layer"):]
    return f"fusion_model/{layer}/w{suffix}", f"fusion_model/{layer}/b{suffix}"


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    """The authors' ``lrelu``: ``max(x, 0.2 x)``."""
    return torch.maximum(x, 0.2 * x)


class MFFGANGenerator(nn.Module):
    """MFF-GAN's generator (the authors' ``fusion_model``), in PyTorch.

    Every convolution is an ``nn.Conv2d`` named after the authors' variable scope
    (``layer1``, ``layer1_far``, ..., ``layer5``), stride 1, zero padding ``k // 2``
    (TensorFlow's 'SAME' for odd kernels).
    """

    def __init__(self) -> None:
        super().__init__()
        for name, k, cin, cout in _LAYERS:
            for suffix in ("", "_far"):
                self.add_module(name + suffix, nn.Conv2d(cin, cout, k, padding=k // 2))
        name, k, cin, cout = _LAST
        self.add_module(name, nn.Conv2d(cin, cout, k, padding=k // 2))

    def forward(self, near: torch.Tensor, far: torch.Tensor) -> torch.Tensor:
        """Fuse two normalised grey batches.

        Parameters
        ----------
        near, far : Tensor
            (B, 1, H, W) float32, ``(Y - 127.5) / 127.5``; ``near`` goes to the first
            branch (the authors' ``images_near``), ``far`` to the ``_far`` branch.

        Returns
        -------
        Tensor
            (B, 1, H, W), ``tanh`` output in [-1, 1].
        """
        c1n, c1f = _lrelu(self.layer1(near)), _lrelu(self.layer1_far(far))
        c2n, c2f = _lrelu(self.layer2(c1n)), _lrelu(self.layer2_far(c1f))
        mid2 = torch.cat([c2n, c2f], dim=1)
        c23n, c23f = _lrelu(self.layer2_3(mid2)), _lrelu(self.layer2_3_far(mid2))
        c3n = _lrelu(self.layer3(torch.cat([c1n, c2n, c23n], dim=1)))
        c3f = _lrelu(self.layer3_far(torch.cat([c1f, c2f, c23f], dim=1)))
        mid3 = torch.cat([c3n, c3f], dim=1)
        c34n, c34f = _lrelu(self.layer3_4(mid3)), _lrelu(self.layer3_4_far(mid3))
        c4n = _lrelu(self.layer4(torch.cat([c1n, c2n, c3n, c34n], dim=1)))
        c4f = _lrelu(self.layer4_far(torch.cat([c1f, c2f, c3f, c34f], dim=1)))
        return torch.tanh(self.layer5(torch.cat([c1n, c1f, c2n, c2f, c3n, c3f, c4n, c4f], dim=1)))


def default_weights(model: str = "lytro") -> Path:
    """The released checkpoint's prefix in the data folder.

    Parameters
    ----------
    model : {'lytro', 'mfi-whu'}
        Which release: trained on Lytro (the authors' default) or on MFI-WHU.

    Returns
    -------
    Path
        ``<data folder>/peers/mffgan/<Lytro_model|MFI-WHU_model>/CGAN.model-19`` (a
        TensorFlow checkpoint prefix: ``.index`` + ``.data-00000-of-00001``), the data
        folder being ``$SMFUSE_DATA`` or ``data/`` in the repository root.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(map(repr, MODELS))}, got {model!r}")
    return data_folder() / "peers" / "mffgan" / MODELS[model] / _PREFIX


def _prefix(path: str | os.PathLike) -> Path:
    """Checkpoint prefix from a prefix, its ``.index`` or ``.data-...`` file, or a folder."""
    p = Path(path).expanduser()
    if p.is_dir():
        return p / _PREFIX
    s = str(p)
    for tail in (".index", _DATA_SUFFIX):
        if s.endswith(tail):
            return Path(s[: -len(tail)])
    return p


@functools.lru_cache(maxsize=4)
def _load(prefix: str) -> MFFGANGenerator:
    index, data = Path(prefix + ".index"), Path(prefix + _DATA_SUFFIX)
    for f in (index, data):
        if not f.is_file():
            raise ValueError(f"MFF-GAN weights not found: {f} is missing; {_FIX}")
    names = [n for layer in [x[0] for x in _LAYERS] for s in ("", "_far") for n in _tf_names(layer + s)]
    names += list(_tf_names(_LAST[0]))
    tensors = read_tensor_bundle(index, data, names=names)
    net = MFFGANGenerator()
    state = {}
    for name, module in net.named_children():
        w, b = _tf_names(name)
        kernel = torch.from_numpy(np.ascontiguousarray(tensors[w], dtype=np.float32)).permute(3, 2, 0, 1)
        if tuple(kernel.shape) != tuple(module.weight.shape) or tensors[b].shape != (module.out_channels,):
            raise ValueError(f"{prefix}: {w} has shape {tensors[w].shape}, not MFF-GAN's generator; "
                             f"pass the released CGAN.model-19 checkpoint")
        state[f"{name}.weight"] = kernel.contiguous()
        state[f"{name}.bias"] = torch.from_numpy(np.asarray(tensors[b], dtype=np.float32).copy())
    net.load_state_dict(state)
    net.to(memory_format=torch.channels_last)  # 2-3x faster on the CPU than NCHW here
    net.eval()
    net.requires_grad_(False)
    return net


def load_weights(path: str | os.PathLike | None = None, *, model: str | None = None) -> MFFGANGenerator:
    """Load the released generator (cached per checkpoint).

    Parameters
    ----------
    path : str or PathLike, optional
        A checkpoint prefix (``.../CGAN.model-19``), its ``.index`` or data file, or a
        folder holding ``CGAN.model-19.*``; default :func:`default_weights` of ``model``.
    model : {'lytro', 'mfi-whu'}, optional
        Which release in the data folder when ``path`` is not given (default ``'lytro'``).

    Returns
    -------
    MFFGANGenerator
        In eval mode, without gradients, float32 on the CPU, weights in channels-last
        memory layout (feed it channels-last inputs for speed; any layout gives the same
        result up to float rounding). Shared between calls with the same checkpoint: do
        not modify it.

    Raises
    ------
    ValueError
        If the checkpoint is missing (a one-line message naming the file and the fix),
        unreadable or not MFF-GAN's, or if both ``path`` and ``model`` are given.
    """
    if path is not None and model is not None:
        raise ValueError("give the weights path or model=, not both")
    prefix = default_weights(model or "lytro") if path is None else _prefix(path)
    return _load(str(prefix.resolve()))


def _check(a, b) -> None:
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"source {name} must be a numpy array, got {type(x).__name__}; "
                            f"pass np.asarray(image)")
        if x.dtype != np.uint8:
            raise TypeError(f"source {name} must be uint8, got {x.dtype}; MFF-GAN works on 8-bit "
                            f"images: convert to uint8 (0..255) first")
        if not (x.ndim == 2 or (x.ndim == 3 and x.shape[2] == 3)):
            raise ValueError(f"source {name} must be (H, W) grey or (H, W, 3) colour, got shape "
                             f"{x.shape}; drop alpha or extra channels first")
        if x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"source {name} is empty (shape {x.shape})")
    if a.shape != b.shape:
        raise ValueError(f"sources must have the same shape, got {a.shape} and {b.shape}; "
                         f"register and crop them to one size first")


def _matlab_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB's ``uint8(x)``: round half away from zero, saturate to 0..255."""
    return np.clip(np.floor(np.abs(x) + 0.5) * np.sign(x), 0, 255).astype(np.uint8)


def rgb2ycbcr_y(rgb: np.ndarray) -> np.ndarray:
    """Y of MATLAB's built-in ``rgb2ycbcr`` on a uint8 image: the network's input.

    Parameters
    ----------
    rgb : ndarray
        (H, W, 3) uint8.

    Returns
    -------
    ndarray
        (H, W) uint8, ``16 + (65.481 R + 128.553 G + 24.966 B) / 255`` rounded half away
        from zero.
    """
    c = rgb.astype(np.float64)
    return _matlab_uint8(16 + (65.481 * c[..., 0] + 128.553 * c[..., 1] + 24.966 * c[..., 2]) / 255)


def _bytescale(f: np.ndarray) -> np.ndarray:
    """``scipy.misc.bytescale`` (SciPy 1.2, as called by ``scipy.misc.imsave``) on float32."""
    f = np.asarray(f, dtype=np.float32)
    cmin, cmax = f.min(), f.max()
    cscale = cmax - cmin
    if cscale == 0:
        cscale = np.float32(1)
    scale = np.float32(255) / cscale
    return (((f - cmin) * scale).clip(0, 255) + np.float32(0.5)).astype(np.uint8)


def fuse_y(near: np.ndarray, far: np.ndarray, *, weights: str | os.PathLike | None = None,
           model: str | None = None) -> np.ndarray:
    """The network step alone: two uint8 grey images -> the stretched uint8 fused Y.

    This is what the authors' ``test.py`` writes, given their grey ``Test_near`` and
    ``Test_far`` images.

    Parameters
    ----------
    near, far : ndarray
        (H, W) uint8 grey (or Y) images; ``near`` goes to the first branch.
    weights, model
        As for :func:`load_weights`.

    Returns
    -------
    ndarray
        (H, W) uint8, min-max stretched to 0..255.

    Raises
    ------
    TypeError, ValueError
        As :func:`fuse`; also if the images are not 2-D.
    """
    _check(near, far)
    if near.ndim != 2:
        raise ValueError(f"fuse_y takes (H, W) grey images, got shape {near.shape}; use fuse() for colour")
    net = load_weights(weights, model=model)
    x = [torch.from_numpy(((y.astype(np.float64) - 127.5) / 127.5).astype(np.float32))[None, None]
         .contiguous(memory_format=torch.channels_last) for y in (near, far)]
    with torch.inference_mode():
        t = net(x[0], x[1])[0, 0].numpy()
    return _bytescale(t * np.float32(127.5) + np.float32(127.5))


def _fuse_chroma(c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """``main.m``: ``(C1 |C1 - 128| + C2 |C2 - 128|) / (|C1 - 128| + |C2 - 128|)``, 128 where both are 128."""
    w1, w2 = np.abs(c1 - 128), np.abs(c2 - 128)
    den = w1 + w2
    out = np.full(c1.shape, 128.0)
    np.divide(c1 * w1 + c2 * w2, den, out=out, where=den != 0)
    return out


def restore_colour(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The authors' ``main.m`` colour step: fused Y and the sources' fused Cb, Cr -> RGB.

    Parameters
    ----------
    y : ndarray
        (H, W) uint8 fused Y (:func:`fuse_y`).
    a, b : ndarray
        (H, W, 3) uint8 colour sources.

    Returns
    -------
    ndarray
        (H, W, 3) uint8: ``Cb``, ``Cr`` of each source by ``RGB2YCbCr.m``, fused with
        weights ``|C - 128|``, then ``YCbCr2RGB.m`` and MATLAB ``uint8``.
    """
    chroma = []
    for row in ((-0.148, -0.291, 0.439), (0.439, -0.368, -0.071)):  # RGB2YCbCr.m: Cb, Cr
        c1, c2 = (s[..., 0] * row[0] + s[..., 1] * row[1] + s[..., 2] * row[2] + 128
                  for s in (a.astype(np.float64), b.astype(np.float64)))
        chroma.append(_fuse_chroma(c1, c2))
    cb, cr = chroma[0] - 128, chroma[1] - 128
    yy = 1.164 * (y.astype(np.float64) - 16)  # YCbCr2RGB.m
    rgb = np.stack([yy + 1.596 * cr, yy - 0.392 * cb - 0.813 * cr, yy + 2.017 * cb], axis=-1)
    return _matlab_uint8(rgb)


def fuse(a: np.ndarray, b: np.ndarray, *, weights: str | os.PathLike | None = None,
         model: str | None = None) -> np.ndarray:
    """Fuse two multi-focus sources with MFF-GAN.

    Parameters
    ----------
    a, b : ndarray
        (H, W) or (H, W, 3) uint8 sources of the same shape; ``a`` is the near-focus source
        (Lytro ``A``, the authors' ``Test_near``), ``b`` the far-focus one.
    weights : str or PathLike, optional
        The checkpoint (see :func:`load_weights`); default the Lytro-trained release in the
        data folder.
    model : {'lytro', 'mfi-whu'}, optional
        Which release in the data folder, instead of ``weights``.

    Returns
    -------
    ndarray
        uint8, the shape of the sources: grey in, grey out (the stretched fused Y); colour
        in, colour out (the authors' ``main.m`` colour step).

    Raises
    ------
    TypeError
        If a source is not a uint8 numpy array.
    ValueError
        If the shapes differ or are not (H, W) / (H, W, 3), or the weights are missing.
    """
    _check(a, b)
    if a.ndim == 2:
        return fuse_y(a, b, weights=weights, model=model)
    y = fuse_y(rgb2ycbcr_y(a), rgb2ycbcr_y(b), weights=weights, model=model)
    return restore_colour(y, a, b)
