"""The live explorers: the figure they draw, one static display, sliders that redraw it in place."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from smfuse.reproduce import explorers  # noqa: E402
from smfuse.data.sets import synthetic_pair  # noqa: E402
from smfuse.method.guided_block import initial_mask, subtraction_map  # noqa: E402
from smfuse.io import to_grey  # noqa: E402
from smfuse.evaluation.metrics import mask_accuracy  # noqa: E402


@pytest.fixture(scope="module")
def pair():
    p = synthetic_pair(2, size=64)
    return to_grey(p.a), to_grey(p.b), p.mask, to_grey(p.truth)


def test_draw_blur(pair):
    truth = pair[3]
    fig = explorers.draw_blur(truth, blur_size=5, sigma=0.0)
    axes = fig.axes
    assert len(axes) == 3
    assert axes[1].get_title() == f"S = |I - blur5x5(I)|, mean {subtraction_map(truth, blur_size=5).mean():.4f}"
    curve = axes[2].lines[0].get_ydata()
    assert len(curve) == len(explorers.SIGMAS) and np.all(np.diff(curve) < 0)
    plt.close(fig)


def test_draw_guided(pair):
    a, b, mask, _ = pair
    fig = explorers.draw_guided(a, b, mask, r=2, eps=0.01)
    acc = mask_accuracy(initial_mask(a, b, r=2, eps=0.01), mask)
    assert fig.axes[2].get_title().startswith(f"errors: accuracy {acc:.4f}")
    assert fig.axes[0].get_title() == "F2 - F1 (r = 2, eps = 0.01)"
    plt.close(fig)


class _Handle:
    def __init__(self):
        self.updates = []

    def update(self, obj):
        self.updates.append(obj)


class _Shown(list):
    handles: list


@pytest.fixture
def shown(monkeypatch):
    """Record what the explorer displays (no IPython kernel here)."""
    import IPython.display

    calls, handles = _Shown(), []

    def fake_display(obj, display_id=False):
        calls.append(obj)
        if display_id:
            handles.append(_Handle())
            return handles[-1]
        return None

    calls.handles = handles

    monkeypatch.setattr(IPython.display, "display", fake_display)
    return calls


def test_guided_explorer_shows_one_figure_then_sliders(pair, shown):
    a, b, mask, _ = pair
    explorers.guided_explorer(a, b, mask)
    fig, box = shown
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig.axes[0].get_title() == "F2 - F1 (r = 5, eps = 0.3)"
    r_slider, eps_slider = box.children
    assert (r_slider.value, eps_slider.value) == (5, 0.3)


def test_slider_redraws_in_place(pair, shown):
    handles = shown.handles
    explorers.blur_explorer(pair[3], blur_size=7, sigma=1.5)
    box = shown[1]
    box.children[0].value = 3  # blur size
    assert len(handles) == 1 and len(handles[0].updates) == 1
    assert handles[0].updates[0].axes[1].get_title().startswith("S = |I - blur3x3(I)|")
    assert len(shown) == 2, "moving a slider displays nothing new"


def test_explorer_input_checks(pair):
    a, b, mask, truth = pair
    with pytest.raises(ValueError, match="grey .* convert it with to_grey"):
        explorers.blur_explorer(np.dstack([truth] * 3))
    with pytest.raises(ValueError, match="blur_size must be one of"):
        explorers.blur_explorer(truth, blur_size=4)
    with pytest.raises(ValueError, match="at least one slider"):
        explorers.live(lambda: None)
    with pytest.raises(ValueError, match="of one size"):
        explorers.guided_explorer(a, b[:32], mask)
