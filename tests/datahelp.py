"""Test helper: skip, with a visible reason, when a real data set is absent.

(A module of its own rather than conftest.py: the notebooks folder has a conftest.py too,
and ``from conftest import ...`` would pick whichever pytest imported first.)
"""

import pytest

from smfuse.data.sets import has_dataset


def require(name: str) -> None:
    """Skip the calling test when data set ``name`` cannot be loaded here."""
    if not has_dataset(name):
        pytest.skip(f"real data set {name!r} not found (run `smfuse data fetch` or set SMFUSE_DATA)")
