"""Pickles that travel as model files.

The estimators' ``__getstate__``/``__setstate__`` (which ``copy`` and skops
use too) call :func:`getstate` and :func:`setstate`. The file format, its
reading and its trust policy live in :mod:`._persistence`; this module only
decides what an estimator hands to it and takes back:

- a fitted estimator of one of skae's own classes pickles as its model file,
  bytes that skops stores natively (it cannot store the Keras model in
  ``model_``), beside its private attributes (``set_output``'s configuration,
  metadata requests), which a file does not hold (:func:`pickled_state`);
  unpickling loads that file as :func:`skae.load` loads one, validated and
  nothing in it run (:func:`unpickled_state`);
- any other estimator (unfitted, a subclass, or holding what a file cannot,
  such as a callback) pickles its ``__dict__`` as before, Keras model and all;
- either way the pickle carries the versions that wrote it, compared on
  loading (a warning, as for a model file), and leaves out the private
  attributes a class declares in ``_transient_attributes``: caches that are
  rebuilt on first use.
"""

from . import _persistence
from ._persistence import ModelFileError, _from_bytes, to_bytes
from ._registry import estimator_class

__all__ = ["getstate", "pickled_state", "setstate", "unpickled_state"]

# The key of a pickled fitted estimator's state that holds its model file.
_PICKLED = "_skae_model_file"
# The key of every pickled estimator's state that holds the versions that wrote it.
_VERSIONS = "_skae_versions"


def getstate(estimator, state):
    """What ``estimator.__getstate__`` returns, given the plain ``state`` of its ``__dict__``.

    Pickles carry the versions that wrote them, like skae's own files. A
    fitted estimator travels as its model file (bytes, which skops stores
    too) wherever the format can describe it; see the module docstring.
    """
    state = pickled_state(estimator) or state
    transient = type(estimator)._transient_attributes
    kept = {name: v for name, v in state.items() if name not in transient}
    return {**kept, _VERSIONS: _persistence.versions()}


def setstate(cls, state):
    """The ``__dict__`` of a ``cls`` unpickled from ``state`` (versions compared: a warning)."""
    saved = state.pop(_VERSIONS, None)
    if saved is not None:
        _persistence._check_versions(saved, strict=False)
    return unpickled_state(cls, state)


def pickled_state(estimator):
    """What pickle, ``copy`` and skops store of a fitted skae estimator, or ``None``.

    Its model file as bytes, which skops stores natively (it cannot store the
    Keras model in ``model_``), beside its private attributes (``set_output``'s
    configuration, metadata requests), which a file does not hold. ``None``
    when the estimator is unfitted, is not one of skae's own classes (a
    subclass's file would load as another class), or holds what a file
    cannot (a callback, a custom loss: ``save`` raises ``TypeError``): it is
    then pickled as before, Keras model and all.
    """
    if getattr(estimator, "model_", None) is None:
        return None
    if estimator_class(type(estimator).__name__) is not type(estimator):
        return None
    try:
        data = to_bytes(estimator)
    except (TypeError, ValueError):
        return None
    private = {name: value for name, value in vars(estimator).items() if name.startswith("_")}
    return {**private, _PICKLED: data}


def unpickled_state(cls, state):
    """The ``__dict__`` of a ``cls`` unpickled from ``state``.

    A state that :func:`pickled_state` made: its model file loaded as
    :func:`skae.load` loads one, validated and nothing in it run, but for its
    versions, which ``__setstate__`` has compared already (a warning, as for
    any pickle). Any other state (an unfitted estimator's) is returned as is.
    """
    if _PICKLED not in state:
        return state
    state = dict(state)
    data = state.pop(_PICKLED)
    label = f"this pickled {cls.__name__}"
    public = sorted(name for name in state if not name.startswith("_"))
    if public:
        raise ModelFileError(
            f"Cannot load {label}: it holds the attribute(s) {public[:10]} beside its model file."
        )
    estimator = _from_bytes(data, None, label, warn_at=None)
    if type(estimator) is not cls:
        raise ModelFileError(
            f"Cannot load {label}: its model file holds a {type(estimator).__name__}."
        )
    return {**state, **vars(estimator)}
