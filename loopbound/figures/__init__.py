"""Figures from result records, one module per idea. Each plot function takes records (or
estimates, or rows), accepts ``ax`` and returns the axes; matplotlib is imported on first use.

- :mod:`~loopbound.figures.style`: the one style of every figure (paper column widths, Okabe–Ito
  colours, Type 42 fonts, no LaTeX): :func:`~loopbound.figures.style.style` around drawing,
  :func:`~loopbound.figures.style.use_style` in a notebook;
- :mod:`~loopbound.figures.save`: :func:`save_figure`, atomic and deterministic PNG/PDF/SVG, and
  :func:`~loopbound.figures.save.save_pdf_png`;
- :mod:`~loopbound.figures.modulus`: moduli of continuity (``loopbound modulus --plot``, the
  ``moduli`` stage);
- :mod:`~loopbound.figures.approximation`: approximation error against loops from verify records
  (``loopbound verify --plot``, ``loopbound figures INPUT``, the ``approximation`` stage);
- :mod:`~loopbound.figures.regression`: the in-context regression experiments;
- :mod:`~loopbound.figures.precision`: the precision wall;
- :mod:`~loopbound.figures.attention`: the regularity of softmax and sigmoid attention.
"""
