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
