"""The mask generator of SMFuse (the authors' released network, confirmed on their checkpoint).

Two encoder branches with *unshared* weights, one per source, each a small densely
connected stack on a 1-channel input in [-1, 1]::

    c1 = conv(x)             1 -> 16
    c2 = conv(c1)           16 -> 16
    c3 = conv([c1, c2])     32 -> 16
    c4 = conv([c1, c2, c3]) 48 -> 16

every conv 3x3, stride 1, after 1-pixel *reflect* padding, followed by LeakyReLU(0.2).
The decoder takes ``[c1_1, c1_2, c2_1, c2_2, c3_1, c3_2, c4_1, c4_2]`` (128 channels)
through 1x1 convs 128 -> 64 -> 32 -> 1 (LeakyReLU 0.2 between), each with a *single
scalar bias* shared by its output channels (a quirk of the released code), then

    MG = tanh(z) / 2 + 0.5                 (continuous map, [0, 1])
    MF = sign(MG - 0.5) / 2 + 0.5          (binary mask; 0.5 exactly where MG = 0.5)

38,339 parameters; receptive field 9x9. The fused image is
``IF = MF * I2 + (1 - MF) * I1``: the mask selects the *second* source.

Architectures (:data:`ARCHS`): ``released`` is the network above; ``dilated`` is the same
network, the same 38,339 parameters, with the four 3x3 convs of each branch dilated by
1, 2, 4 and 6 (each padded by its dilation, reflect), so that it sees 27x27 pixels, the
span of the guided block's decision (7x7 mean blur, then a guided filter of radius 5
whose two box filters add 10 pixels a side). It is our departure, not the paper's
(notebook 08). ``dilated-vote`` adds one learned layer at the end: an 11x11 convolution
of the logits ``z`` (one channel, no bias, reflect padding, started as the mean over the
window; 121 parameters, 38,460 in all, receptive field 37x37), a vote of the network's
own local decisions over the window the guided filter uses (radius 5), inside the
network and trained with it. It targets the speckle the per-pixel decisions leave where
the evidence is weak (notebook 08).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["MaskGenerator", "binarize", "to_network_input", "RECEPTIVE_FIELD", "ARCHS", "VOTE", "receptive_field"]

#: Dilation of conv1..conv4 of each branch, per architecture.
ARCHS: dict[str, tuple[int, int, int, int]] = {"released": (1, 1, 1, 1), "dilated": (1, 2, 4, 6),
                                               "dilated-vote": (1, 2, 4, 6)}
#: Side of the learned vote over the logits, for the architectures that have one.
VOTE: dict[str, int] = {"dilated-vote": 11}
RECEPTIVE_FIELD = 9  # of the released network: four 3x3 convs; the decoder is 1x1
NEG_SLOPE = 0.2


def receptive_field(arch: str = "released") -> int:
    """Side of the receptive field of an architecture: ``1 + 2 * sum(dilations)`` (+ vote - 1).

    Examples
    --------
    >>> receptive_field("released"), receptive_field("dilated"), receptive_field("dilated-vote")
    (9, 27, 37)
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")
    return 1 + 2 * sum(ARCHS[arch]) + VOTE.get(arch, 1) - 1


class _Branch(nn.Module):
    """One encoder branch (the authors' ``w1..w4``/``b1..b4`` or ``w1_vi..``)."""

    def __init__(self, dilations: tuple[int, int, int, int] = (1, 1, 1, 1)) -> None:
        super().__init__()
        d1, d2, d3, d4 = dilations
        self.conv1 = nn.Conv2d(1, 16, 3, dilation=d1)
        self.conv2 = nn.Conv2d(16, 16, 3, dilation=d2)
        self.conv3 = nn.Conv2d(32, 16, 3, dilation=d3)
        self.conv4 = nn.Conv2d(48, 16, 3, dilation=d4)

    @staticmethod
    def _layer(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        d = conv.dilation[0]
        # in place on the conv's fresh output: autograd keeps what LeakyReLU's backward
        # needs (its output, valid for a positive slope), and a pass over memory is saved
        return F.leaky_relu(conv(F.pad(x, (d, d, d, d), mode="reflect")), NEG_SLOPE, inplace=True)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        c1 = self._layer(self.conv1, x)
        c2 = self._layer(self.conv2, c1)
        c3 = self._layer(self.conv3, torch.cat([c1, c2], 1))
        c4 = self._layer(self.conv4, torch.cat([c1, c2, c3], 1))
        return [c1, c2, c3, c4]


class _ScalarBiasConv1x1(nn.Module):
    """1x1 convolution whose bias is one scalar shared by every output channel.

    With ``bias_in_kernel`` the scalar is expanded to a per-channel bias and added by the
    convolution itself (the gradient of the expansion sums over channels), which saves a
    pass over the (B, C, H, W) output and, under bfloat16 autocast, keeps the output in
    bfloat16 (a separate ``+ bias`` with the float32 parameter promotes it to float32,
    and the next layer casts it back). The output layer (``dec3``, one channel) adds its
    bias separately, so that under autocast ``z`` and MG are float32.
    """

    def __init__(self, cin: int, cout: int, *, bias_in_kernel: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1))
        self.bias_in_kernel = bias_in_kernel
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)  # PyTorch's Conv2d default

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias_in_kernel:
            return F.conv2d(x, self.weight, self.bias.expand(self.weight.shape[0]))
        return F.conv2d(x, self.weight) + self.bias


class MaskGenerator(nn.Module):
    """SMFuse's mask generator.

    Parameters
    ----------
    init : {'pytorch', 'authors'}
        ``'pytorch'``: PyTorch's default initialisation (what we train from);
        ``'authors'``: truncated normal with std 1e-3 and zero biases, as released.
    generator : torch.Generator, optional
        Draw the initial weights from this generator instead of torch's global one
        (training passes one seeded by its configuration, so a run never depends on, or
        disturbs, the caller's random state).
    arch : {'released', 'dilated', 'dilated-vote'}
        The architecture (:data:`ARCHS`): ``released`` and ``dilated`` have the same
        parameters, so a state dict does not tell them apart; checkpoints record it.

    Examples
    --------
    >>> net = MaskGenerator()
    >>> sum(p.numel() for p in net.parameters())
    38339
    """

    def __init__(self, init: str = "pytorch", *, generator: torch.Generator | None = None,
                 arch: str = "released") -> None:
        super().__init__()
        if init not in ("pytorch", "authors"):
            raise ValueError(f"init must be 'pytorch' or 'authors', got {init!r}")
        self.receptive_field = receptive_field(arch)  # checks arch
        self.arch = arch
        self.dilations = ARCHS[arch]
        # With a generator, the layers' own default initialisation (drawn from the global
        # generator) is done on a forked state and then overwritten from ``generator``.
        with torch.random.fork_rng(devices=[], enabled=generator is not None):
            self.branch1 = _Branch(self.dilations)
            self.branch2 = _Branch(self.dilations)
            self.dec1 = _ScalarBiasConv1x1(128, 64)
            self.dec2 = _ScalarBiasConv1x1(64, 32)
            self.dec3 = _ScalarBiasConv1x1(32, 1, bias_in_kernel=False)
            k = VOTE.get(arch)
            self.vote = nn.Conv2d(1, 1, k, bias=False) if k else None
        if init == "authors":
            for p in self.parameters():
                if p.ndim == 4:
                    nn.init.trunc_normal_(p, std=1e-3, a=-2e-3, b=2e-3, generator=generator)
                else:
                    nn.init.zeros_(p)
        elif generator is not None:
            self._reset_pytorch(generator)
        if self.vote is not None:  # starts as the mean over its window, whatever the init
            nn.init.constant_(self.vote.weight, 1.0 / self.vote.weight.numel())

    @torch.no_grad()
    def _reset_pytorch(self, generator: torch.Generator) -> None:
        """PyTorch's default initialisation (as ``nn.Conv2d.reset_parameters``), from ``generator``.

        Weights: Kaiming-uniform with ``a = sqrt(5)``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in));
        biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (the decoder's scalar biases stay 0).
        """
        for m in self.modules():
            if m is self.vote:
                continue
            if isinstance(m, (nn.Conv2d, _ScalarBiasConv1x1)):
                nn.init.kaiming_uniform_(m.weight, a=5 ** 0.5, generator=generator)
                if isinstance(m, nn.Conv2d) and m.bias is not None:
                    bound = 1 / m.weight[0].numel() ** 0.5
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)

    def logits(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Decoder output ``z`` before the tanh, (B, 1, H, W)."""
        f1, f2 = self.branch1(x1), self.branch2(x2)
        z = torch.cat([t for pair in zip(f1, f2) for t in pair], 1)
        z = F.leaky_relu(self.dec1(z), NEG_SLOPE, inplace=True)
        z = F.leaky_relu(self.dec2(z), NEG_SLOPE, inplace=True)
        z = self.dec3(z)
        if self.vote is not None:  # in float32 under autocast too, like the output layer's bias
            r = self.vote.kernel_size[0] // 2
            with torch.autocast(z.device.type, enabled=False):
                z = self.vote(F.pad(z.to(self.vote.weight.dtype), (r, r, r, r), mode="reflect"))
        return z

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Continuous map MG.

        Parameters
        ----------
        x1, x2 : (B, 1, H, W) tensors
            The two grey sources in [-1, 1] (see :func:`to_network_input`); H, W larger
            than the largest dilation (2 for ``released``, 7 for ``dilated``: reflect padding).

        Returns
        -------
        MG : (B, 1, H, W) tensor in [0, 1]; MG > 0.5 selects the second source.
        """
        if x1.ndim != 4 or x1.shape[1] != 1 or x1.shape != x2.shape:
            raise ValueError(f"expected two (B, 1, H, W) tensors of one shape, got {tuple(x1.shape)} and "
                             f"{tuple(x2.shape)}")
        return torch.tanh(self.logits(x1, x2)) / 2 + 0.5


def binarize(mg: torch.Tensor, *, straight_through: bool = False) -> torch.Tensor:
    """MF = sign(MG - 0.5) / 2 + 0.5.

    Parameters
    ----------
    mg : tensor in [0, 1]
    straight_through : bool
        If False (the released code), the gradient of ``sign`` is zero, so nothing
        flows back through MF. If True (the paper's intent), the backward pass treats
        the binarisation as the identity (straight-through estimator).
    """
    mf = torch.sign(mg - 0.5) / 2 + 0.5
    if straight_through:
        return mg + (mf - mg).detach()
    return mf.detach() if mg.requires_grad else mf


def to_network_input(grey01: torch.Tensor) -> torch.Tensor:
    """Grey [0, 1] -> the network's [-1, 1]: ``(255 x - 127.5) / 127.5``."""
    return grey01 * 2.0 - 1.0
