"""float64 ``torch.autograd.gradcheck`` of the differentiable pieces: the straight-through
sign, the Laplacian and the map loss (analytic backward against finite differences)."""

import pytest
import torch
from torch.autograd import gradcheck

from smfuse.method.filters import laplacian
from smfuse.method.losses import map_loss
from smfuse.method.network import binarize


def _mg(seed, shape=(2, 1, 5, 6), lo=0.05, hi=0.95):
    """MG values in [lo, hi], away from the kinks of the losses (d = 0 and d = 1)."""
    g = torch.Generator().manual_seed(seed)
    return (lo + (hi - lo) * torch.rand(shape, generator=g, dtype=torch.float64)).requires_grad_()


def _through_backward_of(f):
    """``x -> x`` in value, with the backward of ``f``: ``f(x) + (x - f(x)).detach()``.

    A finite difference sees the identity, so gradcheck passes exactly when ``f``'s
    backward is the identity: what a straight-through estimator claims.
    """
    return lambda x: f(x) + (x - f(x)).detach()


def test_straight_through_sign_passes_the_identity_gradient():
    mg = _mg(0)
    ste = _through_backward_of(lambda x: binarize(x, straight_through=True))
    assert gradcheck(ste, (mg,), eps=1e-6, atol=1e-8)
    # the forward is still the hard 0/1 mask
    mf = binarize(mg, straight_through=True)
    assert set(mf.detach().unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(mf.detach(), (mg.detach() > 0.5).double())


def test_the_released_sign_passes_no_gradient():
    # The released code's binarisation has zero gradient: the same check must fail.
    mg = _mg(1)
    no_ste = _through_backward_of(lambda x: binarize(x, straight_through=False))
    assert not gradcheck(no_ste, (mg,), eps=1e-6, atol=1e-8, raise_exception=False)


def test_laplacian_gradcheck():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 6, 7, generator=g, dtype=torch.float64, requires_grad=True)
    assert gradcheck(laplacian, (x,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("variant", ["code", "paper"])
def test_map_loss_gradcheck(variant):
    mg = _mg(3)
    g = torch.Generator().manual_seed(4)
    mi = (torch.rand(mg.shape, generator=g) > 0.5).double()
    assert 0 < mi.mean() < 1  # both labels present: both branches of the smooth L1 (code variant)
    assert gradcheck(lambda x: map_loss(x, mi, variant=variant), (mg,), eps=1e-6, atol=1e-8)
