"""The one place where skae touches scikit-learn's private API.

scikit-learn's own estimators declare their parameters and check their
sample weights with these helpers; they are private but stable since 1.6. If
a release moves them, only this module changes. scikit-learn 1.9's
experimental callbacks are imported here too, with a stand-in before 1.9,
and the containers behind ``set_output``, which skae's reconstructions use.
"""

try:  # scikit-learn >= 1.9: experimental callbacks (ProgressBar, ScoringMonitor, ...)
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # older scikit-learn: fit runs without them

    class CallbackSupportMixin:
        pass


from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    _check_sample_weight,
    _generate_get_feature_names_out,
)

__all__ = [
    "ADAPTERS_MANAGER",
    "CallbackSupportMixin",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_check_feature_names_in",
    "_check_sample_weight",
    "_fit_context",
    "_generate_get_feature_names_out",
    "_get_output_config",
]
