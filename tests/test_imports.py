"""The import graph of skae/: no cycle, imports pointing down, each wing behind its door.

The graph is built with ``ast`` from every module under skae/: every
``import`` and ``from ... import`` statement, those inside functions
included, relative imports resolved. ``from package import name`` is an edge
to the module ``package.name`` where that is a module, else to ``package``.
Python's implicit import of a package's ``__init__`` is not an edge.

The layers, lowest first (a unit may import only units of lower layers;
within one wing, imports are free but for cycles)::

    0  _version, _quiet, _sklearn_compat, _pca     (no skae imports but these)
    1  _nn, _scaling, _validation                  (Keras / scikit-learn helpers)
    2  _engine, _io, _params                       (training, model files, routing)
    3  _base                                       (the base class)
    4  _transformer, _detector                     (estimators)
    5  _denoising, _variational                    (estimators on the transformer)
    6  _loading, skae (the package's __init__)     (public names)
    7  cli, plotting                               (public API users)
    8  __main__                                    (``python -m skae``)

Also checked: ``tensorflow`` is imported only under skae/_engine/ and by
skae/_quiet.py; scikeras only by skae/_params.py; skae/_io imports no
estimator module; skae/_nn imports no scikit-learn; code outside a wing
imports it through its ``__init__`` (the door), never a private module of
it; and each public estimator's class stack is at most 11 deep with no
scikeras class in it.
"""

import ast
from pathlib import Path

import pytest

import skae

PACKAGE = Path(skae.__file__).resolve().parent
WINGS = ("skae._nn", "skae._engine", "skae._io", "skae._detector", "skae.cli")
LAYERS = {
    "skae._version": 0,
    "skae._quiet": 0,
    "skae._sklearn_compat": 0,
    "skae._pca": 0,
    "skae._nn": 1,
    "skae._scaling": 1,
    "skae._validation": 1,
    "skae._engine": 2,
    "skae._io": 2,
    "skae._params": 2,
    "skae._base": 3,
    "skae._transformer": 4,
    "skae._detector": 4,
    "skae._denoising": 5,
    "skae._variational": 5,
    "skae._loading": 6,
    "skae": 6,
    "skae.cli": 7,
    "skae.plotting": 7,
    "skae.__main__": 8,
}
ESTIMATOR_MODULES = {
    "skae",
    "skae._base",
    "skae._transformer",
    "skae._denoising",
    "skae._variational",
    "skae._detector",
    "skae._loading",
}
MAX_DEPTH = 11


def _module_name(path):
    parts = ["skae", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name, path):
    """``[(imported module, line)]`` of one module: every import statement, resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                base = ".".join([*base, node.module] if node.module else base)
            else:
                base = node.module
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((full if full in MODULES else base, node.lineno))
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _unit(name):
    """The wing (or top-level module) that a skae module belongs to."""
    for wing in WINGS:
        if name == wing or name.startswith(wing + "."):
            return wing
    return name


def _internal_edges():
    return [
        (source, target, line)
        for source, targets in GRAPH.items()
        for target, line in targets
        if target == "skae" or target.startswith("skae.")
    ]


def _cycles():
    """Each cycle of the graph of skae's modules, once (as a list of module names)."""
    edges = {name: sorted({t for s, t, _ in _internal_edges() if s == name}) for name in GRAPH}
    cycles, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in edges.get(node, ()):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def test_the_graph_was_read():
    # Guards the test itself: the modules and some known edges are there.
    assert {"skae._base", "skae._io._persistence", "skae._engine._tf_loops"} <= set(GRAPH)
    assert "skae._engine" in {t for t, _ in GRAPH["skae._base"]}
    assert "skae._nn" in {t for t, _ in GRAPH["skae._io._network"]}


def test_every_module_has_a_layer():
    assert sorted({_unit(name) for name in GRAPH} - set(LAYERS)) == []


def test_no_import_cycle():
    assert _cycles() == []


def test_imports_point_down():
    upward = [
        f"{source}:{line} imports {target}"
        for source, target, line in _internal_edges()
        if _unit(source) != _unit(target) and LAYERS[_unit(target)] >= LAYERS[_unit(source)]
    ]
    assert upward == []


def test_wings_are_entered_through_their_door():
    private = [
        f"{source}:{line} imports {target}"
        for source, target, line in _internal_edges()
        if _unit(source) != _unit(target) and _unit(target) in WINGS and target != _unit(target)
    ]
    assert private == []


def _importers_of(prefix):
    return {
        source
        for source, targets in GRAPH.items()
        for target, _ in targets
        if target == prefix or target.startswith(prefix + ".")
    }


def test_tensorflow_only_in_the_engine_and_the_start_up_filter():
    outside = {
        name
        for name in _importers_of("tensorflow")
        if not name.startswith("skae._engine.") and name != "skae._quiet"
    }
    assert outside == set()
    assert "skae._engine._tf_loops" in _importers_of("tensorflow")  # the check can fail


def test_scikeras_only_in_params():
    assert _importers_of("scikeras") == {"skae._params"}


def test_io_imports_no_estimator_module():
    found = [
        f"{source}:{line} imports {target}"
        for source, target, line in _internal_edges()
        if _unit(source) == "skae._io" and target in ESTIMATOR_MODULES
    ]
    assert found == []


def test_nn_imports_no_scikit_learn():
    assert {name for name in _importers_of("sklearn") if _unit(name) == "skae._nn"} == set()


@pytest.mark.parametrize(
    "name",
    [
        "AutoencoderTransformer",
        "DenoisingAutoencoder",
        "VariationalAutoencoder",
        "AutoencoderOutlierDetector",
    ],
)
def test_class_stack_is_shallow_and_owns_no_scikeras_class(name):
    cls = getattr(skae, name)
    assert len(cls.__mro__) <= MAX_DEPTH
    assert [c for c in cls.__mro__ if c.__module__.split(".")[0] == "scikeras"] == []
    leaked = {"current_epoch", "initialized_", "scorer", "feature_encoder", "target_encoder"}
    assert leaked & set(dir(cls)) == set()
