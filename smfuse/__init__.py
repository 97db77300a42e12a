"""smfuse: a reproducible replication of SMFuse.

J. Ma, Z. Le, X. Tian, J. Jiang, "SMFuse: Multi-Focus Image Fusion via Self-Supervised
Mask-Optimization", IEEE Transactions on Computational Imaging 7 (2021) 309-320.
doi:10.1109/TCI.2021.3063872

Data flow, one way: pixels -> guided block (initial mask MI) -> mask generator (MG, MF)
-> fused image -> metrics -> tables. Defaults follow the authors' released code; where
the paper says otherwise the difference is a named option (``variant="paper"``).
"""

import os as _os

# On small shared CPUs OpenMP's busy-waiting threads stall every parallel op by ~8 ms;
# torch reads this when it loads, so set it before anything imports torch.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
