"""Baseline fusion methods behind one interface: ``fuse(a, b, *, data_range=None) -> fused``.

Every baseline takes two registered sources of the same shape and dtype — grey
``(H, W)`` or colour ``(H, W, 3)``, ``uint8``, ``uint16`` or float in [0, 1] (in
[0, ``data_range``] when that is given) — and returns the fused image in that shape,
dtype and range (rounded and clipped, never stretched). Inputs are checked with the one
input contract, :func:`smfuse.io.check_pair`.

========== ================================================================
name       method
========== ================================================================
average    pixelwise mean (:mod:`smfuse.baselines.average`)
dwt        wavelet, max-abs details, mean approximation (:mod:`~.dwt`)
laplacian  Burt-Adelson Laplacian pyramid, max-abs details (:mod:`~.laplacian_pyramid`)
gff        guided filtering fusion, Li, Kang, Hu 2013 (:mod:`~.gff`)
mi         SMFuse's initial mask MI used as the decision (:mod:`~.mi`)
smfuse_authors  SMFuse with the authors' epoch-617 weights (:mod:`~.smfuse_net`)
smfuse_code     SMFuse with our weights, ``code`` loss variant
smfuse_paper    SMFuse with our weights, ``paper`` loss variant
========== ================================================================
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import average, dwt, gff, laplacian_pyramid, mi, smfuse_net

__all__ = ["BASELINES", "get_baseline", "FuseFn"]

FuseFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

BASELINES: dict[str, FuseFn] = {
    "average": average.fuse,
    "dwt": dwt.fuse,
    "laplacian": laplacian_pyramid.fuse,
    "gff": gff.fuse,
    "mi": mi.fuse,
    "smfuse_authors": smfuse_net.authors,
    "smfuse_code": smfuse_net.ours_code,
    "smfuse_paper": smfuse_net.ours_paper,
}


def get_baseline(name: str) -> FuseFn:
    """The fusion function registered under ``name``.

    Raises
    ------
    ValueError
        If no method has that name (the message lists the known ones).
    """
    try:
        return BASELINES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown fusion method {name!r}; choose one of {', '.join(sorted(BASELINES))}"
        ) from None
