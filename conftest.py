"""Collection rules for the doctests under skae/ (pytest --doctest-modules)."""

import importlib.util

# skae.plotting needs matplotlib, an optional extra: without it there is
# nothing to run its examples on (tests/test_plotting.py checks the error).
collect_ignore = [] if importlib.util.find_spec("matplotlib") else ["skae/plotting.py"]
