"""Which Keras objects a skae model file may name, resolved without importing anything.

A Keras configuration names each object by ``module``, ``class_name`` and
``registered_name``. Keras itself imports any ``module`` that starts with
``keras.`` when it does not find the name among its exported symbols, and
prefers whatever object is registered under ``registered_name``: a file can
so choose which code is imported. :func:`check_config` refuses a
configuration unless every object in it is

- a class looked up (``vars(module)``, no import) in one of Keras' public
  namespaces of :data:`NAMESPACES`, under exactly that module name, and of
  that namespace's base class (a layer from ``keras.layers``, a loss from
  ``keras.losses``, ...), with no registered name of its own; layers that
  carry code or read files (``Lambda``, ``TFSMLayer``, the Torch/JAX/Flax
  wrappers, the preprocessing layers) are refused;
- Keras' functional model class (``keras.src.models.functional.Functional``,
  the module name Keras writes for every ``keras.Model(inputs, outputs)``);
- a built-in Keras function (an activation, loss or metric function) named
  as Keras writes it (``module: "builtins"``) or under its public module;
- one of skae's own registered objects (``skae>Corruption``,
  ``skae>Sampling``, skae's losses), under the module that defines it;
- a symbolic tensor reference (``__keras_tensor__``) between layers.

Every module a permitted configuration names is then one skae imported
already, so that Keras' own resolution finds the same objects and imports
nothing. :func:`deserialize` rebuilds a checked configuration with Keras'
``safe_mode``.
"""

import re

import keras

from .. import _nn  # noqa: F401 - registers skae's Keras objects
from ._json import Refused

try:  # the class of every keras.Model(inputs, outputs)
    from keras.src.models.functional import Functional
except ImportError:  # pragma: no cover - another Keras layout: no functional models then
    Functional = None

__all__ = ["NAMESPACES", "check_config", "deserialize", "is_saveable_object"]

# Where a backend keeps its own optimizer classes (PyTorch's torch_adam, ...).
_BACKEND_OPTIMIZER = re.compile(r"keras\.src\.backend\.\w+\.optimizers(\.\w+)*")

# Module name as written in a configuration -> (public module, required base class).
NAMESPACES = {
    "keras.layers": (keras.layers, keras.layers.Layer),
    "keras.models": (keras.models, keras.Model),
    "keras.optimizers": (keras.optimizers, keras.optimizers.Optimizer),
    "keras.optimizers.schedules": (
        keras.optimizers.schedules,
        keras.optimizers.schedules.LearningRateSchedule,
    ),
    "keras.losses": (keras.losses, keras.losses.Loss),
    "keras.metrics": (keras.metrics, keras.metrics.Metric),
    "keras.initializers": (keras.initializers, keras.initializers.Initializer),
    "keras.regularizers": (keras.regularizers, keras.regularizers.Regularizer),
    "keras.constraints": (keras.constraints, keras.constraints.Constraint),
    "keras.dtype_policies": (keras.dtype_policies, keras.dtype_policies.DTypePolicy),
    # Keras writes dtype policies as module "keras", class "DTypePolicy".
    "keras": (keras.dtype_policies, keras.dtype_policies.DTypePolicy),
}
# Where built-in functions are looked up (Keras writes them as module "builtins").
FUNCTION_NAMESPACES = {
    "keras.activations": keras.activations,
    "keras.losses": keras.losses,
    "keras.metrics": keras.metrics,
}
_NOT_FUNCTIONS = {"get", "serialize", "deserialize"}
# Public layers that run stored code or read files or other models.
_CODE_LAYERS = {"Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"}
_CODE_MODULES = ("keras.src.layers.preprocessing", "keras.src.export", "keras.src.utils")
# scikeras registers the class of every model it pickles or copies under
# ">" + its qualified name: Keras then writes that registered name.
_FUNCTIONAL_NAMES = (None, "Functional", ">Functional")
# The objects a parameter of an estimator may hold.
PARAMETER_BASES = (
    keras.optimizers.Optimizer,
    keras.losses.Loss,
    keras.metrics.Metric,
    keras.optimizers.schedules.LearningRateSchedule,
)


def is_saveable_object(value):
    """Whether ``value`` is a Keras object a parameter may hold (optimizer, loss, metric, ...)."""
    return isinstance(value, PARAMETER_BASES)


def check_config(config, where="the network's configuration"):
    """Refuse (:class:`~skae._io._json.Refused`) a configuration naming what the allow-list lacks.

    Walks every dict and list (iteratively: the depth is bounded anyway by
    the JSON reader). Returns nothing.
    """
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if "class_name" in item:
                _check_object(item, where)
            stack.extend(item.values())


def resolve(item, where="the network's configuration"):
    """The class or function that one object's configuration names, once checked."""
    return _check_object(item, where)


def _check_object(item, where):
    class_name = item["class_name"]
    module = item.get("module")
    registered = item.get("registered_name")
    if not isinstance(class_name, str) or not isinstance(module, (str, type(None))):
        raise Refused(f"{where} names an object by something other than strings.")
    if class_name == "__keras_tensor__":
        if "module" in item or "registered_name" in item:
            raise Refused(f"{where} holds a tensor reference that names a module.")
        return None
    label = f"{module}.{class_name}"
    if class_name == "function":
        return _check_function(item, module, registered, where)
    if not class_name.isidentifier() or class_name.startswith("_"):
        raise Refused(f"{where} names the object {label!r}, which Keras does not define.")
    if (isinstance(registered, str) and registered.startswith("skae>")) or (
        module or ""
    ).startswith("skae"):
        return _skae_object(registered, class_name, module, label, where)
    if Functional is not None and module == Functional.__module__:
        if class_name != Functional.__name__ or registered not in _FUNCTIONAL_NAMES:
            raise Refused(f"{where} names {label}, which is not Keras' functional model.")
        custom = keras.saving.get_custom_objects()
        if registered and custom.get(registered, Functional) is not Functional:
            raise Refused(
                f"{where} names {label} registered as {registered!r}, which is not Keras' "
                "functional model."
            )
        return Functional
    if module not in NAMESPACES:
        raise Refused(
            f"{where} names {label}: {module!r} is not one of Keras' public modules "
            f"({', '.join(sorted(NAMESPACES))}) nor skae's. Nothing was imported."
        )
    namespace, base = NAMESPACES[module]
    cls = vars(namespace).get(class_name)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise Refused(f"{where} names {label}, which is not a {base.__name__} of {module}.")
    if registered not in (None, class_name):
        raise Refused(
            f"{where} names {label} with the registered name {registered!r}: Keras would "
            "load that registered object instead. Refusing to load it."
        )
    if cls.__name__ in _CODE_LAYERS or class_name in _CODE_LAYERS:
        raise Refused(
            f"{where} holds a {class_name} layer, which carries code or reads other files."
        )
    if cls.__module__.startswith(_CODE_MODULES):
        raise Refused(
            f"{where} holds a {class_name} layer, which reads files or wraps other models."
        )
    return cls


# Modules of skae's Keras objects that moved, by the names that files written
# before the move store (skae 0.1.0's flat layout): the object is the same.
_MOVED_MODULES = {"skae._layers": "skae._nn._layers"}


def _skae_object(registered, class_name, module, label, where):
    """One of skae's registered Keras objects, as skae writes it (or wrote it before a move)."""
    cls = keras.saving.get_custom_objects().get(registered) if isinstance(registered, str) else None
    if not (
        isinstance(cls, type)
        and cls.__module__.startswith("skae.")
        and registered == f"skae>{class_name}"
        and cls.__name__ == class_name
        and _MOVED_MODULES.get(module, module) == cls.__module__
    ):
        raise Refused(
            f"{where} names {label} registered as {registered!r}, which is not one of "
            "skae's registered objects as skae writes them."
        )
    return cls


def _check_function(item, module, registered, where):
    name = item.get("config")
    if (
        not isinstance(name, str)
        or not name.isidentifier()
        or name.startswith("_")
        or name in _NOT_FUNCTIONS
    ):
        raise Refused(f"{where} names the function {name!r}, which is not a Keras function.")
    if registered not in (None, "function", name):
        raise Refused(f"{where} names the function {name!r} registered as {registered!r}.")
    if module == "builtins":
        namespaces = FUNCTION_NAMESPACES.values()
    elif module in FUNCTION_NAMESPACES:
        namespaces = [FUNCTION_NAMESPACES[module]]
    else:
        raise Refused(f"{where} names the function {module}.{name}, which is not a Keras function.")
    for namespace in namespaces:
        function = vars(namespace).get(name)
        if callable(function) and not isinstance(function, type):
            return function
    raise Refused(f"{where} names the function {name!r}, which is not a Keras function.")


def deserialize(config, where, bases=PARAMETER_BASES):
    """A Keras object (optimizer, loss, metric, schedule) from a checked configuration."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise Refused(f"{where} is not a Keras object's configuration.")
    cls = resolve(config, where)
    if not (isinstance(cls, type) and issubclass(cls, bases)):
        raise Refused(
            f"{where} names {config.get('class_name')!r}, not an optimizer, loss, metric or "
            "schedule."
        )
    check_config(config, where)
    obj = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if not _made_by(type(obj), cls):
        raise Refused(f"{where} did not give a {cls.__name__}.")
    return obj


def _made_by(made, cls):
    """Whether ``cls(...)`` makes instances of ``made``: itself, or its backend's own subclass."""
    return made is cls or (
        issubclass(made, cls)
        and _BACKEND_OPTIMIZER.fullmatch(made.__module__) is not None
        and made.__name__ == cls.__name__
    )


def name_public_optimizers(config):
    """Rename backend optimizer modules to ``keras.optimizers`` in ``config``, in place.

    On PyTorch, ``keras.optimizers.Adam`` is a subclass that Keras writes
    under its private module (``keras.src.backend.torch.optimizers.torch_adam``),
    which another backend cannot import and this policy refuses;
    ``keras.optimizers`` names the same optimizer on every backend. Returns
    whether anything was renamed.
    """
    changed = False
    if isinstance(config, dict):
        module, name = config.get("module"), config.get("class_name")
        if (
            isinstance(module, str)
            and isinstance(name, str)
            and _BACKEND_OPTIMIZER.fullmatch(module)
            and isinstance(getattr(keras.optimizers, name, None), type)
        ):
            config["module"] = "keras.optimizers"
            changed = True
        for item in config.values():
            changed = name_public_optimizers(item) or changed
    elif isinstance(config, list):
        for item in config:
            changed = name_public_optimizers(item) or changed
    return changed


def serialize(value, where):
    """A Keras parameter object's configuration, checked as load will check it; None if not one."""
    if not is_saveable_object(value):
        return None
    import json

    config = json.loads(json.dumps(keras.saving.serialize_keras_object(value)))
    name_public_optimizers(config)
    try:
        check_config(config, where)
        cls = resolve(config, where)
    except Refused as error:
        raise TypeError(
            f"save() cannot store {where} = {value!r} without pickle: {error} Use a "
            "built-in Keras object, or pickle/joblib for custom ones."
        ) from None
    if not _made_by(type(value), cls):
        raise TypeError(
            f"save() cannot store {where} = {value!r} without pickle: it is a subclass of "
            f"{cls.__name__}. Use a built-in Keras object, or pickle/joblib for custom ones."
        )
    return config
