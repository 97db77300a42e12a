"""Baseline fusion methods, one module each, behind one interface: ``fuse(a, b, *, data_range=None) -> fused``.

Every baseline takes two registered sources of the same shape and dtype — grey
``(H, W)`` or colour ``(H, W, 3)``, ``uint8``, ``uint16`` or float in [0, 1] (in
[0, ``data_range``] when that is given) — and returns the fused image in that shape,
dtype and range (rounded and clipped, never stretched). Inputs are checked with the one
input contract, :func:`smfuse.io.check_pair`.

=====================  ================================================================
module                 method
=====================  ================================================================
``average``            pixelwise mean
``dwt``                wavelet, max-abs details, mean approximation
``laplacian_pyramid``  Burt-Adelson Laplacian pyramid, max-abs details
``gff``                guided filtering fusion, Li, Kang, Hu 2013
``initial_mask``       SMFuse's initial mask (the guided block's output) as the decision
``reblur``             a probe, not a baseline: the source that is not a Gaussian blur of
                       the other (it assumes the truth sets' blur model; registered in
                       the family ``probe``)
``blockwise``          a probe of claim C10: each block taken whole from the source of
                       larger spatial frequency, Li, Kwok, Wang 2001 (family ``probe``)
=====================  ================================================================

The registry of every method by name, SMFuse included, is :mod:`smfuse.evaluation.methods`.
"""

from __future__ import annotations

from smfuse.evaluation.baselines import average, blockwise, dwt, gff, initial_mask, laplacian_pyramid, reblur

__all__ = ["average", "blockwise", "dwt", "gff", "initial_mask", "laplacian_pyramid", "reblur"]
