"""Data: the named sets (Lytro, the grey set, nyud100_gt, the authors' training pairs), folders
of one's own pairs, the synthetic pairs with known truth (``sets``), and fetching them from
their pinned public origins (``fetch``, with the registry ``data/registry.tsv``)."""
