"""SESF-Fuse (Ma et al., Neural Computing and Applications 2021), ported from the released weights.

Paper: B. Ma, Y. Zhu, X. Yin, X. Ban, H. Huang, M. Mukeshimana, "SESF-Fuse: an
unsupervised deep model for multi-focus image fusion", Neural Computing and
Applications 33 (2021) 5793-5804, doi:10.1007/s00521-020-05358-9.
Code and weights: github.com/Keep-Passion/SESF-Fuse, commit
23e60b8c710919f5b2957b64c96e3c204443c6d7 (``nets/sesf_net.py``, class ``SESF_Fuse``,
attention ``"cse"``; weights ``nets/parameters/lp+lssim_se_sf_net_times30.pkl``, a
PyTorch state dict of 64 tensors). Their code is PyTorch, so the port follows it op for op.

Pipeline (the authors' ``SESF_Fuse.fuse``):

1. Grey: scikit-image ``rgb2gray`` of a colour source (0.2125 R + 0.7154 G + 0.0721 B
   on [0, 1], float64, then float32 as PIL mode ``F`` keeps it); a grey ``uint8`` source
   is divided by 255 in float32 (torchvision ``ToTensor``). Both are normalised with
   mean 0.4500517361627943 and std 0.26465333914691797.
2. Deep features: the encoder of their auto-encoder, run on each source separately
   (batch of one): four ``conv 3x3 -> ReLU -> BatchNorm`` blocks (1->16, 16->16, 32->16,
   48->16 channels), each followed by a channel squeeze-and-excitation layer (global
   mean, 16->2->16, sigmoid), densely concatenated into 64 channels. 14,416 learnt
   values; the decoder (the other 60,387) only served for training and is not loaded.
3. Activity: spatial frequency of the features, ``(f(y, x-1) - f)^2 + (f(y-1, x) - f)^2``
   (zero outside the image), summed over an 11x11 window (``kernel_radius = 5``, zero
   padding) and over the 64 channels. Binary map ``sf = SF_a > SF_b`` (ties go to ``b``).
4. Consistency: binary opening with a disk of radius 5, then connected regions of
   ``a`` (4-connected) under 1 % of the image area removed; binary closing with the
   same disk, then regions of ``b`` under 1 % of the area removed (scikit-image
   ``binary_opening``/``binary_closing`` with their default ``mode='ignore'`` borders,
   ``remove_small_holes(..., area_threshold)``: strictly smaller regions).
5. Guided filter (He's box-filter form, radius 4, ``eps = 0.1`` on the 0..255 scale)
   of the binary map, guided by the binary-weighted fusion ``a * m + b * (1 - m)``. For
   colour the guide has three channels and the authors' own variant is used: one
   coefficient ``a_c`` per channel, ``b = mean_p - sum_c a_c mean_I_c``,
   ``q = sum_c mean(a_c) I_c + mean(b)``; one weight map, applied to every colour
   channel. The weight is **not** clipped to [0, 1] (on Lytro it spans about -1.1..2.0).
6. ``F = a * q + b * (1 - q)`` in float64, clipped to [0, 255] and **truncated** to
   ``uint8`` (numpy ``astype``), as their code does.

Departures from the authors' code (none changes a pixel on the validation pairs,
``tests/test_peer_sesf.py``):

- Runs on the CPU (theirs hard-codes ``cuda:0``); float32 for the network and the
  spatial frequency as theirs, float64 for the guided filter and the blend as theirs.
- The morphology calls :mod:`scipy.ndimage` directly (``binary_erosion``/``binary_dilation``
  with the border values scikit-image's ``mode='ignore'`` passes, ``label`` with
  4-connectivity) instead of scikit-image's ``binary_opening``/``binary_closing``/
  ``remove_small_holes``, which are thin wrappers of the same calls (the first two are
  deprecated in scikit-image 0.26 and go in 0.28; ``area_threshold`` changes meaning
  to "or equal" under its new name ``max_size``). The strict "smaller than 1 %" of their
  version is kept.
- The guided filter's box sums are computed on ``(B, C, H, W)`` tensors from one
  cumulative sum with a leading zero (He's algorithm, the same additions in the same
  order as their numpy ``box_filter``), so it also takes images under 9 pixels a side,
  which theirs cannot index.
- Only the encoder is built and loaded; the state dict's decoder tensors are checked
  to be exactly the ``conv_decode_*`` ones and dropped.
- Colour is fused by the same code as theirs (no separate colour script exists); grey
  sources give a grey result, as theirs.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.morphology import disk
from torch import nn

from ...data.sets import data_root

__all__ = ["fuse", "fuse_with_decision", "fuse_with_maps", "load_weights", "default_weights_path",
           "SESFEncoder", "SESFMaps", "WEIGHTS_FILE"]

#: The released weights, under ``<data folder>/peers/sesf/``.
WEIGHTS_FILE = "lp+lssim_se_sf_net_times30.pkl"

# The authors' settings (SESF_Fuse.__init__).
MEAN = 0.4500517361627943
STD = 0.26465333914691797
KERNEL_RADIUS = 5  # spatial-frequency window: 11x11
DISK_RADIUS = 5  # structuring element of the opening and closing
AREA_RATIO = 0.01  # regions under this fraction of the image are removed
GF_RADIUS = 4
GF_EPS = 0.1


class SESFMaps(NamedTuple):
    """The decision maps of one pair; every map is 1 (or the weight) of the first source ``a``.

    Attributes
    ----------
    sf : (H, W) bool ndarray
        Raw comparison of spatial frequency, ``SF_a > SF_b``.
    binary : (H, W) bool ndarray
        After opening, closing and removal of small regions (before the guided filter).
    weight : (H, W) float64 ndarray
        The final weight of ``a`` after the guided filter, not clipped;
        ``b`` gets ``1 - weight``.
    """

    sf: np.ndarray
    binary: np.ndarray
    weight: np.ndarray


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    # conv -> ReLU -> BN, as their SESFuseNet.conv_block (state dict keys .0 and .2).
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU(),
                         nn.BatchNorm2d(out_channels))


class _ChannelSE(nn.Module):
    """Channel squeeze-and-excitation (their ``CSELayer``): ``x * sigmoid(W2 relu(W1 mean(x)))``."""

    def __init__(self, channels: int = 16, reduction: int = 8):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(channels // reduction, channels, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        y = self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)
        return x * y.expand_as(x)


class SESFEncoder(nn.Module):
    """The encoder of SESF-Fuse (``SESFuseNet`` with ``attention='cse'``, fusion phase).

    Attribute names match the released state dict. Input ``(B, 1, H, W)`` normalised grey;
    output ``(B, 64, H, W)``: the dense concatenation of the four SE-weighted blocks.
    """

    def __init__(self):
        super().__init__()
        self.features = _conv_block(1, 16)
        self.conv_encode_1 = _conv_block(16, 16)
        self.conv_encode_2 = _conv_block(32, 16)
        self.conv_encode_3 = _conv_block(48, 16)
        self.se_f = _ChannelSE(16, 8)
        self.se_1 = _ChannelSE(16, 8)
        self.se_2 = _ChannelSE(16, 8)
        self.se_3 = _ChannelSE(16, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cat = self.se_f(self.features(x))
        for conv, se in ((self.conv_encode_1, self.se_1), (self.conv_encode_2, self.se_2),
                         (self.conv_encode_3, self.se_3)):
            cat = torch.cat((cat, se(conv(cat))), 1)
        return cat


def default_weights_path() -> Path:
    """``<data folder>/peers/sesf/lp+lssim_se_sf_net_times30.pkl`` (data folder: ``$SMFUSE_DATA`` or ``data/``)."""
    return data_root() / "peers" / "sesf" / WEIGHTS_FILE


def load_weights(path: str | os.PathLike | None = None) -> SESFEncoder:
    """The SESF-Fuse encoder with the released weights, in eval mode (cached per path).

    Parameters
    ----------
    path : str or PathLike, optional
        The released state dict; default :func:`default_weights_path`.

    Returns
    -------
    SESFEncoder
        Shared between calls with the same path: do not modify it.

    Raises
    ------
    ValueError
        If the file is missing or is not the SESF-Fuse state dict.
    """
    path = Path(default_weights_path() if path is None else path).expanduser().resolve()
    return _load(str(path))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> SESFEncoder:
    if not Path(path).is_file():
        raise ValueError(f"SESF-Fuse weights not found: {path}; run `smfuse data fetch peers` (or set SMFUSE_DATA)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one-line message
        raise ValueError(f"{path} is not a readable PyTorch state dict ({type(e).__name__}); "
                         "run `smfuse data fetch peers` to restore the released SESF-Fuse weights") from None
    model = SESFEncoder()
    own = set(model.state_dict())
    if not isinstance(state, dict) or not own <= set(state) or any(
            not k.startswith("conv_decode_") for k in set(state) - own):
        raise ValueError(f"{path} is not the SESF-Fuse state dict (expected the encoder keys of "
                         f"{WEIGHTS_FILE} plus conv_decode_*); run `smfuse data fetch peers`")
    model.load_state_dict({k: state[k] for k in own}, strict=True)
    return model.eval()


def _check(a, b) -> None:
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"SESF-Fuse: source {name} must be a numpy array, got {type(x).__name__}; "
                            "pass np.asarray(image)")
        if x.dtype != np.uint8:
            raise TypeError(f"SESF-Fuse: source {name} must be uint8, got {x.dtype}; "
                            "convert 8-bit images with .astype(np.uint8), scale others to 0..255 first")
        if not (x.ndim == 2 or (x.ndim == 3 and x.shape[2] == 3)) or x.size == 0:
            raise ValueError(f"SESF-Fuse: source {name} must be grey (H, W) or RGB (H, W, 3), got shape {x.shape}; "
                             "drop an alpha channel with image[..., :3]")
    if a.shape != b.shape:
        raise ValueError(f"SESF-Fuse: sources differ in shape, {a.shape} and {b.shape}; "
                         "register and crop them to the same size (both grey or both RGB)")


def _grey_tensor(img: np.ndarray) -> torch.Tensor:
    """(1, 1, H, W) float32 normalised grey, as their PIL + ToTensor + Normalize."""
    if img.ndim == 2:
        g = torch.tensor(img, dtype=torch.float32).div(255)  # PIL 'L' -> ToTensor (uint8 -> float32 exact)
    else:
        g = torch.from_numpy(rgb2gray(img).astype(np.float32))  # float64 -> PIL 'F' (float32) -> ToTensor
    mean = torch.tensor(MEAN, dtype=torch.float32)
    std = torch.tensor(STD, dtype=torch.float32)
    return g[None, None].sub(mean).div(std)


def _spatial_frequency_decision(f1: torch.Tensor, f2: torch.Tensor, kernel_radius: int = KERNEL_RADIUS
                                ) -> torch.Tensor:
    """``SF(f1) > SF(f2)``, (B, H, W) bool; their ``SESFuseNet.fusion_channel_sf``, same ops and order."""
    c = f1.shape[1]
    r_shift = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 0, 0]]).reshape(1, 1, 3, 3).repeat(c, 1, 1, 1)
    b_shift = torch.tensor([[0.0, 1, 0], [0, 0, 0], [0, 0, 0]]).reshape(1, 1, 3, 3).repeat(c, 1, 1, 1)
    size = 2 * kernel_radius + 1
    ones = torch.ones((c, 1, size, size), dtype=torch.float32)

    def sf(x):
        grad = (F.conv2d(x, r_shift, padding=1, groups=c) - x).pow(2) + (F.conv2d(x, b_shift, padding=1, groups=c)
                                                                         - x).pow(2)
        return torch.sum(F.conv2d(grad, ones, padding=size // 2, groups=c), dim=1)

    return sf(f1) > sf(f2)


def _fill_small_holes(mask: np.ndarray, area: float) -> np.ndarray:
    """scikit-image 0.26 ``remove_small_holes(mask, area_threshold=area)``.

    False regions (4-connected) of fewer than ``area`` pixels become True.
    """
    labels, _ = ndimage.label(~mask, structure=ndimage.generate_binary_structure(2, 1))
    small = np.bincount(labels.ravel()) < area
    small[0] = False
    return mask | small[labels]


def _clean(sf: np.ndarray, disk_radius: int = DISK_RADIUS, area_ratio: float = AREA_RATIO) -> np.ndarray:
    """Their morphology: opening, small ``a`` regions removed, closing, small ``b`` regions removed."""
    h, w = sf.shape
    area = area_ratio * h * w
    se = disk(disk_radius).astype(bool)
    # binary_opening/closing with mode='ignore': erosion pads with True, dilation with False.
    dm = ndimage.binary_dilation(ndimage.binary_erosion(sf, se, border_value=True), se, border_value=False)
    dm = ~_fill_small_holes(~dm, area)
    dm = ndimage.binary_erosion(ndimage.binary_dilation(dm, se, border_value=False), se, border_value=True)
    return _fill_small_holes(dm, area)


def _box_sum(x: torch.Tensor, r: int) -> torch.Tensor:
    """Sum over the (2r+1)^2 window clipped to the image, on (B, C, H, W): He's cumulative-sum box filter."""
    for dim in (2, 3):
        n = x.shape[dim]
        cum = torch.cumsum(x, dim)
        cum = torch.cat((torch.zeros_like(cum.narrow(dim, 0, 1)), cum), dim)
        idx = torch.arange(n)
        x = cum.index_select(dim, (idx + r).clamp(max=n - 1) + 1) - cum.index_select(dim, (idx - r).clamp(min=0))
    return x


def _guided_filter(guide: torch.Tensor, p: torch.Tensor, r: int = GF_RADIUS, eps: float = GF_EPS) -> torch.Tensor:
    """Their ``SESF_Fuse.guided_filter`` on float64 (B, C, H, W) guide and (B, 1, H, W) input; (B, 1, H, W) out.

    For C = 3 the channel-summed variant of their code; for C = 1 it is He's grey filter.
    """
    h, w = guide.shape[2:]
    n = _box_sum(torch.ones((1, 1, h, w), dtype=torch.float64), r)
    mean_i = _box_sum(guide, r) / n
    mean_p = _box_sum(p, r) / n
    mean_ip = _box_sum(guide * p, r) / n
    cov_ip = mean_ip - mean_i * mean_p
    mean_ii = _box_sum(guide * guide, r) / n
    var_i = mean_ii - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - torch.sum(a * mean_i, dim=1, keepdim=True)
    mean_a = _box_sum(a, r) / n
    mean_b = _box_sum(b, r) / n
    return torch.sum(mean_a * guide, dim=1, keepdim=True) + mean_b


def _chw(img: np.ndarray) -> torch.Tensor:
    """uint8 (H, W) or (H, W, 3) -> float64 (1, C, H, W)."""
    t = torch.tensor(img, dtype=torch.float64)
    return t[None, None] if img.ndim == 2 else t.permute(2, 0, 1)[None]


def fuse_with_maps(a: np.ndarray, b: np.ndarray, *, weights: str | os.PathLike | None = None
                   ) -> tuple[np.ndarray, SESFMaps]:
    """Fuse with SESF-Fuse and return every decision map of the pipeline.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) uint8 ndarray
        Sources of the same shape.
    weights : str or PathLike, optional
        The released state dict; default :func:`default_weights_path`.

    Returns
    -------
    fused : uint8 ndarray, the shape of the sources
    maps : SESFMaps
        ``sf`` and ``binary`` (bool) and ``weight`` (float64, unclipped), each (H, W), of ``a``.

    Raises
    ------
    TypeError, ValueError
        As :func:`fuse`.
    """
    _check(a, b)
    model = load_weights(weights)
    with torch.no_grad():
        fa = model(_grey_tensor(a))  # one source at a time, as theirs
        fb = model(_grey_tensor(b))
        sf = _spatial_frequency_decision(fa, fb)[0].numpy()
        binary = _clean(sf)
        ta, tb = _chw(a), _chw(b)
        m = torch.from_numpy(binary).to(torch.float64)[None, None]
        guide = ta * m + tb * (1 - m)  # their temp_fused: integer-valued, exact
        q = _guided_filter(guide, m)
        fused = torch.clamp(ta * q + tb * (1 - q), 0, 255).to(torch.uint8)  # truncation, as numpy astype
    out = fused[0, 0] if a.ndim == 2 else fused[0].permute(1, 2, 0)
    return out.contiguous().numpy(), SESFMaps(sf, binary, q[0, 0].numpy())


def fuse_with_decision(a: np.ndarray, b: np.ndarray, *, weights: str | os.PathLike | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Fuse with SESF-Fuse and return the final decision map too.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) uint8 ndarray
        Sources of the same shape.
    weights : str or PathLike, optional
        The released state dict; default :func:`default_weights_path`.

    Returns
    -------
    fused : uint8 ndarray, the shape of the sources
    decision : (H, W) float64 ndarray
        Weight of ``a`` after the guided filter (1 where ``a`` is in focus, the authors'
        convention; ``1 - decision`` is the project's "``b`` is sharper" mask), not clipped.
        The binary map before the filter is in :func:`fuse_with_maps`.

    Raises
    ------
    TypeError, ValueError
        On sources that are not uint8 arrays of one grey or RGB shape; ValueError if the
        weights are missing.
    """
    fused, maps = fuse_with_maps(a, b, weights=weights)
    return fused, maps.weight


def fuse(a: np.ndarray, b: np.ndarray, *, weights: str | os.PathLike | None = None) -> np.ndarray:
    """Fuse two multi-focus sources with SESF-Fuse (the authors' weights and pipeline).

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) uint8 ndarray
        Sources of the same shape.
    weights : str or PathLike, optional
        The released state dict; default :func:`default_weights_path`
        (``$SMFUSE_DATA/peers/sesf/lp+lssim_se_sf_net_times30.pkl`` or under ``data/``).

    Returns
    -------
    fused : uint8 ndarray
        Same shape as the sources: grey in, grey out; colour in, colour out (every channel
        blended with the one weight map, as the authors' code does).

    Raises
    ------
    TypeError, ValueError
        On sources that are not uint8 arrays of one grey or RGB shape; ValueError if the
        weights are missing.
    """
    return fuse_with_maps(a, b, weights=weights)[0]
