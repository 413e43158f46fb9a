"""Routed parameters (``model__*``, ``optimizer__*``, ``fit__*``...): scikeras' routing.

The one module that imports scikeras, so that scikeras can be replaced here
alone. The estimators call these functions with ``estimator.get_params()``;
no scikeras class is in any estimator's MRO. What each routed prefix reaches:

- ``model__*``: the network builder's keyword arguments (:func:`model_args`);
- ``optimizer__*``, ``loss__*``, ``metrics__*``, ``compile__*``: ``Model.compile``
  (:func:`compile_args`, scikeras' ``BaseWrapper._get_compile_kwargs``);
- ``fit__*``: the training loop's ``Model.fit`` arguments (:func:`fit_args`);
- ``callbacks__*`` and ``fit__callbacks__*``: callbacks built from classes
  (:func:`callbacks`).
"""

from collections.abc import Mapping

import keras
from scikeras._utils import (
    get_loss_class_function_or_string,
    get_metric_class,
    get_optimizer_class,
    route_params,
    try_to_convert_strings_to_classes,
    unflatten_params,
)

__all__ = [
    "ROUTING_PREFIXES",
    "callbacks",
    "check_routed_names",
    "compile_args",
    "fit_args",
    "model_args",
    "routing_prefix",
]

# The prefixes that route a parameter (scikeras' BaseWrapper._routing_prefixes).
ROUTING_PREFIXES = frozenset({"model", "fit", "compile", "predict", "optimizer", "loss", "metrics"})
# Parameters that reach Model.fit (scikeras' BaseWrapper._fit_kwargs).
FIT_KWARGS = frozenset(
    {
        "batch_size",
        "epochs",
        "verbose",
        "validation_split",
        "shuffle",
        "class_weight",
        "sample_weight",
        "initial_epoch",
        "validation_steps",
        "validation_batch_size",
        "validation_freq",
    }
)
# Parameters that reach Model.compile (scikeras' BaseWrapper._compile_kwargs).
_COMPILE_KWARGS = frozenset(
    {"optimizer", "loss", "metrics", "loss_weights", "weighted_metrics", "run_eagerly"}
)


def routing_prefix(name):
    """The routing prefix of a parameter name (``"model"`` for ``model__units``), or None."""
    return name.split("__", 1)[0] if "__" in name else None


def is_routed(name):
    """Whether ``name`` is a routed parameter (``prefix__...`` with a known prefix)."""
    return routing_prefix(name) in ROUTING_PREFIXES


def check_routed_names(cls, kwargs):
    """Raise TypeError, as Python does, for a keyword that is neither a parameter nor routed."""
    prefixes = ROUTING_PREFIXES | {"callbacks"}
    unknown = sorted(name for name in kwargs if routing_prefix(name) not in prefixes)
    if unknown:
        raise TypeError(
            f"{cls.__name__}.__init__() got unexpected keyword argument(s) {unknown}. "
            "Parameters are listed in the class's docstring; routed parameters start "
            f"with one of {sorted(p + '__' for p in prefixes)}."
        )


def model_args(params, user_params):
    """The ``model__*`` parameters, as keyword arguments of the network builder."""
    return route_params(params, destination="model", pass_filter=user_params, strict=True)


def fit_args(params):
    """The ``fit__*`` parameters (and those named like ``Model.fit``'s), for ``Model.fit``."""
    return route_params(params, destination="fit", pass_filter=set(FIT_KWARGS))


def compile_args(params):
    """``Model.compile`` arguments: optimizer, loss and metrics built from routed parameters."""
    kwargs = route_params(params, destination="compile", pass_filter=set(_COMPILE_KWARGS))
    kwargs["optimizer"] = unflatten_params(
        items=try_to_convert_strings_to_classes(kwargs["optimizer"], get_optimizer_class),
        params=route_params(params, destination="optimizer", pass_filter=set(), strict=True),
    )
    kwargs["loss"] = unflatten_params(
        items=try_to_convert_strings_to_classes(kwargs["loss"], get_loss_class_function_or_string),
        params=route_params(params, destination="loss", pass_filter=set(), strict=False),
    )
    kwargs["metrics"] = unflatten_params(
        items=try_to_convert_strings_to_classes(kwargs["metrics"], get_metric_class),
        params=route_params(params, destination="metrics", pass_filter=set(), strict=False),
    )
    if kwargs["metrics"] is not None and not isinstance(kwargs["metrics"], (dict, list)):
        kwargs["metrics"] = [kwargs["metrics"]]  # Keras expects a list or dict
    return kwargs


def callbacks(params):
    """``callbacks`` and ``fit__callbacks`` as one flat list of Keras callbacks."""
    found = []
    for destination in ("callbacks", "fit__callbacks"):
        if params.get(destination) is None:
            continue
        routed = route_params(params, destination=destination, pass_filter=set())
        items = unflatten_params(items=params[destination], params=routed)
        if isinstance(items, Mapping):
            items = list(items.values())
        elif isinstance(items, keras.callbacks.Callback):
            items = [items]
        for item in items:
            found.extend(item if isinstance(item, list) else [item])
    bad = [c for c in found if not isinstance(c, keras.callbacks.Callback)]
    if bad:
        raise TypeError(
            "callbacks must hold keras.callbacks.Callback instances or classes "
            f"(a list, a dict of them, or one), got {bad[0]!r}."
        )
    return found
