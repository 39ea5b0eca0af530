"""loopbound: check approximation-rate theorems for looped transformers numerically.

The harness: the command line (``loopbound``), sweeps and executors, the results store, figures
and reports. ``loopbound.testing`` holds public hypothesis strategies and assertion helpers.
"""

__version__ = "0.1.0"
