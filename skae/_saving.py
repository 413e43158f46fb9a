"""The estimator's side of persistence: ``save``, and pickles that travel as model files.

:class:`SavingMixin`, inherited by :class:`skae.BaseAutoencoder`, gives every
estimator :meth:`~SavingMixin.save` and its pickling (``__getstate__`` /
``__setstate__``, which ``copy`` and skops use too). The file format, its
reading and its trust policy live in skae/_persistence.py; this module only
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

from . import _file_estimator, _persistence
from ._persistence import ModelFileError, _from_bytes, to_bytes

__all__ = ["SavingMixin", "pickled_state", "unpickled_state"]

# The key of a pickled fitted estimator's state that holds its model file.
_PICKLED = "_skae_model_file"
# The key of every pickled estimator's state that holds the versions that wrote it.
_VERSIONS = "_skae_versions"


class SavingMixin:
    """``save`` and pickling, shared by every estimator.

    Mixed into :class:`skae.BaseAutoencoder` left of scikeras' ``BaseWrapper``.
    """

    # Private attributes that pickles and copies leave out: caches rebuilt on
    # first use (model files hold only the declared fitted attributes).
    _transient_attributes = frozenset()

    def save(self, path, *, key=None):
        """Save the estimator to one file, without pickle.

        The file is a zip archive holding the network in Keras' native
        ``.keras`` format and the parameters and fitted attributes as plain
        JSON, with checksums. :func:`skae.load` reads it back with Keras'
        safe mode and runs nothing stored in it. Pickle and joblib work too,
        but only load pickles you trust.

        Parameters
        ----------
        path : str or path-like
            Where to write; the ``.skae`` extension is a good choice. An
            existing file is replaced only once the new one is complete, and
            keeps its permission bits; a symbolic link is written through
            (its target is replaced).
        key : bytes or str, default=None
            A secret: adds an HMAC-SHA256 of the file that
            ``skae.load(path, key=key)`` checks, so that a file shipped
            between machines is known to come from someone holding the key.

        Returns
        -------
        path : pathlib.Path
            The file written.

        Raises
        ------
        TypeError
            If a parameter holds an object that plain JSON and Keras' safe
            format cannot describe (a Keras callback, a custom loss
            function, ...). Use pickle or joblib for such estimators.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import skae
        >>> X = np.random.RandomState(0).normal(size=(100, 4))
        >>> detector = skae.AutoencoderOutlierDetector(epochs=2, random_state=0).fit(X)
        >>> path = detector.save(os.path.join(tempfile.mkdtemp(), "detector.skae"))
        >>> bool(np.array_equal(skae.load(path).score_samples(X), detector.score_samples(X)))
        True
        """
        return _persistence.save_estimator(self, path, key=key)

    def __getstate__(self):
        # Pickles carry the versions that wrote them, like skae's own files. A
        # fitted estimator travels as its model file (bytes, which skops stores
        # too) wherever the format can describe it; see the module docstring.
        state = pickled_state(self) or super().__getstate__()
        kept = {name: v for name, v in state.items() if name not in self._transient_attributes}
        return {**kept, _VERSIONS: _persistence.versions()}

    def __setstate__(self, state):
        saved = state.pop(_VERSIONS, None)
        if saved is not None:
            _persistence._check_versions(saved, strict=False)
        super().__setstate__(unpickled_state(type(self), state))


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
    if _file_estimator.estimator_class(type(estimator).__name__) is not type(estimator):
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
