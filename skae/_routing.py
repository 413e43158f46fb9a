"""Routed parameters: scikeras' ``model__*``, ``optimizer__*``, ``fit__*``, ``callbacks``...

:class:`RoutingMixin`, inherited by :class:`skae.BaseAutoencoder`, holds what
skae takes from scikeras' routing, and only that: which routed names an
estimator accepts and reports as parameters (``get_params``, ``set_params``,
``clone``), and how they reach the network's builder (``model__*``),
``Model.compile`` (``optimizer__*``, ``loss__*``, ``metrics__*``,
``compile__*``) and training (``fit__*``, ``callbacks`` and
``callbacks__*``). Beside skae/_base.py, whose ``BaseWrapper`` provides
``_routing_prefixes``, ``_fit_kwargs`` and ``_get_compile_kwargs``, this is
the only module that imports scikeras.

Routed names given to the constructor or ``set_params`` are recorded in
``_user_params``; a name without a known prefix is refused.
"""

from collections.abc import Mapping

import keras
from scikeras._utils import route_params, unflatten_params
from sklearn.base import BaseEstimator

from ._layers import MASKED_LOSSES

__all__ = ["RoutingMixin", "check_routed_names"]

# fit__* arguments that skae's own parameters already say (a routed value,
# e.g. fit__epochs, wins over the plain parameter, as in scikeras).
_OWN_FIT_ARGS = ("epochs", "batch_size", "shuffle", "verbose")


class RoutingMixin:
    """scikeras' routed parameters: accepted, reported, and passed on.

    Mixed into :class:`skae.BaseAutoencoder` left of scikeras' ``BaseWrapper``,
    whose ``set_params`` and ``_get_param_names`` these replace.
    """

    def _get_param_names(self):
        # scikeras takes every public attribute for a parameter, so one set
        # by hand became one; scikit-learn's are the signature's, plus here
        # the routed names given to the constructor or set_params.
        own = BaseEstimator._get_param_names.__func__(type(self))
        return sorted({*own, *getattr(self, "_user_params", ())})

    def set_params(self, **params):
        routed = {name for name in params if _routing_prefix(name) in self._routing_prefixes}
        check_routed_names(type(self), {n: v for n, v in params.items() if "__" in n})
        super().set_params(**params)
        if routed:
            self._user_params = {*getattr(self, "_user_params", ()), *routed}
        return self

    def _check_unknown_params(self):
        """Refuse a recorded routed name that has no prefix (``_user_params`` set by hand)."""
        unknown = sorted(
            name for name in getattr(self, "_user_params", ()) if "__" not in name
        )
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for {type(self).__name__}. Routed "
                "parameters need a prefix such as 'model__', 'optimizer__' or 'fit__'."
            )

    def _routed_model_args(self):
        """``model__*`` parameters, for the network's builder."""
        return route_params(
            self.get_params(), destination="model",
            pass_filter=getattr(self, "_user_params", set()), strict=True,
        )

    def _routed_fit_args(self):
        """``(own, fit_args)``: ``fit__*`` values of skae's own parameters, and the others.

        ``initial_epoch``, ``sample_weight`` and ``callbacks`` are dropped:
        training sets the first two, :meth:`_routed_callbacks` gives the last.
        """
        fit_args = route_params(self.get_params(), destination="fit", pass_filter=self._fit_kwargs)
        own = {name: fit_args.pop(name) for name in _OWN_FIT_ARGS if name in fit_args}
        for name in ("initial_epoch", "sample_weight", "callbacks"):
            fit_args.pop(name, None)
        return own, fit_args

    def _routed_callbacks(self):
        """``callbacks`` and ``fit__callbacks`` as one flat list (scikeras' routing)."""
        params = self.get_params()
        found = []
        for destination in ("callbacks", "fit__callbacks"):
            if params.get(destination) is None:
                continue
            routed = route_params(params, destination=destination, pass_filter=set())
            callbacks = unflatten_params(items=params[destination], params=routed)
            if isinstance(callbacks, Mapping):
                callbacks = list(callbacks.values())
            elif isinstance(callbacks, keras.callbacks.Callback):
                callbacks = [callbacks]
            for item in callbacks:
                found.extend(item if isinstance(item, list) else [item])
        bad = [c for c in found if not isinstance(c, keras.callbacks.Callback)]
        if bad:
            raise TypeError(
                "callbacks must hold keras.callbacks.Callback instances or classes "
                f"(a list, a dict of them, or one), got {bad[0]!r}."
            )
        return found

    def _compile_arguments(self):
        """``Model.compile`` arguments: scikeras' routing, with our learning rate."""
        kwargs = self._get_compile_kwargs()
        routed_lr = "optimizer__learning_rate" in self.get_params()
        if not isinstance(self.optimizer, keras.optimizers.Optimizer) and not routed_lr:
            # scikeras built the optimizer from its name or class: give it our rate.
            optimizer = kwargs["optimizer"]
            config = {**optimizer.get_config(), "learning_rate": self.learning_rate}
            kwargs["optimizer"] = type(optimizer).from_config(config)
        if isinstance(self.loss, str) and self.loss in MASKED_LOSSES:
            kwargs["loss"] = MASKED_LOSSES[self.loss]()  # NaN in the target: missing cells
        return kwargs


def _routing_prefix(name):
    return name.split("__", 1)[0] if "__" in name else None


def check_routed_names(cls, kwargs):
    """Raise TypeError, as Python does, for a keyword that is neither a parameter nor routed."""
    prefixes = cls._routing_prefixes | {"callbacks"}
    unknown = sorted(name for name in kwargs if _routing_prefix(name) not in prefixes)
    if unknown:
        raise TypeError(
            f"{cls.__name__}.__init__() got unexpected keyword argument(s) {unknown}. "
            "Parameters are listed in the class's docstring; routed parameters start "
            f"with one of {sorted(p + '__' for p in prefixes)}."
        )
