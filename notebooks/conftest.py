"""pytest set-up for the notebooks, which the test suite runs under nbval (see pyproject.toml).

The notebooks write their figures and tables to ``results/NN-name`` by default; under test
they go to a temporary folder instead (``SMFUSE_RESULTS``, read by :mod:`smfuse.reproduce.report`), so
that running the tests never overwrites the committed results. The kernel started by nbval
inherits this environment.
"""

import os
import shutil
import tempfile

_TMP = None


def pytest_configure(config):
    global _TMP
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TQDM_DISABLE", "1")
    if "SMFUSE_RESULTS" not in os.environ:
        _TMP = tempfile.mkdtemp(prefix="smfuse-nbval-")
        os.environ["SMFUSE_RESULTS"] = _TMP


def pytest_unconfigure(config):
    if _TMP is not None:
        shutil.rmtree(_TMP, ignore_errors=True)
        os.environ.pop("SMFUSE_RESULTS", None)
