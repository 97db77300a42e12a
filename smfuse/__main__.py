"""``python -m smfuse``: the command line (:mod:`smfuse.cli`)."""

import sys

from smfuse.cli import main

sys.exit(main())
