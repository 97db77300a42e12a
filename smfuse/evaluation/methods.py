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
``mffgan``         MFF-GAN, the authors' Lytro-trained weights                 no
                   (:mod:`smfuse.evaluation.peers.mffgan`)
``mffgan_mfiwhu``  MFF-GAN, the authors' MFI-WHU-trained weights               no
``u2fusion``       U2Fusion, the authors' one model for every fusion task      no
                   (:mod:`smfuse.evaluation.peers.u2fusion`)
``sesf``           SESF-Fuse, the authors' weights; its mask is the binary     yes
                   decision before the guided filter (:mod:`smfuse.evaluation.peers.sesf`)
``ifcnn``          IFCNN (elementwise max), its authors' own lossless outputs  no
                   on the 20 Lytro pairs, read from the data folder; any
                   other pair is refused
``reblur``         a probe, not a fusion method: the source that is not a      yes
                   Gaussian blur of the other, guided-filtered; it assumes
                   the truth sets' blur model
                   (:mod:`smfuse.evaluation.baselines.reblur`)
``blockwise_sf``   a probe of claim C10: the classic block-wise decision, each  yes
                   16x16 block taken whole from the source of larger spatial
                   frequency (:mod:`smfuse.evaluation.baselines.blockwise`;
                   other block sizes: :func:`blockwise_method`)
=================  ==========================================================  =====

Calling a method, ``METHODS[name](a, b)`` or :func:`get_method`, gives a :class:`Fused`:
``fused`` in the sources' shape and dtype, and ``mask`` (``(H, W)`` bool, True where the
second source was taken) or ``None``. :func:`smfuse_method` makes an SMFuse method for
any weights spec or model. The command line (``smfuse evaluate --method``),
:mod:`smfuse.evaluation.evaluate`, :mod:`smfuse.reproduce.report` and the notebooks take their methods from
here, and nowhere else.

The peers (family ``'peer'``) are the methods SMFuse is compared with, run from their
authors' released weights (``smfuse data fetch peers``; a peer whose files are missing is
refused in one line naming that command). They take 8-bit sources as their authors' code
does: 16-bit or float sources are rounded to 8 bits first, and the fused image is returned
in the sources' dtype.

Your own method joins every table with one call: :func:`register_method` for a function of
two images, :func:`register_folder` for a folder of fused images made elsewhere (one per
pair of a data set, found by the sources' pixels, as ``ifcnn`` is). See
``notebooks/README.md`` (Adding a method).

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

__all__ = ["Fused", "Method", "METHODS", "FAMILIES", "get_method", "method_names", "available_methods",
           "smfuse_method", "blockwise_method", "register_method", "register_folder", "unregister_method", "WEIGHTS_ENV",
           "PEER_FETCH"]

#: The kinds of method: our baselines, SMFuse (needs weights), the peers (their authors' weights or
#: outputs), the probes (decisions built to test the data or a claim, not to compete: ``reblur``, and
#: ``blockwise_sf``, the patch-based decision of claim C10), and the methods a user registers.
FAMILIES = ("baseline", "smfuse", "peer", "probe", "user")
#: What a missing peer file asks the user to run.
PEER_FETCH = "smfuse data fetch peers"

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
        ``run(a, b, *, data_range) -> (fused, mask or None)``; for SMFuse methods
        ``run(a, b, model, *, data_range)``.
    family : {'baseline', 'smfuse', 'peer', 'probe', 'user'}
        ``'smfuse'`` methods need weights; see :data:`FAMILIES`.
    has_mask : bool
        Whether the method decides per pixel and returns its mask (always, for SMFuse).
    weights : callable, optional
        SMFuse only: returns the weights spec of :func:`smfuse.runtime.weights.load_model` (or a
        :class:`~smfuse.method.network.MaskGenerator`), raising ``ValueError`` with the reason when
        the weights are not here.
    requires : callable, optional
        Any other method: raises ``ValueError`` with the reason (one line naming the fix) when
        what the method needs (a peer's weights, a folder of outputs) is not here; cheap (no
        loading).
    datasets : tuple of str, optional
        The data sets the method can fuse (a method that reads released outputs); ``None``:
        any pair.
    """

    def __init__(self, name: str, description: str, run: Callable, *, family: str = "baseline",
                 has_mask: bool = False, weights: Callable[[], str | MaskGenerator] | None = None,
                 requires: Callable[[], None] | None = None, datasets: tuple[str, ...] | None = None) -> None:
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
        if (family == "smfuse") != (weights is not None):
            raise ValueError("an SMFuse method needs weights, and only an SMFuse method has them")
        self.name, self.description, self.family = name, description, family
        self.has_mask = has_mask or family == "smfuse"
        self.datasets = None if datasets is None else tuple(datasets)
        self._run, self._weights, self._requires = run, weights, requires

    def __repr__(self) -> str:
        return f"Method({self.name!r}: {self.description})"

    def why_unavailable(self) -> str | None:
        """Why the method cannot run here (its weights or files are missing), or ``None`` when it can."""
        check = self._weights or self._requires
        if check is None:
            return None
        try:
            check()
        except ValueError as exc:
            return str(exc)
        return None

    def available(self) -> bool:
        """Whether the method can run here."""
        return self.why_unavailable() is None

    def covers(self, dataset: str) -> bool:
        """Whether the method can fuse the pairs of ``dataset`` (every method but those of released outputs)."""
        if self.datasets is None:
            return True
        from smfuse.data.sets import DATASETS

        d = str(dataset)
        return (d if d in DATASETS else str(Path(d).expanduser().resolve())) in self.datasets

    def model(self) -> MaskGenerator | None:
        """The mask generator of an SMFuse method (loaded once, then kept); ``None`` for any other.

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

        Raises
        ------
        TypeError, ValueError
            If the pair breaks the input contract, or what the method needs is not here
            (checked after the pair, before any work).
        """
        if self._weights is None:
            if self._requires is not None:
                from smfuse.io import check_pair

                check_pair(a, b, data_range=data_range)
                self._requires()
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


def _reblur(a, b, *, data_range=None):
    from smfuse.evaluation.baselines.reblur import fuse_with_mask

    return fuse_with_mask(a, b, data_range=data_range)


def _blockwise_text(block: int) -> str:
    return f"block-wise decision by spatial frequency, {block}x{block} blocks (Li, Kwok, Wang 2001): a probe of claim C10"


def _blockwise(block: int) -> Callable:
    def run(a, b, *, data_range=None):
        from smfuse.evaluation.baselines.blockwise import fuse_with_mask

        return fuse_with_mask(a, b, block=block, data_range=data_range)

    return run


def _smfuse_run(a, b, model, *, data_range=None):
    from smfuse.runtime.inference import fuse

    res = fuse(a, b, model, data_range=data_range)
    return res.fused, res.mask


def _authors_weights() -> str:
    """The authors' checkpoint in the data folder, as an ``authors:PATH`` spec."""
    from smfuse.runtime.weights import OFFICIAL_ZIP, authors_checkpoint

    path = authors_checkpoint()
    if path is None:
        raise ValueError(f"the authors' weights ({OFFICIAL_ZIP.as_posix()}) are not in the data folder; run "
                         "`smfuse data fetch authors` (or set SMFUSE_DATA), or use smfuse_method('authors:PATH')")
    return f"authors:{path}"


def _our_weights(variant: str) -> Callable[[], str]:
    def spec() -> str:
        from smfuse.runtime.weights import weights_path

        path = weights_path(variant)
        if path is None:
            env = os.environ.get(WEIGHTS_ENV)
            where = f"{WEIGHTS_ENV} ({Path(env).name})" if env else "the shipped smfuse/runtime/trained"
            raise ValueError(f"no smfuse_{variant}.pt in {where}; train it with "
                             f"`smfuse train --config full --set variant={variant}`")
        return str(path)

    return spec


# ----------------------------------------------------------------------------- the peers

def _eight_bit(a, b, data_range):
    """The pair as the 8-bit images the peers' authors read, and the dtype to give the result back in."""
    from smfuse.io import as_image, check_pair, round_half_away

    a, b = check_pair(a, b, data_range=data_range)
    if a.dtype == np.uint8:
        return a, b, a.dtype

    def eight(x, role):
        return np.clip(round_half_away(as_image(x, role=role, data_range=data_range) * 255.0), 0, 255).astype(np.uint8)

    return eight(a, "the first source"), eight(b, "the second source"), a.dtype


def _from_eight_bit(fused: np.ndarray, dtype, data_range):
    if np.dtype(dtype) == np.uint8:
        return fused
    from smfuse.evaluation.baselines._common import finish

    return finish(fused / 255.0, dtype, data_range)


def _peer_files(folder: str) -> Callable[[], None]:
    """A check that the registry's files under ``peers/<folder>/`` are in the data folder."""
    def require() -> None:
        from smfuse.data.fetch import data_folder, set_files

        root = data_folder()
        want = [e.file for e in set_files("peers") if e.file.startswith(f"peers/{folder}/")]
        missing = [f for f in want if not (root / f).is_file()]
        if missing:
            raise ValueError(f"{len(missing)} of the {len(want)} files of peers/{folder} are not in the data folder "
                             f"(first: {missing[0]}); run `{PEER_FETCH}` (or set SMFUSE_DATA)")

    return require


def _peer(module: str, *, decision: bool = False, **options) -> Callable:
    """``run(a, b, *, data_range)`` of the peer port ``smfuse.evaluation.peers.<module>``."""
    def run(a, b, *, data_range=None):
        import importlib

        port = importlib.import_module(f"smfuse.evaluation.peers.{module}")
        a8, b8, dtype = _eight_bit(a, b, data_range)
        if decision:  # SESF-Fuse: its binary decision (1 where a is sharper) is its mask
            fused, maps = port.fuse_with_maps(a8, b8, **options)
            return _from_eight_bit(fused, dtype, data_range), ~np.asarray(maps.binary, dtype=bool)
        return _from_eight_bit(port.fuse(a8, b8, **options), dtype, data_range), None

    return run


# ----------------------------------------------------------------------------- outputs made elsewhere

_PAIR_INDEX: dict = {}


def _fingerprint(a: np.ndarray, b: np.ndarray) -> str:
    import hashlib

    h = hashlib.sha256()
    for x in (a, b):
        x = np.ascontiguousarray(x)
        h.update(f"{x.shape}{x.dtype.str}".encode())
        h.update(x.tobytes())
    return h.hexdigest()


class _Outputs:
    """``run(a, b, *, data_range)`` that reads the fused image of a pair of ``dataset`` from a folder.

    The pair is recognised by its sources' pixels (a fingerprint of both arrays), so the
    method works wherever the pair's sources come from :func:`smfuse.data.sets.load_dataset`.
    """

    def __init__(self, name: str, folder: str | os.PathLike | Callable[[], Path], dataset: str, pattern: str):
        self.name, self._folder, self.dataset, self.pattern = name, folder, str(dataset), pattern

    def folder(self) -> Path:
        return Path(self._folder() if callable(self._folder) else self._folder).expanduser()

    def require(self) -> None:
        if not self.folder().is_dir():
            raise ValueError(f"{self.name}: the folder of its fused images, {self.folder()}, does not exist")

    def _index(self) -> dict[str, tuple[str, int]]:
        from smfuse.data.sets import data_root, load_dataset

        key = (self.dataset, str(data_root()))
        if key not in _PAIR_INDEX:
            pairs = load_dataset(self.dataset)
            _PAIR_INDEX[key] = {_fingerprint(p.a, p.b): (p.name, i) for i, p in enumerate(pairs, start=1)}
        return _PAIR_INDEX[key]

    def path(self, pair_name: str, index: int) -> Path:
        """The fused image of pair ``pair_name`` (number ``index``, 1-based, in the set's order)."""
        import glob

        rel = self.pattern.format(name=pair_name, index=index)
        folder = self.folder()
        where = os.path.join(glob.escape(str(folder)), rel if glob.has_magic(rel) else glob.escape(rel))
        hits = sorted(glob.glob(where))
        hits = [Path(h) for h in hits if Path(h).is_file()]
        if len(hits) != 1:
            raise ValueError(f"{self.name}: {len(hits)} files in {folder} match {rel!r} for pair {pair_name}; "
                             "expected one (fix the pattern, or add the missing image)")
        return hits[0]

    def __call__(self, a, b, *, data_range=None):
        from smfuse.io import check_image, check_pair, read_image

        a, b = check_pair(a, b, data_range=data_range)
        found = self._index().get(_fingerprint(a, b))
        if found is None:
            raise ValueError(f"{self.name} has fused images only for the pairs of {self.dataset} and these sources are "
                             f"not one of them; evaluate {self.name} on {self.dataset}")
        path = self.path(*found)
        fused = check_image(read_image(path), role=f"{self.name}'s fused image {path.name}")
        if fused.shape != a.shape:
            raise ValueError(f"{self.name}: {path.name} is {fused.shape} but the sources of {found[0]} are {a.shape}; "
                             "give the fused image of these sources")
        return fused, None


def _ifcnn_folder() -> Path:
    from smfuse.data.fetch import data_folder

    return data_folder() / "peers" / "ifcnn" / "lytro"


def _registry() -> dict[str, Method]:
    ifcnn = _Outputs("ifcnn", _ifcnn_folder, "lytro", "IFCNN-MAX-CMF-{name}.png")
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
        Method("mffgan", "MFF-GAN (Zhang et al. 2021), the authors' Lytro-trained weights",
               _peer("mffgan", model="lytro"), family="peer", requires=_peer_files("mffgan/Lytro_model")),
        Method("mffgan_mfiwhu", "MFF-GAN (Zhang et al. 2021), the authors' MFI-WHU-trained weights",
               _peer("mffgan", model="mfi-whu"), family="peer", requires=_peer_files("mffgan/MFI-WHU_model")),
        Method("u2fusion", "U2Fusion (Xu et al. 2022), the authors' weights", _peer("u2fusion"), family="peer",
               requires=_peer_files("u2fusion")),
        Method("sesf", "SESF-Fuse (Ma et al. 2021), the authors' weights", _peer("sesf", decision=True),
               family="peer", has_mask=True, requires=_peer_files("sesf")),
        Method("ifcnn", "IFCNN (Zhang et al. 2020), its authors' lossless outputs on the Lytro pairs", ifcnn,
               family="peer", requires=_peer_files("ifcnn"), datasets=("lytro",)),
        Method("reblur", "the source not explained as a Gaussian blur of the other, guided-filtered (a probe of the "
               "truth sets' blur model)", _reblur, family="probe", has_mask=True),
        Method("blockwise_sf", _blockwise_text(16), _blockwise(16), family="probe", has_mask=True),
    ]
    return {m.name: m for m in methods}


#: Every registered method by name, in table order (baselines, SMFuse, the peers, the probe, then the user's).
METHODS: dict[str, Method] = _registry()


def method_names(family: str | None = None) -> tuple[str, ...]:
    """The registered names, in table order; only those of ``family`` (one of :data:`FAMILIES`) if given."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)} or None, got {family!r}")
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


def blockwise_method(block: int, name: str | None = None) -> Method:
    """The block-wise spatial-frequency decision with ``block x block`` blocks, as a method.

    Parameters
    ----------
    block : int
        Block side in pixels, >= 2 (claim C10 compares 8, 16 and 32:
        :data:`smfuse.evaluation.baselines.blockwise.BLOCK_SIZES`).
    name : str, optional
        The method's name in tables (default ``blockwise_sf[<block>]``; the registered
        ``blockwise_sf`` is ``blockwise_method(16, name="blockwise_sf")``).

    Examples
    --------
    >>> import numpy as np
    >>> m = blockwise_method(8)
    >>> x = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    >>> out = m(np.full_like(x, 128), x)
    >>> m.name, m.family, bool(out.mask.all())
    ('blockwise_sf[8]', 'probe', True)
    """
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 2:
        raise ValueError(f"block must be an integer side of at least 2 pixels, got {block!r}")
    label = name or f"blockwise_sf[{int(block)}]"
    return Method(label, _blockwise_text(int(block)), _blockwise(int(block)), family="probe", has_mask=True)


def smfuse_method(weights: str | MaskGenerator, name: str | None = None) -> Method:
    """An SMFuse method for any weights: a spec of :func:`smfuse.runtime.weights.load_model` or a model.

    Parameters
    ----------
    weights : str or MaskGenerator
        Our checkpoint's path, ``authors`` / ``authors:PATH[@EPOCH]``, or a model in hand
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


# ----------------------------------------------------------------------------- your own methods

def _check_new_name(name, replace: bool) -> str:
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", name):
        raise ValueError(f"method name must be letters, digits and _ . + - (a table row and a file name), got {name!r}")
    old = METHODS.get(name)
    if old is not None and (old.family != "user" or not replace):
        why = "a built-in method" if old.family != "user" else "registered already; pass replace=True to replace it"
        raise ValueError(f"method name {name!r} is taken ({why}); choose another name")
    return name


def _user_run(fn: Callable, name: str) -> Callable:
    def run(a, b, *, data_range=None):
        from smfuse.io import check_image, check_pair

        a, b = check_pair(a, b, data_range=data_range)
        out = fn(a, b)
        mask = None
        if isinstance(out, tuple) and len(out) == 2:
            out, mask = out
        elif not isinstance(out, np.ndarray) and hasattr(out, "fused"):
            out, mask = out.fused, getattr(out, "mask", None)
        fused = check_image(out, role=f"the fused image {name} returned", data_range=data_range)
        if fused.shape != a.shape:
            raise ValueError(f"{name} returned shape {fused.shape} for sources of shape {a.shape}; "
                             "return the fused image in the sources' shape")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != a.shape[:2]:
                raise ValueError(f"{name} returned a mask of shape {mask.shape} for sources of shape {a.shape}; "
                                 "return an (H, W) mask (True where the second source was taken) or None")
            mask = mask.astype(bool)
        return fused, mask

    return run


def register_method(name: str, fn: Callable, *, description: str = "", has_mask: bool = False,
                    replace: bool = False) -> Method:
    """Add your own fusion function to the registry, so that every table and the benchmark run it.

    Parameters
    ----------
    name : str
        Its row in the tables (letters, digits and ``_ . + -``); not a built-in name.
    fn : callable
        ``fn(a, b)`` with the two sources as the data set holds them (``uint8`` for the
        bundled sets; ``a`` near focus, ``b`` far focus), returning the fused image in
        their shape (``uint8``, ``uint16`` or floats in [0, 1]), or ``(fused, mask)``, or
        an object with ``fused`` and ``mask`` attributes (``mask``: ``(H, W)``, True where
        ``b`` was taken, or ``None``).
    description : str
        One line for listings (default: the function's name).
    has_mask : bool
        Whether ``fn`` returns its decision mask (scored against true focus maps).
    replace : bool
        Replace a method you registered before under ``name``.

    Returns
    -------
    Method
        The registered method (also ``METHODS[name]``).

    Raises
    ------
    ValueError
        If the name is malformed or taken, or ``fn`` is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> m = register_method("brighter", lambda a, b: np.maximum(a, b), description="pixelwise maximum")
    >>> x = np.zeros((8, 8), np.uint8)
    >>> m(x, x + 3).fused.max(), "brighter" in method_names("user")
    (np.uint8(3), True)
    >>> unregister_method("brighter")
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function fn(a, b) -> fused image, got {type(fn).__name__}")
    name = _check_new_name(name, replace)
    label = description or getattr(fn, "__name__", "a function")
    METHODS[name] = Method(name, label, _user_run(fn, name), family="user", has_mask=has_mask)
    return METHODS[name]


def register_folder(name: str, folder: str | os.PathLike, *, dataset: str, pattern: str = "{name}.*",
                    description: str = "", replace: bool = False) -> Method:
    """Add a folder of fused images made elsewhere (your method's outputs) to the registry.

    The method then fuses a pair of ``dataset`` by reading its image from ``folder`` (the
    pair is recognised by its sources' pixels) and refuses, in one line, any other pair; the
    benchmark runs it on ``dataset`` only. ``ifcnn`` is registered this way.

    Parameters
    ----------
    name : str
        Its row in the tables; not a built-in name.
    folder : path
        Where the fused images are.
    dataset : str
        A name of :func:`smfuse.data.sets.load_dataset` (``'lytro'`` ...) or a folder of pairs.
    pattern : str
        File name of pair number ``index`` (1-based, in the set's order), a :meth:`str.format`
        template with ``{name}`` (the pair's name, e.g. ``lytro-01``) and ``{index}``;
        glob wildcards allowed. Default ``'{name}.*'``: ``lytro-01.png`` ...
    description : str
        One line for listings.
    replace : bool
        Replace a method you registered before under ``name``.

    Returns
    -------
    Method

    Raises
    ------
    ValueError
        If the name is malformed or taken, or the folder does not exist.
    """
    name = _check_new_name(name, replace)
    if not Path(folder).expanduser().is_dir():
        raise ValueError(f"folder {folder} does not exist; give the folder that holds {name}'s fused images")
    if not isinstance(pattern, str) or "{name}" not in pattern and "{index" not in pattern:
        raise ValueError(f"pattern must name each pair's file with {{name}} or {{index}} (e.g. '{{name}}.png'), "
                         f"got {pattern!r}")
    from smfuse.data.sets import DATASETS

    dataset = str(dataset) if str(dataset) in DATASETS else str(Path(dataset).expanduser().resolve())
    outputs = _Outputs(name, Path(folder).expanduser().resolve(), dataset, pattern)
    METHODS[name] = Method(name, description or f"fused images in {Path(folder).name}/", outputs, family="user",
                           requires=outputs.require, datasets=(dataset,))
    return METHODS[name]


def unregister_method(name: str) -> None:
    """Remove a method registered with :func:`register_method` or :func:`register_folder`."""
    m = METHODS.get(name)
    if m is None or m.family != "user":
        raise ValueError(f"{name!r} is not a method you registered; registered: "
                         f"{', '.join(method_names('user')) or 'none'}")
    del METHODS[name]
