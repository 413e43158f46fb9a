"""The model file format: writing, reading with its trust policy, and pickles as model files.

Imports no estimator module. What a file needs of an estimator class, the
class declares, and this package reads those declarations generically:

- ``_fitted_attributes`` (name -> kind), ``_optional_attributes``,
  ``_array_shapes`` (name -> shape in terms of ``"n_features_in_"``,
  ``"latent_dim"`` and the names of ``_array_sizes()``; None: any length),
  ``_positive_attributes`` and ``_transient_attributes``;
- ``_network_layers`` (layer name -> layer class, e.g. the encoder, decoder
  and a denoiser's corruption) and ``_network_widths()`` (the widths of the
  code, the decoder's input and the output);
- ``_array_sizes()``: extra sizes the shapes name (the detector's members).

A file names its estimator's class; the class is found among those the
estimators registered (:func:`register_estimator`), never imported by name.

The modules: :mod:`._persistence` (the file, its header, versions and
checksums), :mod:`._archive` (zip archives and atomic writes), :mod:`._json`
(bounded JSON reader), :mod:`._codec` (values and fitted attributes),
:mod:`._estimator` (the estimator's parameters and state), :mod:`._network`
(the Keras network), :mod:`._keras_policy` (the allow-list of Keras objects),
:mod:`._pickling` (pickles that travel as model files), :mod:`._registry`.
"""

from ._persistence import (
    InconsistentVersionWarning,
    ModelFileError,
    from_bytes,
    load,
    save_estimator,
    to_bytes,
)
from ._pickling import getstate, setstate
from ._registry import estimator_class, register_estimator

__all__ = [
    "InconsistentVersionWarning",
    "ModelFileError",
    "estimator_class",
    "from_bytes",
    "getstate",
    "load",
    "register_estimator",
    "save_estimator",
    "setstate",
    "to_bytes",
]
