import pytest
import torch

from smfuse.method.network import MaskGenerator, binarize, to_network_input, receptive_field


def test_parameter_count_matches_the_release():
    assert sum(p.numel() for p in MaskGenerator().parameters()) == 38339


def test_decoder_biases_are_scalars():
    net = MaskGenerator()
    assert net.dec1.bias.shape == net.dec2.bias.shape == net.dec3.bias.shape == (1,)


def test_output_shape_and_range():
    torch.manual_seed(0)
    net = MaskGenerator()
    x1, x2 = torch.rand(2, 1, 17, 23) * 2 - 1, torch.rand(2, 1, 17, 23) * 2 - 1
    mg = net(x1, x2)
    assert mg.shape == (2, 1, 17, 23)
    assert mg.min() >= 0 and mg.max() <= 1


def _gradient_support(net, size):
    """(first row, last row, first column, last column) of the first source's pixels that reach
    the centre logit of a size x size pair (float64, back-propagation)."""
    net = net.double()
    x1 = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    x2 = torch.zeros(1, 1, size, size, dtype=torch.float64)
    net.logits(x1, x2)[0, 0, size // 2, size // 2].backward()
    nz = (x1.grad[0, 0].abs() > 0).nonzero()
    return int(nz[:, 0].min()), int(nz[:, 0].max()), int(nz[:, 1].min()), int(nz[:, 1].max())


def test_receptive_field_is_9x9():
    torch.manual_seed(0)
    assert _gradient_support(MaskGenerator(), 31) == (11, 19, 11, 19)  # 15 +- 4


def test_branches_are_not_shared():
    net = MaskGenerator()
    assert net.branch1.conv1.weight.data_ptr() != net.branch2.conv1.weight.data_ptr()
    torch.manual_seed(1)
    x1, x2 = torch.rand(1, 1, 12, 12), torch.rand(1, 1, 12, 12)
    assert not torch.allclose(net(x1, x2), net(x2, x1))


def test_authors_init():
    net = MaskGenerator(init="authors")
    w = net.branch1.conv2.weight
    assert w.abs().max() <= 2e-3 and 5e-4 < w.std() < 1.5e-3
    assert all((p == 0).all() for n, p in net.named_parameters() if n.endswith("bias"))
    with pytest.raises(ValueError, match="init"):
        MaskGenerator(init="xavier")


def test_binarize_and_straight_through():
    mg = torch.tensor([0.2, 0.5, 0.9], requires_grad=True)
    mf = binarize(mg)
    assert mf.tolist() == [0.0, 0.5, 1.0]
    assert not mf.requires_grad  # the released code: no gradient through sign
    st = binarize(mg, straight_through=True)
    st.sum().backward()
    assert st.tolist() == [0.0, 0.5, 1.0] and mg.grad.tolist() == [1.0, 1.0, 1.0]


def test_network_input_range():
    assert to_network_input(torch.tensor([0.0, 0.5, 1.0])).tolist() == [-1.0, 0.0, 1.0]


def test_dilated_receptive_field_is_27x27_with_the_same_parameters():
    torch.manual_seed(0)
    net = MaskGenerator(arch="dilated").double()
    assert sum(p.numel() for p in net.parameters()) == 38339
    assert net.receptive_field == receptive_field("dilated") == 27
    assert [c.dilation for c in (net.branch1.conv1, net.branch1.conv2, net.branch1.conv3, net.branch1.conv4)] == \
        [(1, 1), (2, 2), (4, 4), (6, 6)]
    assert _gradient_support(net, 61) == (17, 43, 17, 43)  # 30 +- 13


def test_architectures_share_a_state_dict_and_unknown_ones_are_refused():
    a, b = MaskGenerator(), MaskGenerator(arch="dilated")
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 1, 20, 20)
    assert not torch.allclose(a.logits(x, x.flip(-1)), b.logits(x, x.flip(-1)))  # same weights, other network
    with pytest.raises(ValueError, match="unknown architecture 'wide'"):
        MaskGenerator(arch="wide")


def test_scalar_bias_inside_the_kernel_equals_the_bias_added_after():
    torch.manual_seed(3)
    net = MaskGenerator().double()
    with torch.no_grad():
        for m in (net.dec1, net.dec2, net.dec3):
            m.bias.fill_(0.3)
    x = torch.rand(1, 128, 5, 5, dtype=torch.float64)
    for m in (net.dec1, net.dec2):
        assert m.bias_in_kernel
        torch.testing.assert_close(m(x[:, :m.weight.shape[1]]),
                                   torch.nn.functional.conv2d(x[:, :m.weight.shape[1]], m.weight) + m.bias)
    assert not net.dec3.bias_in_kernel
    # under bf16 autocast the output layer's bias is added in float32: MG keeps float32 resolution
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mg = MaskGenerator()(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))
    assert mg.dtype == torch.float32


def test_the_vote_layer_starts_as_the_window_mean_and_widens_the_field_to_37():
    net = MaskGenerator(arch="dilated-vote", generator=torch.Generator().manual_seed(0)).double()
    assert sum(p.numel() for p in net.parameters()) == 38339 + 121
    assert torch.equal(net.vote.weight, torch.full((1, 1, 11, 11), 1 / 121).double())  # made in float32
    assert MaskGenerator().vote is None and "vote.weight" not in MaskGenerator().state_dict()
    # the vote is the mean of the dilated network's logits over 11x11 (same branch and decoder weights)
    bare = MaskGenerator(arch="dilated").double()
    bare.load_state_dict({k: v for k, v in net.state_dict().items() if k != "vote.weight"})
    x1, x2 = torch.rand(2, 1, 1, 40, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    z = bare.logits(x1, x2)
    want = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(z, (5, 5, 5, 5), mode="reflect"), 11, stride=1)
    torch.testing.assert_close(net.logits(x1, x2), want)
    assert receptive_field("dilated-vote") == 37
    assert _gradient_support(net, 61) == (12, 48, 12, 48)  # 30 +- 18
