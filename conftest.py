"""pytest set-up shared by tests/ and notebooks/.

Where the real data come from under test: ``SMFUSE_DATA`` when set; else the data folder
``data/`` of this checkout when something was fetched into it (``smfuse data fetch``);
else a pre-filled copy beside the checkout (``../shared/data``), when there is one. Tests
that need a set that is absent skip with the reason (``tests/datahelp.py``).
"""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
_BESIDE = _ROOT.parent / "shared" / "data"
if "SMFUSE_DATA" not in os.environ and not (_ROOT / "data" / "lytro").is_dir() and _BESIDE.is_dir():
    os.environ["SMFUSE_DATA"] = str(_BESIDE)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _environment_unchanged():
    """Give every test back the environment it found.

    Some public functions set a variable on purpose (``smfuse.reproduce.params.check`` with
    ``weights=`` names the weights folder in ``SMFUSE_WEIGHTS_DIR`` for the kernel it runs in);
    under pytest that would leak into every later test and into the notebook kernels nbval
    starts, which inherit this process's environment.
    """
    before = dict(os.environ)
    yield
    if dict(os.environ) != before:
        os.environ.clear()
        os.environ.update(before)
