"""Inference: sources -> grey pair -> mask generator -> MG -> MF -> fused image, at any size.

The fusion rule itself (MF and IF) is :mod:`smfuse.method.fusion`; this module runs the
network over whole images.

The authors run the whole image through the network at once and put the mask from the
grey pair on the RGB sources directly, with no post-processing. We do the same, except:

* large images are processed in tiles with a halo of 4 pixels (the 9x9 receptive
  field), which gives the same mask as the untiled pass (every output pixel sees exactly
  the same input window; the image border is padded the same way);
* the fused image keeps the input's dtype and range (the authors' writer min-max
  stretches its output; we do not);
* where MG is exactly 0.5 (MF = 0.5 in the authors' code) we take the first source, so
  the output is always one of the two source pixels.

On the CPU the network runs through :class:`smfuse.runtime.fast.FastLogits` (the same logits,
summed in another order; about 3x faster than :meth:`MaskGenerator.logits`), kept with
its buffers for each model while the model lives; ``fast=False`` runs the model itself.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from smfuse.runtime.fast import FastLogits
from smfuse.runtime.torch_internals import tensor_version
from smfuse.io import check_data_range, grey_unit, source_pair
from smfuse.method.fusion import apply_mask, binary_mask, mg_from_logits
from smfuse.method.network import RECEPTIVE_FIELD, MaskGenerator, to_network_input
from smfuse.runtime.weights import load_model

__all__ = ["predict_logits", "fuse", "FuseResult", "HALO"]

HALO = RECEPTIVE_FIELD // 2  # of the released architecture; a model's own is _halo(model)


def _halo(model) -> int:
    """Margin each tile is read with: half the model's receptive field."""
    return getattr(model, "receptive_field", RECEPTIVE_FIELD) // 2


@dataclass
class FuseResult:
    """Output of :func:`fuse`.

    Attributes
    ----------
    fused : ndarray
        Same shape and dtype as the sources.
    mask : (H, W) bool ndarray
        MF: True where the second source was taken.
    mg : (H, W) float32 ndarray
        The continuous map MG in [0, 1].
    """

    fused: np.ndarray
    mask: np.ndarray
    mg: np.ndarray


def _as_model(model) -> MaskGenerator:
    """A model from what :func:`fuse` was given: a MaskGenerator, a weights spec, or None."""
    if model is None or isinstance(model, (str, os.PathLike)):
        return load_model(model)
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "logits"):
        raise TypeError(f"model must be a MaskGenerator or a weights spec (a checkpoint path, 'paper', 'code' or "
                        f"'authors[:PATH]'), got {type(model).__name__}")
    return model


_FAST: "weakref.WeakKeyDictionary[MaskGenerator, tuple[tuple, FastLogits]]" = weakref.WeakKeyDictionary()


def _fast_logits(model: MaskGenerator) -> FastLogits | None:
    """The :class:`FastLogits` of ``model`` (kept with its buffers while the model lives), or
    None where it does not apply (not on the CPU, not float32)."""
    params = list(model.parameters())
    if type(model) is not MaskGenerator or any(p.device.type != "cpu" or p.dtype != torch.float32 for p in params):
        return None
    # parameters change in place (optimiser steps, load_state_dict): their versions tell
    key = tuple((p.data_ptr(), tensor_version(p)) for p in params)
    cached = _FAST.get(model)
    if cached is None:
        fast = FastLogits(model)
    else:
        old_key, fast = cached
        if old_key != key:
            fast.load(model)
    _FAST[model] = (key, fast)
    return fast


@torch.inference_mode()
def _forward(model: MaskGenerator, g1: np.ndarray, g2: np.ndarray, fast: bool = True) -> np.ndarray:
    dev = next(model.parameters()).device
    x1 = to_network_input(torch.from_numpy(np.ascontiguousarray(g1, np.float32))[None, None]).to(dev)
    x2 = to_network_input(torch.from_numpy(np.ascontiguousarray(g2, np.float32))[None, None]).to(dev)
    fl = _fast_logits(model) if fast else None
    if fl is not None:
        return fl(x1, x2)[0, 0].numpy()
    x1 = x1.contiguous(memory_format=torch.channels_last)
    x2 = x2.contiguous(memory_format=torch.channels_last)
    return model.logits(x1, x2)[0, 0].float().cpu().numpy()


def _starts(n: int, tile: int) -> list[int]:
    return list(range(0, n, tile))


def predict_logits(model: MaskGenerator, g1: np.ndarray, g2: np.ndarray, *, tile: int | None = 512,
                   fast: bool = True, progress: bool = False) -> np.ndarray:
    """The decoder output z of a grey pair (``MG = tanh(z) / 2 + 0.5``), tiled when large.

    The mask is ``z > 0`` (the same as ``MG > 0.5``); thresholding z rather than MG keeps
    tiled and untiled masks identical: the vectorised and scalar tanh of the CPU kernels
    can differ in the last bit, and oneDNN's convolutions can differ by an ulp between
    tensor widths, so z itself may differ by ~1e-8 between tilings.

    Parameters
    ----------
    model : MaskGenerator
    g1, g2 : (H, W) ndarray
        Grey sources in [0, 1].
    tile : int or None
        Side of the output tiles (each read with a margin of half the model's receptive
        field: ``HALO`` = 4 pixels for the released architecture, 13 for ``dilated``);
        ``None`` runs the whole image at once. Tiles narrower than 2 * margin + 1 at the
        right or bottom edge are merged into their neighbour.
    fast : bool
        On the CPU, evaluate the network with :class:`smfuse.runtime.fast.FastLogits` (the same
        logits up to the order of the float32 sums, about 3x faster; keeps about 190 MB
        of buffers per 520x520 tile with the model). False runs :meth:`MaskGenerator.logits` itself. Other
        devices always run the model itself.
    progress : bool
        Show a tqdm bar (on stderr) over the tiles when there are several.

    Returns
    -------
    z : (H, W) float32 ndarray
    """
    g1 = np.asarray(g1, dtype=np.float32)
    g2 = np.asarray(g2, dtype=np.float32)
    if g1.ndim != 2 or g1.shape != g2.shape:
        raise ValueError(f"expected two grey (H, W) images of one size, got {g1.shape} and {g2.shape}")
    h, w = g1.shape
    if tile is None or (h <= tile and w <= tile):
        return _forward(model, g1, g2, fast)
    halo = _halo(model)
    if tile < 2 * halo + 1:
        raise ValueError(f"tile must be at least {2 * halo + 1} pixels for this model, got {tile}")
    out = np.empty((h, w), np.float32)
    ys = _merge_small(_starts(h, tile), h, halo)
    xs = _merge_small(_starts(w, tile), w, halo)
    fl = _fast_logits(model) if fast else None
    if fl is not None:  # the buffers for the largest tile, once
        fl.reserve(_largest_tile(ys, h, halo), _largest_tile(xs, w, halo))
    bar = None
    if progress and len(ys) * len(xs) > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(ys) * len(xs), desc="fusing", unit="tile", leave=False)
    for i, y0 in enumerate(ys):
        y1 = ys[i + 1] if i + 1 < len(ys) else h
        for j, x0 in enumerate(xs):
            x1 = xs[j + 1] if j + 1 < len(xs) else w
            ty0, ty1 = max(0, y0 - halo), min(h, y1 + halo)
            tx0, tx1 = max(0, x0 - halo), min(w, x1 + halo)
            z = _forward(model, g1[ty0:ty1, tx0:tx1], g2[ty0:ty1, tx0:tx1], fast)
            out[y0:y1, x0:x1] = z[y0 - ty0:y0 - ty0 + (y1 - y0), x0 - tx0:x0 - tx0 + (x1 - x0)]
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return out


def _largest_tile(starts: list[int], n: int, halo: int) -> int:
    """Largest extent, halo included, of the tiles starting at ``starts`` along a side of ``n``."""
    ends = starts[1:] + [n]
    return max(min(n, e + halo) - max(0, s - halo) for s, e in zip(starts, ends))


def _merge_small(starts: list[int], n: int, halo: int) -> list[int]:
    if len(starts) > 1 and n - starts[-1] < 2 * halo + 1:
        starts = starts[:-1]
    return starts


def fuse(a: np.ndarray | str | os.PathLike, b: np.ndarray | str | os.PathLike, model: MaskGenerator | str | os.PathLike | None = None, *,
         tile: int | None = 512, fast: bool = True, data_range: float | None = None,
         progress: bool = False) -> FuseResult:
    """Fuse two registered multi-focus sources with the mask generator.

    ``IF = MF * I2 + (1 - MF) * I1`` (the mask selects the second source), with MF from
    the grey pair (MATLAB ``rgb2gray`` for 8-bit colour) applied to every channel.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray, or path
        The first (near-focus) and second (far-focus) source, same shape and dtype:
        uint8, uint16, or float in [0, 1] (in [0, ``data_range``] if given); or the paths
        of two image files (read upright by :func:`smfuse.io.read_image`; two paths that
        name one image are refused); checked by :func:`smfuse.io.source_pair`.
    model : MaskGenerator or weights spec, optional
        A model, or a spec for :func:`smfuse.runtime.weights.load_model` (a checkpoint path,
        ``paper``, ``code``, ``authors[:PATH]``); defaults to the default variant (the
        shipped weights, or those in ``SMFUSE_WEIGHTS_DIR``).
    tile, fast, progress
        See :func:`predict_logits`.
    data_range : float, optional
        The white level of float sources (e.g. 255 for float images on 0..255); they
        are scaled by ``1 / data_range`` for the network. Integer sources ignore it.

    Returns
    -------
    FuseResult
        ``fused`` holds source pixels, so it keeps the sources' dtype and range.

    Raises
    ------
    TypeError, ValueError
        If the sources break the input contract (the message names the source, the
        problem and the fix), or the weights spec does not resolve.
    """
    a, b = source_pair(a, b, data_range=check_data_range(data_range))
    model = _as_model(model)
    g1 = grey_unit(a, role="the first source", data_range=data_range)
    g2 = grey_unit(b, role="the second source", data_range=data_range)
    z = predict_logits(model, g1, g2, tile=tile, fast=fast, progress=progress)
    mask = binary_mask(z)
    return FuseResult(fused=apply_mask(a, b, mask), mask=mask, mg=mg_from_logits(z))
