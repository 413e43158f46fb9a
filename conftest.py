"""Collection rules for the doctests under skae/ (pytest --doctest-modules)."""

import importlib.util

# skae.plotting needs matplotlib, an optional extra: without it there is
# nothing to run its examples on (tests/test_plotting.py checks the error).
collect_ignore = [] if importlib.util.find_spec("matplotlib") else ["skae/plotting.py"]

# The JAX and PyTorch engines import their backend at the top: without that
# optional extra (skae[jax], skae[torch]) there is nothing to collect in them.
collect_ignore += [
    f"skae/_engine/_{backend}.py"
    for backend in ("jax", "torch")
    if importlib.util.find_spec(backend) is None
]
