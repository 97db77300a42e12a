"""smfuse.runtime.torch_internals: the PyTorch internals the package relies on still behave as assumed.

A torch upgrade that renames or changes them fails here, by name, rather than somewhere
deep in fusion.
"""

import torch
import torch.nn.functional as F

from smfuse.runtime.torch_internals import leaky_relu_out, tensor_version


def test_tensor_version_counts_in_place_changes():
    p = torch.nn.Parameter(torch.zeros(3))
    v0 = tensor_version(p)
    with torch.no_grad():
        p.add_(1)
    assert tensor_version(p) == v0 + 1


def test_tensor_version_moves_on_optimiser_step_and_load_state_dict():
    lin = torch.nn.Linear(2, 1)
    before = [tensor_version(p) for p in lin.parameters()]
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    lin(torch.ones(1, 2)).sum().backward()
    opt.step()
    after_step = [tensor_version(p) for p in lin.parameters()]
    assert all(a > b for a, b in zip(after_step, before))
    lin.load_state_dict({"weight": torch.zeros(1, 2), "bias": torch.zeros(1)})
    assert all(c > a for c, a in zip((tensor_version(p) for p in lin.parameters()), after_step))


def test_leaky_relu_out_writes_into_the_given_buffer():
    x = torch.tensor([-2.0, -0.5, 0.0, 3.0])
    out = torch.empty(4)
    ptr = out.data_ptr()
    leaky_relu_out(x, 0.2, out=out)
    assert out.data_ptr() == ptr
    torch.testing.assert_close(out, F.leaky_relu(x, 0.2))
    torch.testing.assert_close(out, torch.tensor([-0.4, -0.1, 0.0, 3.0]))
