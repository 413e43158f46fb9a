"""Sphinx configuration for skae's documentation."""

import skae

project = "skae"
author = "skae developers"
release = version = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
templates_path = []
exclude_patterns = ["_build"]
html_theme = "alabaster"
# Offline build: cross-links to scikit-learn resolve only when its inventory is cached.
intersphinx_mapping = {}
