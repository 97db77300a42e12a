"""The one registry of fusion methods: every method maps a source pair to the fused image
and, when it decides pixel by pixel, its mask.

=================  ==========================================================  =====
name               method                                                      mask
=================  ==========================================================  =====
``average``        pixelwise mean (:mod:`smfuse.evaluation.baselines.average`)            no
``dwt``            wavelet, max-abs details (:mod:`smfuse.evaluation.baselines.dwt`)      no
``laplacian``      Laplacian pyramid (:mod:`smfuse.evaluation.baselines.laplacian_pyramid`) no
``gff``            guided filtering fusion (:mod:`smfuse.evaluation.baselines.gff`)       no
``initial_mask``   the guided block's initial mask used directly as the        yes
                   decision (:mod:`smfuse.evaluation.baselines.initial_mask`)
``smfuse_authors`` SMFuse, the authors' released epoch-617 weights             yes
``smfuse_code``    SMFuse, our weights trained with the ``code`` loss variant  yes
``smfuse_paper``   SMFuse, our weights trained with the ``paper`` loss variant yes
=================  ==========================================================  =====

Calling a method, ``METHODS[name](a, b)`` or :func:`get_method`, gives a :class:`Fused`:
``fused`` in the sources' shape and dtype, and ``mask`` (``(H, W)`` bool, True where the
second source was taken) or ``None``. :func:`smfuse_method` makes an SMFuse method for
any weights spec or model. The command line (``smfuse evaluate --method``),
:mod:`smfuse.evaluation.evaluate`, :mod:`smfuse.reproduce.report` and the notebooks take their methods from
here, and nowhere else.

SMFuse's weights: ``smfuse_authors`` needs the authors' ``checkpoint.zip`` in the data
folder (:func:`smfuse.data.sets.data_root`); ``smfuse_code`` / ``smfuse_paper`` use the
weights shipped in ``smfuse/runtime/trained``, or those in the folder named by the
``SMFUSE_WEIGHTS_DIR`` environment variable (to evaluate freshly trained weights).
:meth:`Method.available` says whether a method can run here. Each SMFuse method loads
its model on first use and keeps that one model (reloaded if its weights file changes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np


if TYPE_CHECKING:
    from smfuse.method.network import MaskGenerator

# The implementations are imported when a method first runs, so that listing the methods
# (``smfuse --help``) does not load torch.

__all__ = ["Fused", "Method", "METHODS", "get_method", "method_names", "available_methods", "smfuse_method",
           "WEIGHTS_ENV"]

#: Environment variable naming a folder of our weights (``smfuse_code.pt``, ``smfuse_paper.pt``);
#: the same as :data:`smfuse.runtime.weights.WEIGHTS_ENV` (not imported here: that module loads torch).
WEIGHTS_ENV = "SMFUSE_WEIGHTS_DIR"


@dataclass(frozen=True)
class Fused:
    """What every method returns.

    Attributes
    ----------
    fused : ndarray
        The fused image, same shape and dtype as the sources.
    mask : (H, W) bool ndarray or None
        True where the second source was taken, for methods that decide per pixel;
        ``None`` for methods that blend (average, DWT, Laplacian pyramid, GFF).
    """

    fused: np.ndarray
    mask: np.ndarray | None = None


class Method:
    """One fusion method: ``method(a, b) -> Fused``.

    Parameters
    ----------
    name : str
        The registry name (a table row).
    description : str
        One line for listings.
    run : callable
        ``run(a, b) -> (fused, mask or None)``; for SMFuse methods
        ``run(a, b, model)``.
    family : {'baseline', 'smfuse'}
        ``'smfuse'`` methods need weights.
    has_mask : bool
        Whether the method decides per pixel and returns its mask (always, for SMFuse).
    weights : callable, optional
        SMFuse only: returns the weights spec of :func:`smfuse.runtime.weights.load_model` (or a
        :class:`~smfuse.method.network.MaskGenerator`), raising ``ValueError`` with the reason when
        the weights are not here.
    """

    def __init__(self, name: str, description: str, run: Callable, *, family: str = "baseline",
                 has_mask: bool = False, weights: Callable[[], str | MaskGenerator] | None = None) -> None:
        if family not in ("baseline", "smfuse"):
            raise ValueError(f"family must be 'baseline' or 'smfuse', got {family!r}")
        if (family == "smfuse") != (weights is not None):
            raise ValueError("an SMFuse method needs weights, and only an SMFuse method has them")
        self.name, self.description, self.family = name, description, family
        self.has_mask = has_mask or family == "smfuse"
        self._run, self._weights = run, weights

    def __repr__(self) -> str:
        return f"Method({self.name!r}: {self.description})"

    def why_unavailable(self) -> str | None:
        """Why the method cannot run here (its weights are missing), or ``None`` when it can."""
        if self._weights is None:
            return None
        try:
            self._weights()
        except ValueError as exc:
            return str(exc)
        return None

    def available(self) -> bool:
        """Whether the method can run here."""
        return self.why_unavailable() is None

    def model(self) -> MaskGenerator | None:
        """The mask generator of an SMFuse method (loaded once, then kept); ``None`` for a baseline.

        Raises
        ------
        ValueError
            If the method's weights are not here (the message says where they are looked for).
        """
        if self._weights is None:
            return None
        from smfuse.runtime.weights import load_model  # one bounded cache for every method (smfuse.runtime.weights)

        spec = self._weights()
        if not isinstance(spec, str):  # a model in hand
            return spec
        return load_model(spec)

    def __call__(self, a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> Fused:
        """Fuse a registered source pair (grey or colour; ``uint8``, ``uint16`` or float in [0, 1]).

        ``data_range``: the white level of float sources that are not in [0, 1] (the input
        contract, :func:`smfuse.io.as_image`); the fused image keeps the sources' range.
        """
        if self._weights is None:
            out = self._run(a, b, data_range=data_range)
        else:
            from smfuse.io import check_pair

            check_pair(a, b, data_range=data_range)  # before any weights are loaded
            out = self._run(a, b, self.model(), data_range=data_range)
        fused, mask = out
        return Fused(fused=fused, mask=mask)


# ----------------------------------------------------------------------------- the methods

def _average(a, b, *, data_range=None):
    from smfuse.evaluation.baselines.average import fuse

    return fuse(a, b, data_range=data_range), None


def _dwt(a, b, *, data_range=None):
    from smfuse.evaluation.baselines.dwt import fuse

    return fuse(a, b, data_range=data_range), None


def _laplacian(a, b, *, data_range=None):
    from smfuse.evaluation.baselines.laplacian_pyramid import fuse

    return fuse(a, b, data_range=data_range), None


def _gff(a, b, *, data_range=None):
    from smfuse.evaluation.baselines.gff import fuse

    return fuse(a, b, data_range=data_range), None


def _initial_mask(a, b, *, data_range=None):
    from smfuse.evaluation.baselines.initial_mask import fuse_with_mask

    return fuse_with_mask(a, b, data_range=data_range)


def _smfuse_run(a, b, model, *, data_range=None):
    from smfuse.runtime.inference import fuse

    res = fuse(a, b, model, data_range=data_range)
    return res.fused, res.mask


def _authors_weights() -> str:
    """The authors' checkpoint in the data folder, as an ``official:PATH`` spec."""
    from smfuse.runtime.weights import OFFICIAL_ZIP, authors_checkpoint

    path = authors_checkpoint()
    if path is None:
        raise ValueError(f"the authors' weights ({OFFICIAL_ZIP.as_posix()}) are not in the data folder; run "
                         "`smfuse data fetch authors` (or set SMFUSE_DATA), or use smfuse_method('official:PATH')")
    return f"official:{path}"


def _our_weights(variant: str) -> Callable[[], str]:
    def spec() -> str:
        from smfuse.runtime.weights import weights_path

        path = weights_path(variant)
        if path is None:
            env = os.environ.get(WEIGHTS_ENV)
            where = f"{WEIGHTS_ENV} ({Path(env).name})" if env else "the shipped smfuse/weights"
            raise ValueError(f"no smfuse_{variant}.pt in {where}; train it with "
                             f"`smfuse train --config full --set variant={variant}`")
        return str(path)

    return spec


def _registry() -> dict[str, Method]:
    methods = [
        Method("average", "pixelwise mean", _average),
        Method("dwt", "wavelet fusion, max-abs details, mean approximation", _dwt),
        Method("laplacian", "Burt-Adelson Laplacian pyramid, max-abs details", _laplacian),
        Method("gff", "guided filtering fusion (Li, Kang, Hu 2013)", _gff),
        Method("initial_mask", "the guided block's initial mask used directly as the decision", _initial_mask,
               has_mask=True),
        Method("smfuse_authors", "SMFuse with the authors' released epoch-617 weights", _smfuse_run,
               family="smfuse", weights=_authors_weights),
        Method("smfuse_code", "SMFuse with our weights, code loss variant", _smfuse_run, family="smfuse",
               weights=_our_weights("code")),
        Method("smfuse_paper", "SMFuse with our weights, paper loss variant", _smfuse_run, family="smfuse",
               weights=_our_weights("paper")),
    ]
    return {m.name: m for m in methods}


#: Every registered method by name, in table order (baselines, then SMFuse).
METHODS: dict[str, Method] = _registry()


def method_names(family: str | None = None) -> tuple[str, ...]:
    """The registered names, in table order; only those of ``family`` ('baseline' or 'smfuse') if given."""
    if family not in (None, "baseline", "smfuse"):
        raise ValueError(f"family must be 'baseline', 'smfuse' or None, got {family!r}")
    return tuple(n for n, m in METHODS.items() if family is None or m.family == family)


def get_method(name: str) -> Method:
    """The method registered under ``name``.

    Raises
    ------
    ValueError
        If no method has that name (the message lists the registered ones).
    """
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown fusion method {name!r}; choose one of {', '.join(METHODS)}") from None


def available_methods(names=None) -> dict[str, Method]:
    """The methods among ``names`` (default: all registered) that can run here, in table order.

    SMFuse methods whose weights are missing (the authors' checkpoint without the data
    folder) are left out; :meth:`Method.why_unavailable` says why.
    """
    names = method_names() if names is None else tuple(names)
    return {n: get_method(n) for n in names if get_method(n).available()}


def smfuse_method(weights: str | MaskGenerator, name: str | None = None) -> Method:
    """An SMFuse method for any weights: a spec of :func:`smfuse.runtime.weights.load_model` or a model.

    Parameters
    ----------
    weights : str or MaskGenerator
        Our checkpoint's path, ``official`` / ``official:PATH[@EPOCH]``, or a model in hand
        (e.g. one just trained).
    name : str, optional
        The method's name in tables (default ``smfuse[<weights>]``).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from smfuse.method.network import MaskGenerator
    >>> _ = torch.manual_seed(0)
    >>> method = smfuse_method(MaskGenerator().eval(), name="random")
    >>> x = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    >>> out = method(x, x)
    >>> out.fused.shape, out.mask.dtype
    ((32, 32), dtype('bool'))
    """
    from smfuse.method.network import MaskGenerator

    if not isinstance(weights, (str, MaskGenerator)):
        raise ValueError(f"weights must be a weights spec (str) or a MaskGenerator, got {type(weights).__name__}")
    label = name or (f"smfuse[{weights}]" if isinstance(weights, str) else "smfuse[model]")
    return Method(label, f"SMFuse with {label}", _smfuse_run, family="smfuse", weights=lambda: weights)
