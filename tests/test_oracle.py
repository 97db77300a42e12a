import numpy as np
import pytest

from smfuse.data.sets import synthetic_pair
from smfuse.io import to_grey
from smfuse.evaluation.oracle import boundary_band, candidate_masks


def test_boundary_band_width():
    m = np.zeros((20, 20), bool)
    m[:, 10:] = True
    band = boundary_band(m, 0)
    assert band[:, 9].all() and band[:, 10].all() and band.sum() == 40
    wide = boundary_band(m, 3)
    assert wide[:, 6:14].all() and not wide[:, 5].any() and not wide[:, 14].any()
    with pytest.raises(ValueError, match="width"):
        boundary_band(m, -1)


def test_candidates_depart_from_mi_only_where_stated():
    p = synthetic_pair(0, size=96)
    g1, g2 = to_grey(p.a), to_grey(p.b)
    c = candidate_masks(g1, g2, band=4)
    mi = c["MI"]
    outside = ~boundary_band(mi, 4)
    np.testing.assert_array_equal(c["max-gradient in band"][outside], mi[outside])
    assert (c["max-gradient in band"] != mi).any()
    # every candidate still finds the sharp side on a synthetic pair
    for name, m in c.items():
        assert (m == p.mask).mean() > 0.75, name
