"""Fast CPU inference of the mask generator: the same logits, fewer passes over memory.

:meth:`smfuse.method.network.MaskGenerator.logits` is written to read like the paper: every layer
pads its input (``F.pad``, reflect), concatenates the dense connections (``torch.cat``)
and allocates its output. At inference on a CPU much of the time then goes to copying
memory, not to arithmetic: profiled on a 520x520 pair, the 3x3 convolutions took 32 % of
the time, the 1x1 decoder convs and their bias adds 36 %, the concatenations 14 %, the
paddings 10 % and the LeakyReLUs 9 % (``benchmarks/profile_fuse.py``, table in
``benchmarks/README.md``). :class:`FastLogits` computes the same network, with the same
parameters and the same float32 arithmetic, as follows:

1. Channels-last (NHWC) convolutions throughout: oneDNN's NHWC kernels are about twice as
   fast as its NCHW ones for the 32- and 48-channel inputs of ``conv3``/``conv4``.
2. No ``torch.cat`` and no per-layer ``F.pad``: each activation is written once per
   reader, with its LeakyReLU, straight into the interior of the padded input buffer of
   every layer that reads it (``conv2``, ``conv3``, ``conv4``, the decoder), and the
   1-pixel reflect border is copied in place (four strips).
3. Both branches' ``conv1`` run as one convolution with block-diagonal weights on the
   two-channel input ``[x1, x2]`` (the zero weights add exact zeros).
4. The 1x1 decoder runs as matrix products over pixels, ``(n, 128) @ (128, 64)``, in
   chunks of rows that stay in cache, with LeakyReLU in place between them. Its 128
   input channels are read from three buffers (``[c1, c2, c3]`` of each branch, and
   ``[c4_1, c4_2]``), with the columns of ``dec1`` split and permuted to match,
   so the 128-channel concatenation is never built.
5. The buffers are kept between calls (grow-only), and each convolution runs in bands
   of rows whose 2 MB outputs malloc recycles, instead of page-faulting fresh memory on
   every call (measured on 520x520: keeping the buffers saved about 23 % of a forward,
   the bands another 15 %).

Only the order of the floating-point sums differs (oneDNN and MKL choose their own
blocking), so the logits agree with :meth:`MaskGenerator.logits` to a few float32 ulps
of their magnitude (with the authors' weights, whose logits reach 2e4, the largest
difference over the 20 Lytro pairs was 7.8e-3, 4e-7 of the largest logit), and the mask
``z > 0`` is the same except for a pixel whose logit is that close to 0 (it was the same
on all 20 pairs; ``tests/test_fast.py`` checks real 520x520 pairs). Inference only: nothing
here records gradients. bf16 would be faster still but changes the numbers; it is not
used.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

from smfuse.method.network import NEG_SLOPE, MaskGenerator
from smfuse.runtime.torch_internals import leaky_relu_out

__all__ = ["FastLogits", "DECODER_CHUNK", "CONV_BAND"]

DECODER_CHUNK = 16384  # pixels per decoder matrix product: (16384, 48) floats = 3 MB
CONV_BAND = 32768  # output pixels per convolution call: (32768, 16) floats = 2 MB
_CL = torch.channels_last


# the padded NHWC buffers: name, channels (176 in all)
_BUFFERS = (
    ("p1", 16),    # conv2 input: c1 (of one branch, then of the other)
    ("x3", 32),    # conv3 input: [c1, c2]
    ("x4_1", 48),  # conv4 input of branch 1: [c1, c2, c3]; also decoder input
    ("x4_2", 48),  # the same for branch 2
    ("c4", 32),    # decoder input: [c4_1, c4_2]
)


def _fill_reflect_border(t: torch.Tensor, p: int = 1) -> None:
    """Set the ``p``-pixel border of ``t`` (..., H + 2p, W + 2p) to the reflection of its interior.

    Equivalent to ``F.pad(interior, (p, p, p, p), mode='reflect')``: rows first, then
    whole columns (which fills the corners from the reflected rows). A border of ``p``
    cropped to its inner ``d`` pixels is the reflect padding of width ``d``, so one
    buffer serves convolutions of every dilation up to ``p``.
    """
    n, m = t.shape[-2], t.shape[-1]
    for k in range(1, p + 1):
        t[..., p - k, :] = t[..., p + k, :]
        t[..., n - 1 - p + k, :] = t[..., n - 1 - p - k, :]
    for k in range(1, p + 1):
        t[..., :, p - k] = t[..., :, p + k]
        t[..., :, m - 1 - p + k] = t[..., :, m - 1 - p - k]


class _Workspace:
    """Grow-only flat float32 storages, viewed as padded NHWC buffers of any size."""

    def __init__(self) -> None:
        self._flat: dict[str, torch.Tensor] = {}

    def get(self, name: str, channels: int, h: int, w: int, pad: int = 1) -> torch.Tensor:
        """A (1, channels, h + 2 pad, w + 2 pad) channels-last tensor (contents undefined)."""
        n = channels * (h + 2 * pad) * (w + 2 * pad)
        flat = self._flat.get(name)
        if flat is None or flat.numel() < n:
            flat = self._flat[name] = torch.empty(n, dtype=torch.float32)
        return flat[:n].view(1, h + 2 * pad, w + 2 * pad, channels).permute(0, 3, 1, 2)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._flat.values())


class FastLogits:
    """Inference-only evaluation of :meth:`MaskGenerator.logits` on the CPU.

    The weights are copied when the object is made: call :meth:`load` after changing the
    model (:func:`smfuse.runtime.inference.predict_logits` does this by itself). Calls from several
    threads are serialised (the buffers are shared).

    Parameters
    ----------
    model : MaskGenerator
        On the CPU, float32.
    chunk : int
        Pixels per decoder matrix product.
    band : int
        Pixels per convolution call (whole rows): each layer runs in bands of rows.

    Notes
    -----
    The buffers kept between calls take ``176 * (H + 2p) * (W + 2p) * 4`` bytes for the
    largest H x W evaluated so far, ``p`` the largest dilation (1 for the released
    architecture: 192 MB for a 520x520 pair or tile). They are freed with the object.

    A dilated architecture (:data:`smfuse.method.network.ARCHS`) keeps borders of ``p`` pixels;
    each convolution of dilation ``d`` reads its input's rows with a ``d``-pixel border
    and all its columns, and the ``p - d`` extra columns on each side of its output are
    dropped.

    Examples
    --------
    >>> import torch
    >>> from smfuse.method.network import MaskGenerator
    >>> net = MaskGenerator().eval()
    >>> x1, x2 = torch.rand(2, 1, 1, 40, 50) * 2 - 1
    >>> z = FastLogits(net)(x1, x2)
    >>> bool(((z - net.logits(x1, x2)).abs() < 1e-5).all())
    True
    """

    def __init__(self, model: MaskGenerator, *, chunk: int = DECODER_CHUNK, band: int = CONV_BAND) -> None:
        if chunk < 1 or band < 1:
            raise ValueError(f"chunk and band must be >= 1, got {chunk} and {band}")
        self.chunk, self.band = int(chunk), int(band)
        self._lock = threading.Lock()
        self._ws = _Workspace()
        self.load(model)

    @torch.no_grad()
    def load(self, model: MaskGenerator) -> None:
        """Copy (again) the weights of ``model``, keeping the buffers."""
        if not isinstance(model, MaskGenerator):
            raise TypeError(f"model must be a MaskGenerator, got {type(model).__name__}")
        if any(p.device.type != "cpu" or p.dtype != torch.float32 for p in model.parameters()):
            raise ValueError("FastLogits runs float32 models on the CPU; use model.logits for other devices or dtypes")
        b1, b2 = model.branch1, model.branch2
        self.dilations = tuple(int(d) for d in model.dilations)
        self.pad = max(self.dilations)
        # 3. both conv1 as one conv on [x1, x2] with block-diagonal weights
        w = torch.zeros(32, 2, 3, 3)
        w[:16, 0:1] = b1.conv1.weight
        w[16:, 1:2] = b2.conv1.weight
        self.w_conv1 = w.contiguous(memory_format=_CL)
        self.b_conv1 = torch.cat([b1.conv1.bias, b2.conv1.bias]).clone()
        self.convs = [[(c.weight.detach().clone().contiguous(memory_format=_CL), c.bias.detach().clone())
                       for c in (br.conv2, br.conv3, br.conv4)] for br in (b1, b2)]
        # 4. dec1's input order is [c1_1, c1_2, c2_1, c2_2, c3_1, c3_2, c4_1, c4_2];
        # the buffers hold [c1, c2, c3] of branch 1, of branch 2, and [c4_1, c4_2]
        w1 = model.dec1.weight.detach()[:, :, 0, 0]
        cols = lambda branch, ks: [16 * (2 * k + branch) + j for k in ks for j in range(16)]  # noqa: E731
        self.w_dec1 = [w1[:, cols(0, (0, 1, 2))].t().contiguous(), w1[:, cols(1, (0, 1, 2))].t().contiguous(),
                       w1[:, cols(0, (3,)) + cols(1, (3,))].t().contiguous()]
        self.w_dec2 = model.dec2.weight.detach()[:, :, 0, 0].t().contiguous()
        self.w_dec3 = model.dec3.weight.detach()[:, :, 0, 0].t().contiguous()
        self.b_dec = [model.dec1.bias.detach().clone(), model.dec2.bias.detach().clone(),
                      model.dec3.bias.detach().clone()]
        self.w_vote = None if model.vote is None else model.vote.weight.detach().clone()

    @property
    def workspace_bytes(self) -> int:
        """Bytes held by the buffers kept between calls."""
        return self._ws.nbytes()

    def reserve(self, h: int, w: int) -> None:
        """Allocate the buffers for inputs up to H x W now.

        For the largest tile of an image, so that the buffers do not grow (and fault in
        fresh memory) again as larger tiles come.
        """
        with self._lock:
            for name, channels in _BUFFERS:
                self._ws.get(name, channels, h, w, self.pad)

    def release(self) -> None:
        """Free the buffers kept between calls."""
        with self._lock:
            self._ws = _Workspace()

    @torch.inference_mode()
    def __call__(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Decoder output ``z`` (before the tanh) of two grey sources.

        Parameters
        ----------
        x1, x2 : (B, 1, H, W) float32 tensors on the CPU
            The network inputs in [-1, 1] (:func:`smfuse.method.network.to_network_input`).

        Returns
        -------
        z : (B, 1, H, W) float32 tensor, contiguous
        """
        if x1.ndim != 4 or x1.shape[1] != 1 or x1.shape != x2.shape:
            raise ValueError(f"expected two (B, 1, H, W) tensors of one shape, got {tuple(x1.shape)} and "
                             f"{tuple(x2.shape)}")
        if x1.device.type != "cpu" or x2.device.type != "cpu":
            raise ValueError("FastLogits runs on the CPU; move the inputs with .cpu() or use model.logits")
        h, w = x1.shape[-2:]
        if h <= self.pad or w <= self.pad:
            raise ValueError(f"images must be at least {self.pad + 1}x{self.pad + 1} for this architecture "
                             f"(reflect padding), got {h}x{w}")
        with self._lock:  # the buffers are shared: one call at a time
            return torch.cat([self._one(x1[i:i + 1].float(), x2[i:i + 1].float()) for i in range(x1.shape[0])])

    def _one(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        h, w = x1.shape[-2:]
        ws, p = self._ws, self.pad
        p1, x3, x4_1, x4_2, c4 = (ws.get(name, channels, h, w, p) for name, channels in _BUFFERS)
        x4 = [x4_1, x4_2]
        d1, d2, d3, d4 = self.dilations

        rows = max(1, self.band // (w + 2 * p))

        def layer(inp: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, d: int, outs) -> None:
            """Conv (dilation ``d``) of the padded ``inp``, LeakyReLU, into the interiors of ``outs``.

            ``outs`` lists (first output channel, padded destination). The conv runs in
            bands of rows (a band of a padded NHWC buffer is itself a contiguous NHWC
            tensor), so its output is small: it stays in cache for the writes, and it is
            recycled by malloc instead of being fresh pages every time.
            """
            c0_in = p - d  # first column of the d-pixel border; output column c0_in + j is pixel j
            for r0 in range(0, h, rows):
                r1 = min(h, r0 + rows)
                y = F.conv2d(inp[:, :, p - d + r0:p + r1 + d], weight, bias, dilation=d)
                y = y[:, :, :, c0_in:c0_in + w] if c0_in else y
                for c0, dst in outs:
                    leaky_relu_out(y[:, c0:c0 + dst.shape[1]], NEG_SLOPE, out=dst[:, :, p + r0:p + r1, p:p + w])
            for _, dst in outs:
                _fill_reflect_border(dst, p)

        xp = F.pad(torch.cat([x1, x2], 1), (p, p, p, p), mode="reflect").contiguous(memory_format=_CL)
        # conv1 of both branches at once: output channels 0-15 are branch 1's, 16-31 branch 2's
        layer(xp, self.w_conv1, self.b_conv1, d1,
              [(0, p1), (0, x3[:, 0:16]), (0, x4[0][:, 0:16]), (16, x4[1][:, 0:16])])
        for i in range(2):
            (w2, b2), (w3, b3), (w4, b4) = self.convs[i]
            if i == 1:  # the shared buffers now take branch 2's c1
                p1.copy_(x4[1][:, 0:16])
                x3[:, 0:16].copy_(x4[1][:, 0:16])
            layer(p1, w2, b2, d2, [(0, x3[:, 16:32]), (0, x4[i][:, 16:32])])
            layer(x3, w3, b3, d3, [(0, x4[i][:, 32:48])])
            layer(x4[i], w4, b4, d4, [(0, c4[:, 16 * i:16 * i + 16])])  # c4's border: decoder rows that are discarded

        # the decoder over the padded grid, one chunk of pixels at a time
        mats = [t.permute(0, 2, 3, 1).reshape(-1, t.shape[1]) for t in (x4[0], x4[1], c4)]
        n = mats[0].shape[0]
        z = torch.empty(n, 1)
        bd1, bd2, bd3 = self.b_dec
        for s in range(0, n, self.chunk):
            e = min(n, s + self.chunk)
            d = torch.mm(mats[0][s:e], self.w_dec1[0])
            for m, wm in zip(mats[1:], self.w_dec1[1:]):
                d.addmm_(m[s:e], wm)
            d.add_(bd1)
            F.leaky_relu(d, NEG_SLOPE, inplace=True)
            d = torch.mm(d, self.w_dec2).add_(bd2)
            F.leaky_relu(d, NEG_SLOPE, inplace=True)
            torch.addmm(bd3, d, self.w_dec3, out=z[s:e])
        z = z.view(1, 1, h + 2 * p, w + 2 * p)[:, :, p:p + h, p:p + w]
        if self.w_vote is not None:  # the learned vote over the logits (dilated-vote)
            r = self.w_vote.shape[-1] // 2
            return F.conv2d(F.pad(z, (r, r, r, r), mode="reflect"), self.w_vote).contiguous()
        return z.contiguous()
