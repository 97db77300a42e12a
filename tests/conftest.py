import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from smfuse.data import has_dataset  # noqa: E402


def require(name: str) -> None:
    """Skip the calling test, with a visible reason, when data set ``name`` is absent."""
    if not has_dataset(name):
        pytest.skip(f"real data set {name!r} not found (set SMFUSE_DATA or provide ../shared/data)")


@pytest.fixture
def rng():
    return __import__("numpy").random.default_rng(12345)
