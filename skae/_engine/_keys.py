"""What makes two Keras models "the same architecture", on any backend.

Two models whose :func:`architecture_key` agree trace to the same compiled
function up to their variables, so one trace serves both (TensorFlow:
:mod:`skae._engine._tf_compiled`; JAX: the jitted stateless steps). The key is the
model's config without seeds and with the names Keras numbered itself
replaced by their places, the loss, metrics and optimizer configs without the
learning rate (a variable), and ``floatx``; None where that does not say
everything about the computation (a custom model class or layer, a
``Lambda``, a model that runs eagerly or under a distribution strategy).
What only one backend's tracing depends on (TensorFlow: XLA, a strategy in
scope) is checked by that backend's module before it asks for the key.
"""

import json
import re
import weakref

import keras

from .._nn import keras_array_warnings_ignored
from .._quiet import tensorflow_unimported

__all__ = ["OPAQUE_LAYERS", "TRAINING_KINDS", "architecture_key", "clear", "flat_objects"]

# Function kinds that touch the optimizer and metrics, not only the model.
TRAINING_KINDS = frozenset({"train", "test"})

# Keras layers that run Python the config does not describe.
OPAQUE_LAYERS = frozenset({"Lambda", "TFSMLayer", "JaxLayer", "FlaxLayer", "TorchModuleWrapper"})

# model -> its part of the key ("" where it cannot share), computed once per model.
_MODEL_KEYS = weakref.WeakKeyDictionary()


def clear():
    """Forget the keys computed so far (tests)."""
    _MODEL_KEYS.clear()


# ----------------------------------------------------------------------
# what makes two models the same architecture


def architecture_key(model, kind):
    """Strings equal for two models whose functions of ``kind`` trace to the same graph.

    A pair: the architecture (the model), then what else the function of
    ``kind`` depends on (compile arguments, optimizer); None where sharing
    does not apply (see the module's docstring).
    """
    with tensorflow_unimported():  # Keras' configs would import it on any backend
        return _architecture_key(model, kind)


def _architecture_key(model, kind):
    architecture = _MODEL_KEYS.get(model)
    if architecture is None:
        architecture = _model_key(model) or ""
        _MODEL_KEYS[model] = architecture
    if not architecture:
        return None
    variant = {"kind": kind}
    if kind in TRAINING_KINDS:
        variant["compile"] = _guarded(_compile_key, model, kind == "train")
        if variant["compile"] is None:
            return None
    variant = _guarded(_dumps, variant)
    return None if variant is None else (architecture, variant)


def _model_key(model):
    """The model's part of :func:`architecture_key` (None where it cannot share)."""
    if not _guarded(_shareable_model, model):
        return None
    architecture = {
        "floatx": keras.config.floatx(),
        "class": _qualified_name(type(model)),
        "model": _guarded(_model_config, model),
    }
    return None if architecture["model"] is None else _guarded(_dumps, architecture)


def _model_config(model):
    config = model.get_config()
    return _canonical(config, _automatic_names(model, config))


def _dumps(value):
    return json.dumps(value, sort_keys=True, default=_unknown)


def _guarded(function, *args):
    """``function(*args)``, or None where the model's or compile's config cannot be read."""
    try:
        return function(*args)
    except (_Unshareable, NotImplementedError, TypeError, ValueError, AttributeError):
        return None


class _Unshareable(Exception):
    pass


def _unknown(value):
    raise _Unshareable(type(value).__name__)


def _qualified_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _own(cls):
    """Whether ``cls`` is Keras' own, or skae's and saved by its config (registered)."""
    if cls.__module__.startswith("keras."):
        return True
    return cls.__module__.startswith("skae.") and (
        keras.saving.get_registered_name(cls).startswith("skae>")
    )


def _shareable_model(model):
    if not type(model).__module__.startswith("keras.") or not model.built:
        return False
    if getattr(model, "run_eagerly", False):
        return False
    if getattr(model, "_distribute_strategy", None) is not None:
        return False
    return all(
        _own(type(layer)) and type(layer).__name__ not in OPAQUE_LAYERS for layer in _layers(model)
    )


def _layers(layer):
    """Every layer nested in ``layer``, models' layers included."""
    for child in getattr(layer, "layers", ()):
        yield child
        yield from _layers(child)


def _automatic_names(model, config):
    """Names Keras made up (``reshape_9``), each mapped to its place in ``config``.

    Keras numbers automatic names by how many layers of the class the process
    has made, so that two models built alike differ in them; a name chosen by
    the builder (``"encoder"``) is kept, since code may look a layer up by it.
    """
    names = {}

    def visit(name, class_name):
        if isinstance(name, str) and re.fullmatch(
            re.escape(_snake_case(class_name)) + r"(_\d+)?", name
        ):
            names.setdefault(name, f"<automatic name {len(names)}>")

    def walk(value):
        if isinstance(value, dict):
            inner = value.get("config")
            if isinstance(value.get("class_name"), str) and isinstance(inner, dict):
                visit(inner.get("name"), value["class_name"])
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    visit(getattr(model, "name", None), type(model).__name__)
    walk(config)
    return names


def _snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _canonical(config, names):
    """``config`` without ``"seed"`` entries, automatic ``names`` replaced by their places."""
    if isinstance(config, dict):
        return {k: _canonical(v, names) for k, v in config.items() if k != "seed"}
    if isinstance(config, (list, tuple)):
        return [_canonical(v, names) for v in config]
    if isinstance(config, str):
        return names.get(config, config)
    return config


def _without_seeds(config):
    """``config`` without its ``"seed"`` entries (seeds set initial values, not the graph)."""
    if isinstance(config, dict):
        return {k: _without_seeds(v) for k, v in config.items() if k != "seed"}
    if isinstance(config, (list, tuple)):
        return [_without_seeds(v) for v in config]
    return config


def _compile_key(model, with_optimizer):
    """Loss, metrics and (for training) optimizer, as they set the graph; None if unknown."""
    arguments = getattr(getattr(model, "_compile_config", None), "config", None)
    if arguments is None:
        return None
    named = ("loss", "loss_weights", "metrics", "weighted_metrics")
    if not all(_known(item) for name in named for item in flat_objects(arguments.get(name))):
        return None
    with keras_array_warnings_ignored():  # the optimizer's config, as above
        config = dict(model.get_compile_config())
    config.pop("steps_per_execution", None)
    config.pop("optimizer", None)
    if with_optimizer:
        if model.optimizer is None or not _own(type(model.optimizer)):
            return None
        with keras_array_warnings_ignored():  # Keras reads its rate variable
            settings = dict(model.optimizer.get_config())
        settings.pop("name", None)
        if isinstance(settings.get("learning_rate"), (int, float)):
            settings.pop("learning_rate")  # a variable, not part of the graph
        config["optimizer"] = [_qualified_name(type(model.optimizer)), settings]
    return _without_seeds(config)


def _known(item):
    """Whether a loss, metric or weight is a name, a number, or Keras' or skae's own."""
    if item is None or isinstance(item, (str, int, float)):
        return True
    if isinstance(item, type) or not hasattr(item, "get_config"):  # a class or function
        name = getattr(item, "__qualname__", "<lambda>")
        return getattr(item, "__module__", "").startswith("keras.") and "<" not in name
    return _own(type(item))


def flat_objects(value):
    """The leaves of nested dicts, lists and tuples (losses, metrics), in order."""
    if isinstance(value, dict):
        for item in value.values():
            yield from flat_objects(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from flat_objects(item)
    else:
        yield value
