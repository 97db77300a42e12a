"""Reproduction: the paper's claims and the verdict rule (``claims``), the notebooks run through
papermill (``run``; ``python -m smfuse.reproduce``), their parameters (``params``), the report
(``report``), the static site (``site``), the student copies (``course``, ``explorers``) and
the training study (``study``)."""
