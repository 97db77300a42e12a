import pytest
import torch

from smfuse.method.losses import SMFuseLoss, gradient_loss, map_loss, max_gradient_map


def test_code_sign_zeroes_tiny_positive_sums():
    x1 = torch.zeros(1, 1, 3, 3)
    x2 = torch.zeros(1, 1, 3, 3)
    x1[0, 0, 1, 1] = -1e-5  # laplacian at the centre +4e-5: tiny positive
    gm_code = max_gradient_map(x1, x2, variant="code")
    gm_paper = max_gradient_map(x1, x2, variant="paper")
    assert gm_code[0, 0, 1, 1] == 0.0
    assert gm_paper[0, 0, 1, 1] == pytest.approx(4e-5)
    x1[0, 0, 1, 1] = -1.0  # large positive: both give +4
    assert max_gradient_map(x1, x2, variant="code")[0, 0, 1, 1] == 4.0
    x1[0, 0, 1, 1] = 1.0  # negative sums keep their sign in both
    assert max_gradient_map(x1, x2, variant="code")[0, 0, 1, 1] == -4.0


def test_max_gradient_takes_larger_magnitude():
    x1 = torch.zeros(1, 1, 5, 5)
    x2 = torch.zeros(1, 1, 5, 5)
    x1[0, 0, 2, 2] = 0.5   # lap -2 at centre
    x2[0, 0, 2, 2] = -0.2  # lap +0.8 at centre; sum -1.2 -> sign -1, max |.| = 2
    assert max_gradient_map(x1, x2, variant="paper")[0, 0, 2, 2] == pytest.approx(-2.0)


def test_map_loss_values_per_variant():
    mg = torch.full((1, 1, 2, 2), 0.25)
    mi = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])
    # code: label -1 -> d = 1.25 -> 0.75 (L1 branch); label 1 -> d = 0.75 -> 0.28125
    assert map_loss(mg, mi, variant="code").item() == pytest.approx((0.75 + 0.28125) / 2)
    # paper: label 0 -> d = .25 -> .03125; label 1 -> d = .75 -> .28125
    assert map_loss(mg, mi, variant="paper").item() == pytest.approx((0.03125 + 0.28125) / 2)


def test_gradient_loss_trains_only_in_paper_variant():
    torch.manual_seed(0)
    x1, x2 = torch.rand(1, 1, 8, 8) * 2 - 1, torch.rand(1, 1, 8, 8) * 2 - 1
    logits = torch.randn(1, 1, 8, 8, requires_grad=True)
    mg = torch.sigmoid(logits)
    assert not gradient_loss(mg, x1, x2, variant="code").requires_grad  # sign cuts the graph
    gradient_loss(mg, x1, x2, variant="paper").backward()
    assert logits.grad.abs().sum() > 0


def test_gradient_loss_zero_when_mask_reproduces_max_gradient():
    # where one source is flat and the other carries all detail, choosing the detailed one
    # everywhere reproduces GM exactly (paper sign).
    torch.manual_seed(0)
    x2 = torch.rand(1, 1, 8, 8)
    x1 = torch.zeros(1, 1, 8, 8)
    assert gradient_loss(torch.ones(1, 1, 8, 8), x1, x2, variant="paper").item() == pytest.approx(0.0, abs=1e-12)
    assert gradient_loss(torch.zeros(1, 1, 8, 8), x1, x2, variant="paper").item() > 0.1


def test_total_loss_weights():
    torch.manual_seed(0)
    x1, x2 = torch.rand(2, 1, 6, 6), torch.rand(2, 1, 6, 6)
    mg, mi = torch.rand(2, 1, 6, 6), (torch.rand(2, 1, 6, 6) > 0.5).float()
    t = SMFuseLoss("paper", map_weight=10, gra_weight=1)(mg, x1, x2, mi)
    assert t.total.item() == pytest.approx(t.gra.item() + 10 * t.map.item())
    with pytest.raises(ValueError, match="variant"):
        SMFuseLoss("other")


def test_the_loss_object_is_what_training_steps_on():
    """training_step's update is that of SMFuseLoss; in the code variant, of map_weight * Lmap alone, bit for bit."""
    from smfuse.method.network import MaskGenerator
    from smfuse.runtime.train import get_config, training_step

    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.rand(2, 1, 24, 24, generator=g) * 2 - 1, torch.rand(2, 1, 24, 24, generator=g) * 2 - 1
    mi = (torch.rand(2, 1, 24, 24, generator=g) > 0.5).float()
    for variant in ("code", "paper"):
        cfg = get_config("quick", variant=variant, precision="fp32")
        nets = [MaskGenerator(generator=torch.Generator().manual_seed(1)) for _ in range(2)]
        opts = [torch.optim.SGD(n.parameters(), lr=0.1) for n in nets]
        terms = training_step(nets[0], opts[0], cfg, x1, x2, mi, terms=True)
        # by hand: the objective the configuration names, through the loss object's own terms
        mg = nets[1](x1, x2)
        ref = map_loss(mg, mi, variant=variant) * cfg.map_weight
        if variant == "paper":
            ref = ref + cfg.gra_weight * gradient_loss(mg, x1, x2, variant=variant)
        opts[1].zero_grad()
        ref.backward()
        opts[1].step()
        for p, q in zip(nets[0].parameters(), nets[1].parameters()):
            assert torch.equal(p, q), variant
        whole = cfg.map_weight * terms.map + cfg.gra_weight * terms.gra
        assert torch.allclose(terms.total, whole) and torch.isfinite(terms.gra)
    skipped = SMFuseLoss("code")(mg.detach(), x1, x2, mi, with_gra=False)
    assert torch.isnan(skipped.gra) and torch.equal(skipped.total, 10 * skipped.map)
