"""Live explorers for the notebooks: move a value, watch the guided block respond.

Each explorer draws one figure at its starting values and shows it as an ordinary output, then
shows ipywidgets sliders that redraw that same output (``display(..., display_id=True)`` and
``handle.update``). In JupyterLab the figure follows the sliders; under papermill and nbval, which
have no widget frontend, the notebook holds just the one static figure at the starting values, so
test runs stay deterministic and the rendered site shows it.

:func:`live` joins any drawing function to its sliders (the notebooks build theirs in the cell, so a
learner can add one); two ready-made explorers:

* :func:`blur_explorer` (notebook 01): the mean filter's size and the defocus sigma against the
  subtraction map ``S = |I - blur(I)|``;
* :func:`guided_explorer` (notebook 02): the guided filter's ``r`` and ``eps`` against the initial
  mask MI and its agreement with the true focus map.

The drawing functions (:func:`draw_blur`, :func:`draw_guided`) take plain values and return a
matplotlib figure, so they are tested without widgets.
"""

from __future__ import annotations

import numpy as np

__all__ = ["live", "blur_explorer", "guided_explorer", "draw_blur", "draw_guided", "BLUR_SIZES", "SIGMAS", "EPS_VALUES"]

BLUR_SIZES = (3, 5, 7, 9, 11, 15)
SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
EPS_VALUES = (1e-4, 1e-3, 0.01, 0.03, 0.1, 0.3, 1.0)


def _defocus(truth: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(truth, sigma) if sigma > 0 else truth


def draw_blur(truth: np.ndarray, *, blur_size: int = 7, sigma: float = 1.5):
    """Figure: a defocused image, its subtraction map, and mean S against defocus.

    Parameters
    ----------
    truth : (H, W) ndarray
        An all-in-focus grey image in [0, 1].
    blur_size : int
        Odd side of the mean filter (the authors: 7).
    sigma : float
        Gaussian defocus, pixels (0: in focus).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from smfuse.method.guided_block import subtraction_map

    img = _defocus(truth, sigma)
    s = subtraction_map(img, blur_size=blur_size)
    curve = [subtraction_map(_defocus(truth, t), blur_size=blur_size).mean() for t in SIGMAS]
    vmax = float(subtraction_map(truth, blur_size=blur_size).max()) or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].imshow(img, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title(f"defocus sigma = {sigma:g} px")
    axes[1].imshow(s, cmap="magma", vmin=0, vmax=vmax)
    axes[1].set_title(f"S = |I - blur{blur_size}x{blur_size}(I)|, mean {s.mean():.4f}")
    for ax in axes[:2]:
        ax.axis("off")
    _ = axes[2].plot(SIGMAS, curve, "o-", label=f"{blur_size}x{blur_size} mean blur")
    _ = axes[2].plot([sigma], [s.mean()], "r*", markersize=14, label="this image")
    axes[2].set_xlabel("defocus sigma (px)")
    axes[2].set_ylabel("mean S")
    axes[2].set_title("blurring a blurred image changes it less")
    axes[2].legend()
    fig.tight_layout()
    return fig


def draw_guided(a: np.ndarray, b: np.ndarray, true_mask: np.ndarray, *, r: int = 5, eps: float = 0.3):
    """Figure: F2 - F1, the initial mask MI and its errors against the true focus map.

    Parameters
    ----------
    a, b : (H, W) ndarray
        Grey sources in [0, 1].
    true_mask : (H, W) bool ndarray
        1 where ``b`` is sharp.
    r : int
        Guided-filter radius (the authors: 5).
    eps : float
        Guided-filter regularisation (the authors: 0.3).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from smfuse.method.guided_block import focus_map
    from smfuse.evaluation.metrics import boundary_fscore, mask_accuracy

    f1, f2 = focus_map(a, r=r, eps=eps), focus_map(b, r=r, eps=eps)
    mi = f2 > f1
    acc, bf = mask_accuracy(mi, true_mask), boundary_fscore(mi, true_mask)
    err = np.zeros(mi.shape + (3,))
    err[mi & ~true_mask] = (1, 0, 0)
    err[~mi & true_mask] = (0, 0.4, 1)
    d = f2 - f1
    lim = float(np.abs(d).max()) or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    axes[0].imshow(d, cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[0].set_title(f"F2 - F1 (r = {r}, eps = {eps:g})")
    axes[1].imshow(mi, cmap="gray")
    axes[1].set_title("MI = F2 > F1")
    axes[2].imshow(err)
    axes[2].set_title(f"errors: accuracy {acc:.4f}, boundary F {bf:.3f}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def live(draw, **sliders) -> None:
    """Show ``draw(**values)`` once, then the sliders, which redraw it in place.

    Parameters
    ----------
    draw : callable
        Takes one keyword argument per slider and returns a matplotlib figure.
    **sliders : ipywidgets value widgets
        Their starting values give the figure shown first (and the only one without a
        widget frontend).

    Examples
    --------
    >>> import ipywidgets as widgets                                   # doctest: +SKIP
    >>> live(lambda sigma: draw_blur(truth, sigma=sigma),              # doctest: +SKIP
    ...      sigma=widgets.FloatSlider(value=1.5, min=0, max=4))
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not sliders:
        raise ValueError("live needs at least one slider, e.g. sigma=ipywidgets.FloatSlider(...)")

    def render():
        fig = draw(**{k: w.value for k, w in sliders.items()})
        return fig

    fig = render()
    handle = display(fig, display_id=True)
    plt.close(fig)

    def update(_change):
        new = render()
        handle.update(new)
        plt.close(new)

    for w in sliders.values():
        w.observe(update, names="value")
    display(widgets.HBox(list(sliders.values())))


def blur_explorer(truth: np.ndarray, *, blur_size: int = 7, sigma: float = 1.5) -> None:
    """Sliders for the mean filter's size and the defocus, against the subtraction map.

    Parameters
    ----------
    truth : (H, W) ndarray
        All-in-focus grey image in [0, 1] (e.g. ``to_grey(synthetic_pair(0).truth)``).
    blur_size, sigma
        Starting values (the figure shown without a widget frontend).
    """
    import ipywidgets as widgets

    truth = np.asarray(truth, dtype=np.float64)
    if truth.ndim != 2:
        raise ValueError(f"truth must be a grey (H, W) image, got shape {truth.shape}; convert it with to_grey")
    if blur_size not in BLUR_SIZES:
        raise ValueError(f"blur_size must be one of {BLUR_SIZES}, got {blur_size}")
    sliders = {
        "blur_size": widgets.SelectionSlider(options=list(BLUR_SIZES), value=blur_size, description="blur size",
                                             continuous_update=False),
        "sigma": widgets.FloatSlider(value=sigma, min=0.0, max=4.0, step=0.25, description="defocus sigma",
                                     continuous_update=False),
    }
    live(lambda **kw: draw_blur(truth, **kw), **sliders)


def guided_explorer(a: np.ndarray, b: np.ndarray, true_mask: np.ndarray, *, r: int = 5, eps: float = 0.3) -> None:
    """Sliders for the guided filter's r and eps, against MI and its agreement with the true map.

    Parameters
    ----------
    a, b : (H, W) ndarray
        Grey sources in [0, 1].
    true_mask : (H, W) bool ndarray
        1 where ``b`` is sharp.
    r, eps
        Starting values (the authors' 5 and 0.3; the figure shown without a widget frontend).
    """
    import ipywidgets as widgets

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    true_mask = np.asarray(true_mask, dtype=bool)
    if a.ndim != 2 or a.shape != b.shape or a.shape != true_mask.shape:
        raise ValueError(f"a, b and true_mask must be (H, W) of one size, got {a.shape}, {b.shape}, "
                         f"{true_mask.shape}; convert colour sources with to_grey")
    sliders = {
        "r": widgets.IntSlider(value=r, min=1, max=15, description="r", continuous_update=False),
        "eps": widgets.SelectionSlider(options=sorted(set(EPS_VALUES) | {eps}), value=eps, description="eps",
                                       continuous_update=False),
    }
    live(lambda **kw: draw_guided(a, b, true_mask, **kw), **sliders)
