"""Compiled functions traced once per architecture and shared by its models.

(About 460 lines: one mechanism, the architecture key and the rebinding of a
traced graph to another model's variables, whose parts only make sense
together.)

A ``tf.function`` traced for one model reads and writes that model's
variables through resource handles that the traced graph captures: the
captured handles are the graph's last inputs. Two models of the same
architecture (same layers and settings, same compile arguments, same
optimizer hyper-parameters) trace to the same graph up to those handles, so
the graph traced for the first one runs the second one when called with the
second one's handles in their place. Tracing (and the first run's graph
optimisation) is then paid once per architecture and process, not once per
model: the second and later fits of a grid search or a cross-validation skip
it.

The shared graph is the very graph the per-model path would trace, run on
the model's own variables, in place: weights, optimizer slots, the learning
rate variable, metric accumulators and random seed states all live in the
model, and callbacks see them between epochs as they do on the per-model
path. With the same seeds and data, training gives the same numbers
(tests/test_speed_cache.py).

What makes two models "the same architecture" is :func:`architecture_key`:
the model's config without seeds (random layers keep their seeds in seed
state variables, which are handles like any other) and with the names Keras
numbered itself (``reshape_9``) replaced by their places, the loss, metrics
and optimizer configs without the learning rate (a variable), and
``floatx``. Sharing applies only where those say everything about the graph:
Keras' own model classes (no overridden ``train_step``), layers from Keras
(no ``Lambda``) or registered skae layers (saved by their config), losses
and metrics from Keras or registered skae losses, a Keras optimizer, no XLA
(``jit_compile``), no distribution strategy; every other model keeps a
function of its own (:mod:`skae._engine._tf_functions`). A traced graph whose captures are
not all variables of its model, its optimizer, its metrics or its loss
objects (a lookup table, a constant tensor) is never shared either.

At most :data:`MAX_ARCHITECTURES` architectures are kept, least recently used
first out. A shared graph holds no model: its template model's variables are
replaced at every call, and the template dies when its user drops it.
``SKAE_SHARE_TRACES=0`` in the environment, or :data:`ENABLED` set to False,
turns sharing off (every model traces its own functions, as before).
"""

import os
import threading
import weakref
from collections import OrderedDict

import keras
import tensorflow as tf

from . import _keys

__all__ = ["ENABLED", "MAX_ARCHITECTURES", "Bound", "architecture_key", "bind", "clear", "stats"]


def _enabled(environ):
    """Whether ``SKAE_SHARE_TRACES`` in ``environ`` leaves sharing on (unset: on)."""
    value = environ.get("SKAE_SHARE_TRACES", "1").strip().lower()
    return value not in {"0", "false", "no", "off"}


ENABLED = _enabled(os.environ)
MAX_ARCHITECTURES = 8

_LOCK = threading.Lock()
# architecture -> {(variant, argument signature): _Slot}, least recently used first.
_ARCHITECTURES = OrderedDict()
_STATS = {"traced": 0, "shared": 0, "unshareable": 0}


def clear():
    """Forget every shared function (tests; freeing memory)."""
    with _LOCK:
        _ARCHITECTURES.clear()
        _keys.clear()
        for name in _STATS:
            _STATS[name] = 0


def stats():
    """Counts since the last :func:`clear`: graphs traced, bindings to a traced graph, refusals."""
    with _LOCK:
        return dict(_STATS, architectures=len(_ARCHITECTURES))


class _Slot:
    """One traced graph of an architecture, for one kind and argument signature."""

    def __init__(self):
        self.lock = threading.Lock()
        self.shared = None
        self.refused = False


class _Shared:
    """A concrete function and where its captured handles come from."""

    def __init__(self, concrete, plan, specs, n_inputs):
        self.concrete = concrete
        self.plan = plan  # captured input i is the handle of state[plan[i]]
        self.specs = specs  # shape, dtype and trainability of every state variable
        self.n_inputs = n_inputs


class Bound:
    """A shared concrete function bound to one model's variables; call it like the function."""

    __slots__ = ("_call", "_handles", "_n_inputs", "_plan", "_kind")

    def __init__(self, shared, state, kind):
        self._call = shared.concrete._call_flat
        self._plan = shared.plan
        self._handles = [state[i].handle for i in shared.plan]
        self._n_inputs = shared.n_inputs
        self._kind = kind

    def binds(self, model):
        """Whether this still runs ``model``'s own variables (not those of an earlier compile)."""
        state = _state(model, self._kind)
        try:
            return all(state[i].handle is h for i, h in zip(self._plan, self._handles, strict=True))
        except IndexError:
            return False

    def __call__(self, *args):
        flat = [tf.convert_to_tensor(value) for value in tf.nest.flatten(args)]
        if len(flat) != self._n_inputs:
            raise TypeError(f"expected {self._n_inputs} tensors, got {len(flat)}")
        return self._call(flat, self._handles)


def bind(model, kind, make, args):
    """``make``'s function for ``model``, traced once per architecture (None: not shareable).

    Parameters
    ----------
    model : keras.Model
        Built, and for the training kinds compiled with its optimizer and
        metrics built.
    kind : str
        Name of the function (``"train"``, ``"test"``, or a forward pass);
        ``"train"`` and ``"test"`` use the optimizer and metrics variables.
    make : callable
        ``make(model_ref)`` returns the ``tf.function`` of a model, given a
        weak reference to it.
    args : tuple
        Example arguments (tensors, or nested tuples of them): their dtypes
        and shapes beyond the first axis pick the traced graph; the first
        axis is left free.

    Returns
    -------
    function : Bound or None
    """
    if not ENABLED:
        return None
    key = architecture_key(model, kind)
    if key is None:
        return None
    state = _state(model, kind)
    specs = _variable_specs(state)
    arg_specs = tf.nest.map_structure(_free_rows, args)
    slot = _slot(key, arg_specs)
    with slot.lock:
        if slot.shared is None and not slot.refused:
            slot.shared = _trace(model, make, arg_specs, state, specs)
            slot.refused = slot.shared is None
            counter = "unshareable" if slot.refused else "traced"
        else:
            counter = "shared"
    shared = slot.shared
    if shared is None or shared.specs != specs:
        counter = "unshareable"
        shared = None
    with _LOCK:
        _STATS[counter] += 1
    if shared is None:
        return None
    return Bound(shared, state, kind)


# ----------------------------------------------------------------------
# the traced graph and its captures


def _trace(model, make, arg_specs, state, specs):
    """Trace ``make``'s function for ``model``; None if its captures are not all ``state``."""
    function = make(weakref.ref(model))
    concrete = function.get_concrete_function(*arg_specs)
    index = {}
    for i, variable in enumerate(state):
        index.setdefault(id(variable.handle), i)
    captured = concrete.captured_inputs
    plan = [index.get(id(tensor)) for tensor in captured]
    n_inputs = len(tf.nest.flatten(arg_specs))
    if None in plan or len(concrete.inputs) != n_inputs + len(captured):
        return None
    # The function remembers its template's variables (weakly) only to tell a
    # gradient tape they were read: under a tape, a call after the template
    # died would fail, and would name the wrong model's variables anyway.
    # The variables a call reads are the handles passed in.
    concrete.set_variables([])
    return _Shared(concrete, plan, specs, n_inputs)


def _slot(key, arg_specs):
    """The slot of ``key``'s graph for arguments ``arg_specs``, made if new; LRU upkeep."""
    architecture, variant = key
    with _LOCK:
        slots = _ARCHITECTURES.get(architecture)
        if slots is None:
            slots = _ARCHITECTURES[architecture] = {}
            while len(_ARCHITECTURES) > MAX_ARCHITECTURES:
                _ARCHITECTURES.popitem(last=False)
        else:
            _ARCHITECTURES.move_to_end(architecture)
        return slots.setdefault((variant, arg_specs), _Slot())


def _state(model, kind):
    """The variables a function of ``kind`` may capture, in an order set by the architecture."""
    variables = list(model.variables)
    if kind in _keys.TRAINING_KINDS:
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            variables += optimizer.variables
        variables += model.metrics_variables
        variables += _loss_variables(model)
    return variables


def _loss_variables(model):
    """Variables held by the compiled loss objects (a switch such as a trimming flag)."""
    arguments = getattr(getattr(model, "_compile_config", None), "config", None) or {}
    found = []
    for loss in _keys.flat_objects(arguments.get("loss")):
        if isinstance(loss, keras.losses.Loss):
            found += [
                value
                for _, value in sorted(vars(loss).items())
                if isinstance(value, keras.Variable)
            ]
    return found


def _variable_specs(state):
    return tuple((tuple(v.shape), v.dtype, v.trainable) for v in state)


def _free_rows(value):
    """A TensorSpec for ``value`` with the first axis (rows) left free."""
    value = tf.convert_to_tensor(value)
    shape = value.shape
    if shape.rank:
        shape = tf.TensorShape([None]).concatenate(shape[1:])
    return tf.TensorSpec(shape, value.dtype)


# ----------------------------------------------------------------------
# what makes two models the same architecture


def architecture_key(model, kind):
    """:func:`skae._engine._keys.architecture_key`, None also where TensorFlow alone differs.

    XLA (``jit_compile``) changes the traced graph on TensorFlow, and a
    distribution strategy in scope changes how variables are read and
    written; neither is in the model's config, so both are checked here, on
    every call (a strategy is entered and left around the model).
    """
    if getattr(model, "jit_compile", False) is True or tf.distribute.has_strategy():
        return None
    return _keys.architecture_key(model, kind)
