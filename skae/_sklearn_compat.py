"""The one place where skae touches scikit-learn's private API.

scikit-learn's own estimators declare their parameters and check their
sample weights with these helpers; they are private but stable since 1.6. If
a release moves them, only this module changes.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = ["HasMethods", "Interval", "StrOptions", "_check_sample_weight", "_fit_context"]
