"""Figures from result records, one module per idea. Each plot function takes records (or
estimates, or rows), accepts ``ax`` and returns the axes; matplotlib is imported on first use.

- :mod:`~loopbound.figures.save`: :func:`save_figure`, atomic PNG/PDF/SVG;
- :mod:`~loopbound.figures.modulus`: moduli of continuity (``loopbound modulus --plot``, the
  ``moduli`` stage);
- :mod:`~loopbound.figures.approximation`: approximation error against loops from verify records
  (``loopbound verify --plot``, ``loopbound figures INPUT``, the ``approximation`` stage);
- :mod:`~loopbound.figures.regression`: the in-context regression experiments;
- :mod:`~loopbound.figures.precision`: the precision wall.
"""
