"""Fusion speed of methods timed side by side (smfuse.evaluation.speed), with a fake clock."""

import numpy as np
import pytest

from smfuse.evaluation.speed import time_methods


def test_rounds_rotate_the_order_and_every_call_is_timed_once():
    calls = []
    now = [0.0]
    cost = {"fast": 0.1, "slow": 0.4, "mid": 0.2}

    def make(name):
        def fn(a, b):
            calls.append(name)
            now[0] += cost[name]
        return fn

    x = np.zeros((1000, 500), np.uint8)
    t = time_methods({n: make(n) for n in cost}, x, x, runs=3, warmup=2, clock=lambda: now[0])
    assert calls[:6] == ["fast", "slow", "mid"] * 2  # warm-up, untimed
    assert calls[6:] == ["fast", "slow", "mid", "slow", "mid", "fast", "mid", "fast", "slow"]
    assert t.method.tolist() == ["fast"] * 3 + ["slow"] * 3 + ["mid"] * 3
    assert t.run.tolist() == [0, 1, 2] * 3
    np.testing.assert_allclose(t.seconds, [0.1] * 3 + [0.4] * 3 + [0.2] * 3)
    np.testing.assert_allclose(t.mp_per_s, [5.0] * 3 + [1.25] * 3 + [2.5] * 3)  # 0.5 MP per call
    assert t[t.method == "fast"].order.tolist() == [0, 2, 1]


@pytest.mark.parametrize("kw,err,match", [(dict(runs=0), ValueError, "runs"), (dict(warmup=-1), ValueError, "warmup")])
def test_bad_arguments_are_refused(kw, err, match):
    x = np.zeros((4, 4))
    with pytest.raises(err, match=match):
        time_methods({"f": lambda a, b: a}, x, x, **kw)
    with pytest.raises(ValueError, match="empty"):
        time_methods({}, x, x)
    with pytest.raises(TypeError, match="not callable"):
        time_methods({"f": 3}, x, x)
