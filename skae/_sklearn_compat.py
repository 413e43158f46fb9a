"""The one place where skae touches scikit-learn's private API.

scikit-learn's own estimators declare their parameters with these helpers;
they are private but stable since 1.2. If a release moves them, only this
module changes.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

__all__ = ["HasMethods", "Interval", "StrOptions", "_fit_context"]
