"""scikit-learn's estimator checks on every public skae estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    VariationalAutoencoder,
)

# Small, fast, seeded instances: the checks fit dozens of times.
ESTIMATORS = [
    AutoencoderTransformer(
        latent_dim=2, hidden_layer_sizes=(8,), epochs=3, batch_size=32, random_state=0
    ),
    DenoisingAutoencoder(
        latent_dim=2, hidden_layer_sizes=(8,), epochs=3, batch_size=32, random_state=0
    ),
    AutoencoderOutlierDetector(
        latent_dim=2, hidden_layer_sizes=(8,), epochs=3, batch_size=32, random_state=0
    ),
    VariationalAutoencoder(
        latent_dim=2, hidden_layer_sizes=(8,), epochs=3, batch_size=32, random_state=0
    ),
]

# check name -> why skae cannot pass it. Keep this short.
EXPECTED_FAILURES = {
    "check_estimator_tags_renamed": (
        "scikeras' BaseWrapper, which every skae estimator must subclass, still "
        "defines the pre-1.6 `_more_tags`. skae's tags come from __sklearn_tags__ "
        "(see test_base.py::test_tags_come_from_mixins_left_of_scikeras); patching "
        "scikeras' class would change it for every other user in the process."
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "Training is stochastic mini-batch descent: a weight scales a row's loss, "
        "which is not the same optimisation path as repeating the row."
    ),
    "check_methods_sample_order_invariance": (
        "The network computes in float32, whose matrix products round a row "
        "differently (by one unit in the last place) depending on its position in "
        "the batch; the check's rtol=1e-7 is below float32 precision."
    ),
}


FLOAT32_ROUNDING = EXPECTED_FAILURES["check_methods_sample_order_invariance"]


def _expected_failed_checks(estimator):
    if isinstance(estimator, AutoencoderOutlierDetector):
        # decision_function is a difference of scores, close to 0 for rows near
        # the threshold, where the same float32 rounding becomes a large
        # relative change.
        return {**EXPECTED_FAILURES, "check_methods_subset_invariance": FLOAT32_ROUNDING}
    return EXPECTED_FAILURES


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
