"""``python -m smfuse.reproduce``: every notebook through papermill (:mod:`smfuse.reproduce.run`)."""

import os
import sys

# Set before torch loads (the notebooks' kernels inherit it): on small shared CPUs OpenMP's
# busy-waiting threads stall every parallel op.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from smfuse.reproduce.run import main  # noqa: E402

sys.exit(main())
