"""Evaluation: the metrics (validated against the MATLAB references), the classical baselines,
the peer methods ported from their released weights, the one method registry (``methods``)
that the command line, the notebooks and the report take methods from, and ``evaluate``
(methods x data sets -> tables)."""
