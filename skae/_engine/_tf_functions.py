"""TensorFlow: each model's compiled functions (epoch loops, forward passes), found in one table.

Compiled functions are traced once per architecture and shared by the models
of that architecture (:mod:`skae._engine._tf_compiled`), so that the many
small fits of a grid search or a cross-validation pay for tracing once; a
model that cannot share traces functions of its own. Either way each model's
functions are found in a weak-keyed table: they are never pickled with it,
and die with it.
"""

import functools
import weakref

import tensorflow as tf

from . import _tf_compiled

__all__ = ["forget_stale_bindings", "forward_function", "function"]

# model -> {(name, argument signature): compiled function}. Weak keys, and
# functions that hold the model only weakly (or not at all, when shared), so
# that a cached function never keeps its model alive.
_FUNCTIONS = weakref.WeakKeyDictionary()


def function(model, name, args):
    """The compiled function ``name`` of ``model`` for arguments like ``args`` (tensors)."""
    functions = _FUNCTIONS.setdefault(model, {})
    signature = (name, *((t.dtype, tuple(t.shape[1:])) for t in tf.nest.flatten(args)))
    function = functions.get(signature)
    if function is None:
        function = _tf_compiled.bind(model, name, _MAKERS[name], args)
        if function is None:
            function = _own_function(model, name)
        functions[signature] = function
    return function


def forward_function(model, name, x):
    """The compiled forward pass ``name`` of ``model``, ``x`` an array of its input dtype."""
    functions = _FUNCTIONS.get(model)
    function = None if functions is None else functions.get(name)
    if function is None:
        function = _tf_compiled.bind(model, name, _MAKERS[name], (tf.convert_to_tensor(x[:1]),))
        if function is None:
            function = _own_function(model, name).get_concrete_function()
        _FUNCTIONS.setdefault(model, {})[name] = function
    return function


def _own_function(model, name):
    """The function ``name`` traced for ``model`` alone (one per model, made on first use)."""
    functions = _FUNCTIONS.setdefault(model, {})
    own = ("own", name)
    if own not in functions:
        functions[own] = _MAKERS[name](weakref.ref(model))
    return functions[own]


def forget_stale_bindings(model):
    """Drop shared functions bound to variables ``model`` no longer has (it was recompiled)."""
    functions = _FUNCTIONS.get(model, {})
    for signature, function in list(functions.items()):
        if isinstance(function, _tf_compiled.Bound) and not function.binds(model):
            del functions[signature]


def _compile_loop(loop, model_ref):
    # tf.function keeps its retracing statistics per code object, so one
    # closure per model would pile up into "excessive retracing" warnings
    # after a few fits (a grid search); a partial is counted on its own.
    return tf.function(functools.partial(loop, model_ref), reduce_retracing=True)


def _train_loop(model_ref, data, order, batch_size):
    """Run ``train_step`` on the batches of one epoch, taking rows in ``order``."""
    model = model_ref()
    step = _step_function(model, model.train_step)
    for start in tf.range(0, tf.size(order), batch_size):
        rows = order[start : start + batch_size]
        step(tuple(tf.gather(part, rows) for part in data))


def _test_loop(model_ref, data, batch_size):
    """Run ``test_step`` on all batches, in order."""
    model = model_ref()
    step = _step_function(model, model.test_step)
    for start in tf.range(0, tf.shape(data[0])[0], batch_size):
        step(tuple(part[start : start + batch_size] for part in data))


def _make_forward(call, model_ref):
    """A compiled forward pass for any number of rows, traced once.

    Its concrete function (``get_concrete_function()``) skips the argument
    dispatch of each call.
    """
    spec = model_ref().inputs[0]
    signature = tf.TensorSpec((None,) + tuple(spec.shape[1:]), spec.dtype)
    return tf.function(functools.partial(call, model_ref), input_signature=[signature])


def _forward(model_ref, x):
    return model_ref()(x, training=False)


def _code_and_reconstruction(model_ref, x):
    model = model_ref()
    code = model.get_layer("encoder")(x, training=False)
    return code, model.get_layer("decoder")(code, training=False)


_MAKERS = {
    "train": functools.partial(_compile_loop, _train_loop),
    "test": functools.partial(_compile_loop, _test_loop),
    "model": functools.partial(_make_forward, _forward),
    "code_and_reconstruction": functools.partial(_make_forward, _code_and_reconstruction),
}


def _step_function(model, step):
    """``step`` compiled with XLA where ``Model.fit`` would compile it so (GPU)."""
    if model.jit_compile:
        return tf.function(step, jit_compile=True)
    return step
