"""SMFuse's losses: the map loss Lmap and the max-gradient loss Lgra.

Total loss of the released code: ``L = Lgra + 10 * Lmap`` (the paper's lambda weighs
Lmap here, or equals 0.1 on Lgra).

Two variants (see ``spec``-level notes in the module docstring of :mod:`smfuse`):

``variant="code"`` (default, the authors' released code)
    * The label is the initial mask read like an image, ``(255 MI - 127.5) / 127.5``,
      so it lies in {-1, 1} while MG lies in [0, 1]: pixels with MI = 0 always sit on
      the L1 branch of smooth-L1, pixels with MI = 1 on the quadratic one.
    * The fused image uses the binary MF, and ``sign`` has zero gradient, so Lgra is
      computed and logged but trains nothing: only ``10 * Lmap`` updates the weights.
    * The sign of the max-gradient map is the code's ``round(floor(s / (|s| + 1e-10)))``
      in float32 (tiny positive sums become 0).

``variant="paper"``
    * Label in {0, 1}; a straight-through estimator for ``sign`` so Lgra trains the
      network; ``torch.sign`` for the max-gradient map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from smfuse.method.filters import laplacian
from smfuse.method.network import binarize

__all__ = ["max_gradient_map", "gradient_loss", "map_loss", "SMFuseLoss", "VARIANTS"]

VARIANTS = ("code", "paper")


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")


def _code_sign(s: torch.Tensor) -> torch.Tensor:
    """The released code's sign: ``round(floor(s / (|s| + 1e-10)))`` in float32."""
    s32 = s.float()
    return torch.round(torch.floor(s32 / (s32.abs() + 1e-10))).to(s.dtype)


def max_gradient_map(x1: torch.Tensor, x2: torch.Tensor, *, variant: str = "code") -> torch.Tensor:
    """Max-gradient map GM of two sources (the target of Lgra).

    .. math:: GM = \\operatorname{sign}(\\nabla^2 I_1 + \\nabla^2 I_2)\\,
              \\max(|\\nabla^2 I_1|, |\\nabla^2 I_2|)

    Parameters
    ----------
    x1, x2 : (B, 1, H, W) tensors
        The sources as the network sees them ([-1, 1]).
    variant : {'code', 'paper'}
        Which sign (see the module docstring).

    Returns
    -------
    GM : (B, 1, H, W) tensor
    """
    _check_variant(variant)
    l1, l2 = laplacian(x1), laplacian(x2)
    s = l1 + l2
    sgn = _code_sign(s) if variant == "code" else torch.sign(s)
    return sgn * torch.maximum(l1.abs(), l2.abs())


def gradient_loss(mg: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, *, variant: str = "code",
                  gm: torch.Tensor | None = None) -> torch.Tensor:
    """Max-gradient loss ``Lgra = mean((lap(IF) - GM)^2)``, ``IF = MF x2 + (1 - MF) x1``.

    IF is built from the *binary* MF; with ``variant="code"`` no gradient reaches MG
    through it (the released code), with ``"paper"`` a straight-through estimator does.
    """
    _check_variant(variant)
    mf = binarize(mg, straight_through=(variant == "paper"))
    fused = mf * x2 + (1 - mf) * x1
    if gm is None:
        gm = max_gradient_map(x1, x2, variant=variant)
    return torch.mean((laplacian(fused) - gm) ** 2)


def map_loss(mg: torch.Tensor, mi: torch.Tensor, *, variant: str = "code") -> torch.Tensor:
    """Map loss ``Lmap = mean(smoothL1(|label - MG|))``.

    ``smoothL1(d) = 0.5 d^2`` if ``d < 1`` else ``d - 0.5``.

    Parameters
    ----------
    mg : (B, 1, H, W) tensor in [0, 1]
    mi : (B, 1, H, W) tensor in {0, 1}
        The initial mask MI (1 where the second source is sharper).
    variant : {'code', 'paper'}
        ``'code'``: label ``2 MI - 1`` in {-1, 1}; ``'paper'``: label ``MI``.
    """
    _check_variant(variant)
    label = mi * 2 - 1 if variant == "code" else mi
    d = (label - mg).abs()
    return torch.mean(torch.where(d < 1, 0.5 * d * d, d - 0.5))


@dataclass
class LossTerms:
    """The loss of one batch: ``total`` (differentiable), ``map`` (Lmap) and ``gra`` (Lgra; NaN if not computed)."""

    total: torch.Tensor
    map: torch.Tensor
    gra: torch.Tensor


class SMFuseLoss(nn.Module):
    """The training objective ``L = gra_weight * Lgra + map_weight * Lmap`` (1 and 10 in the released code).

    The one loss object that training uses (:func:`smfuse.runtime.train.training_step`).
    Where Lgra cannot train the weights (the ``code`` variant: MF is binary and ``sign`` has
    zero gradient; or ``gra_weight = 0``), it is computed without a graph, so ``total`` has
    the value of the whole objective and the gradient of ``map_weight * Lmap`` alone, bit
    for bit; ``with_gra=False`` skips it there altogether (``gra`` is NaN, ``total`` is
    ``map_weight * Lmap``), for the training steps that do not log it.

    Parameters
    ----------
    variant : {'code', 'paper'}
    map_weight, gra_weight : float
        Weights of the two terms (>= 0).
    """

    def __init__(self, variant: str = "code", map_weight: float = 10.0, gra_weight: float = 1.0) -> None:
        super().__init__()
        _check_variant(variant)
        if map_weight < 0 or gra_weight < 0:
            raise ValueError(f"loss weights must be >= 0, got map_weight={map_weight}, gra_weight={gra_weight}")
        self.variant, self.map_weight, self.gra_weight = variant, map_weight, gra_weight

    @property
    def gra_trains(self) -> bool:
        """Whether Lgra sends a gradient to the weights (the ``paper`` variant with ``gra_weight > 0``)."""
        return self.variant == "paper" and self.gra_weight > 0

    def forward(self, mg: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, mi: torch.Tensor, *,
                with_gra: bool = True) -> LossTerms:
        """The loss terms of MG (B, 1, H, W) in [0, 1] for sources x1, x2 in [-1, 1] and the initial mask MI."""
        # Sec. III-C: L = Lgra + lambda Lmap, lambda = 10 on Lmap in the released code
        lmap = map_loss(mg, mi, variant=self.variant)
        if self.gra_trains:
            lgra = gradient_loss(mg, x1, x2, variant=self.variant)
        elif with_gra:
            with torch.no_grad():
                lgra = gradient_loss(mg.detach(), x1, x2, variant=self.variant)
        else:
            return LossTerms(self.map_weight * lmap, lmap, torch.full((), float("nan")))
        return LossTerms(self.gra_weight * lgra + self.map_weight * lmap, lmap, lgra)
