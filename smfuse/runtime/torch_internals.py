"""The only place the package touches PyTorch internals; ``tests/test_torch_internals.py`` fails on an upgrade that breaks them.

* :func:`tensor_version`: a tensor's in-place modification counter, which tells the fast
  CPU path (:mod:`smfuse.runtime.inference`) that a model's parameters changed since its
  buffers were made (an optimiser step, ``load_state_dict``).
* :data:`leaky_relu_out`: the functional LeakyReLU that writes into a given ``out=``
  buffer, so that :mod:`smfuse.runtime.fast` allocates nothing per call; the public
  ``torch.nn.functional.leaky_relu`` has no ``out=``.
"""

from __future__ import annotations

import torch

__all__ = ["tensor_version", "leaky_relu_out"]


def tensor_version(t: torch.Tensor) -> int:
    """The version counter of ``t``: it grows by one at every in-place change."""
    return t._version


#: ``leaky_relu_out(x, negative_slope, out=y)`` writes LeakyReLU(x) into ``y``.
leaky_relu_out = torch._C._nn.leaky_relu
