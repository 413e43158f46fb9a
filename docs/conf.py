"""Sphinx configuration for skae's documentation.

Build (from the repository root):

    sphinx-build -b html docs docs/_build/html                     # runs the gallery
    sphinx-build -b html -D plot_gallery=0 docs docs/_build/html   # fast: code only

``SKAE_PLOT_GALLERY=0`` in the environment does the same as ``-D plot_gallery=0``.
The build needs no network: intersphinx is off, so references to scikit-learn
and NumPy show as plain names instead of links.
"""

import os
import re
import warnings

# skae imports TensorFlow with its start-up notes filtered (skae._quiet) when
# autodoc first asks for an estimator; setting TF_CPP_MIN_LOG_LEVEL here would
# turn that filter off and let them through.
import skae

project = "skae"
author = "skae developers"
copyright = "skae developers"
release = version = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"

# -- API pages --------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
# Methods come from autodoc (see _templates/class.rst and the skip hook below);
# numpydoc's own member tables would list them a second time.
numpydoc_show_class_members = False

# -- Gallery ----------------------------------------------------------------
# Run the examples unless told not to, by -D plot_gallery=0 or by the
# environment (the docs test and quick checks use this: code without figures).
plot_gallery = os.environ.get("SKAE_PLOT_GALLERY", "True")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # compare_pca_digits.py is shown, not run
    "doc_module": ("skae",),
    "backreferences_dir": "generated/backreferences",
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    # Show what the examples print, not the repr of a block's last expression
    # (the Text that ax.set_title returns).
    "capture_repr": (),
    # Computation times go into the build, not into the source tree.
    "write_computation_times": False,
}

# The gallery runs with Agg; matplotlib warns about plt.show() under it.
warnings.filterwarnings(
    "ignore", category=UserWarning, message="FigureCanvasAgg is non-interactive"
)

# -- Offline build ----------------------------------------------------------
# sphinx.ext.intersphinx is deliberately not loaded: the build must not fetch
# inventories. References to scikit-learn and NumPy render as plain names.

# -- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skae {version}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
    "show_toc_level": 2,  # a class's methods listed under "On this page"
}
html_sidebars = {"install": [], "user_guide": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]  # long names wrap instead of overflowing
# "On this page" lists a class's methods as "fit()", not "Class.fit()".
toc_object_entries_show_parents = "hide"


def _skip_inherited_from_dependencies(app, what, name, obj, skip, options):
    """Document what skae defines; leave out what it inherits or deprecates.

    ``fit_transform``, ``get_params``, ``set_output``, the ``set_*_request``
    methods... behave as documented by scikit-learn, and their docstrings
    point into its documentation, which this offline build cannot link to.
    scikeras' members (``current_epoch``, ``initialized_``...) and the methods
    of Python's built-in classes (``with_traceback`` of a warning) are not
    part of skae's interface, and neither are skae's deprecated aliases of
    scikeras' names (``feature_encoder_``, ``target_encoder_``).
    """
    if what != "class":
        return None
    function = getattr(obj, "fget", obj)  # a property's getter
    module = getattr(function, "__module__", None)
    if not (module or "").startswith("skae"):
        return True
    if (getattr(obj, "__doc__", None) or "").lstrip().startswith("Deprecated"):
        return True
    return None


# A fitted attribute in a shape, as in "ndarray of shape (n_features_in_,)":
# reST reads "name_" as a link to a target "name", which does not exist.
_ATTRIBUTE_IN_SHAPE = re.compile(r"(?<=[\s(,])([A-Za-z]\w*?)_(?=[,)])")


def _escape_attributes_in_shapes(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if "of shape (" in line:
            lines[i] = _ATTRIBUTE_IN_SHAPE.sub(r"\1\\_", line)


def setup(app):
    app.connect("autodoc-skip-member", _skip_inherited_from_dependencies)
    app.connect("autodoc-process-docstring", _escape_attributes_in_shapes)
