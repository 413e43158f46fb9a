"""Beyond one machine: searches on a Dask cluster, training out of core by chunks.

Two things Dask users do with any scikit-learn estimator, checked on skae's:

- run ``GridSearchCV`` / ``RandomizedSearchCV`` on a cluster through joblib's
  Dask backend, and get the very same search as on one process;
- train on data that never sits in memory at once, one chunk per
  ``partial_fit`` (``dask_ml.wrappers.Incremental``, a loop over
  ``dask_array.blocks`` or ``pd.read_csv(..., chunksize=...)``), and get a
  model about as good as an in-memory ``fit`` with as many epochs.
"""

import importlib
import re

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from skae import AutoencoderOutlierDetector

_REASON = "needs the 'dask' extra: pip install 'skae[dask]'"
dask = pytest.importorskip("dask", reason=_REASON)
da = pytest.importorskip("dask.array", reason=_REASON)
distributed = pytest.importorskip("distributed", reason=_REASON)
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers", reason=_REASON)

# On top of conftest's FAST: a faster rate. An int random_state makes every
# fit the same in any process.
QUICK = {"learning_rate": 1e-2}
SEARCHED = {**QUICK, "epochs": 40}
CV = 2


# ----------------------------------------------------------------------
# Searches on a Dask cluster (joblib's "dask" backend)


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, as on two machines."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # Load skae's estimators, and TensorFlow with them, on the workers once.
        client.run(lambda: importlib.import_module("skae").AutoencoderTransformer)
        yield client


def grid_search(make_estimator):
    """An autoencoder alone, scored by its own ``score`` (minus the reconstruction MSE)."""
    search = GridSearchCV(make_estimator(**SEARCHED), {"latent_dim": [2, 8]}, cv=CV, refit=False)
    return search, False


def randomized_search(make_estimator):
    """Codes for a classifier: the autoencoder tuned for the accuracy downstream."""
    pipeline = make_pipeline(make_estimator(**SEARCHED), LogisticRegression(max_iter=2000))
    distributions = {
        "autoencodertransformer__latent_dim": [2, 12],
        "logisticregression__C": loguniform(1e-2, 1e2),
    }
    search = RandomizedSearchCV(
        pipeline, distributions, n_iter=2, cv=CV, refit=False, random_state=1
    )
    return search, True


@pytest.mark.parametrize("make_search", [grid_search, randomized_search])
def test_search_on_dask_workers_equals_the_search_in_one_process(
    client, digits, make_estimator, make_search
):
    X, labels = digits
    search, supervised = make_search(make_estimator)
    y = labels if supervised else None
    local = search.set_params(n_jobs=1).fit(X, y)

    search, _ = make_search(make_estimator)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = search.set_params(n_jobs=-1).fit(X, y)

    # Every fit of the search ran as a task on the cluster's workers; joblib
    # names each task after the batch of _fit_and_score calls it holds.
    assert tasks.data, "no task reached the cluster"
    assert {task["worker"] for task in tasks.data} <= set(client.scheduler_info()["workers"])
    keys = " ".join(str(task["key"]) for task in tasks.data)
    n_fits = sum(int(n) for n in re.findall(r"batch_of__fit_and_score_(\d+)_calls", keys))
    assert n_fits == len(local.cv_results_["params"]) * CV

    # Seeded fits are bit-identical in another process: the same search,
    # and not by a tie broken in order, since the candidates score apart.
    assert remote.best_params_ == local.best_params_
    assert len(set(local.cv_results_["mean_test_score"])) == len(local.cv_results_["params"])
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])


# ----------------------------------------------------------------------
# Out-of-core training: one chunk per partial_fit


@pytest.fixture
def in_process():
    """Compute dask collections here, not on the cluster that ``client`` made the default."""
    with dask.config.set(scheduler="synchronous"):
        yield


def test_partial_fit_over_csv_chunks_is_partial_fit_over_the_blocks(
    make_estimator, digits, tmp_path
):
    X, _ = digits
    chunk = 200
    by_blocks = make_estimator(**QUICK)
    for start in range(0, len(X), chunk):
        by_blocks.partial_fit(X[start : start + chunk])
    path = tmp_path / "digits.csv"
    pd.DataFrame(X).add_prefix("pixel").to_csv(path, index=False)
    by_csv = make_estimator(**QUICK)
    for frame in pd.read_csv(path, chunksize=chunk):
        by_csv.partial_fit(frame)
    np.testing.assert_array_equal(by_csv.transform(pd.read_csv(path)), by_blocks.transform(X))


def test_incremental_is_partial_fit_over_the_blocks(make_estimator, digits, in_process):
    # Incremental over a dask array and a loop over its blocks train the very
    # same model.
    X, _ = digits
    chunk = 200
    dask_X = da.from_array(X, chunks=(chunk, -1))
    incremental = dask_ml_wrappers.Incremental(make_estimator(**QUICK), shuffle_blocks=False).fit(
        dask_X
    )

    by_blocks = make_estimator(**QUICK)
    for block in dask_X.blocks:
        by_blocks.partial_fit(block.compute())

    n_blocks = len(X) // chunk
    assert incremental.estimator_.n_iter_ == by_blocks.n_iter_ == n_blocks
    codes = incremental.estimator_.transform(X)
    np.testing.assert_array_equal(by_blocks.transform(X), codes)
    # Lazy codes, block by block. A row's code may differ in the last float32
    # bit with the batch it is computed in.
    lazy = incremental.transform(dask_X)
    np.testing.assert_allclose(lazy.compute(), codes, rtol=1e-6, atol=1e-6)
    # dask-ml defect: Incremental.transform declares the input's shape for its
    # result (map_blocks without chunks=). The docs map the blocks themselves;
    # when this assertion fails, dask-ml has fixed it and the docs can say so.
    assert lazy.shape == X.shape != codes.shape
    mapped = dask_X.map_blocks(
        by_blocks.transform, chunks=(dask_X.chunks[0], (by_blocks.latent_dim,)), dtype=X.dtype
    )
    assert mapped.shape == codes.shape
    np.testing.assert_allclose(mapped.compute(), codes, rtol=1e-6, atol=1e-6)


def test_chunked_training_is_about_as_good_as_an_in_memory_fit(
    make_estimator, global_random_seed, in_process
):
    X, _ = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X, test_size=400, random_state=global_random_seed)
    X_train = X_train[:1396]  # two chunks of 698 rows
    n_passes = 4
    params = dict(
        QUICK,
        latent_dim=8,
        hidden_layer_sizes=(32,),
        epochs=n_passes,
        early_stopping=False,
        n_iter_no_change=None,
        random_state=global_random_seed,
    )
    dask_X = da.from_array(X_train, chunks=(698, -1))
    incremental = dask_ml_wrappers.Incremental(
        make_estimator(**params), random_state=global_random_seed
    ).fit(dask_X)
    for _ in range(n_passes - 1):
        incremental.partial_fit(dask_X)  # one more pass, blocks in a new order
    in_memory = make_estimator(**params).fit(X_train)  # as many gradient steps

    chunked_mse = -incremental.estimator_.score(X_test)
    in_memory_mse = -in_memory.score(X_test)
    mean_mse = X_test.var(axis=0).mean()  # the error of predicting the column means
    assert incremental.estimator_.n_iter_ == 2 * n_passes
    assert chunked_mse < 0.5 * mean_mse
    assert chunked_mse < 1.25 * in_memory_mse


def test_outlier_detector_streamed_by_chunks_finds_the_outliers(
    make_estimator, make_off_curve, global_random_seed, in_process
):
    X_train, _ = make_off_curve(global_random_seed, 1470, 30, noise=0.02)
    X_test, y_test = make_off_curve(global_random_seed + 100, 490, 10, noise=0.02)
    n_passes = 3
    params = dict(
        QUICK,
        hidden_layer_sizes=(32, 16),
        latent_dim=1,
        epochs=n_passes,
        contamination=0.02,
        random_state=global_random_seed,
    )
    dask_X = da.from_array(X_train, chunks=(750, -1))
    streamed = make_estimator(AutoencoderOutlierDetector, **params)
    for _ in range(n_passes):
        for block in dask_X.blocks:
            streamed.partial_fit(block.compute())
    in_memory = make_estimator(AutoencoderOutlierDetector, **params).fit(X_train)

    # score_samples block by block (Incremental wraps predict, not score_samples).
    lazy_scores = da.from_array(X_test, chunks=(200, -1)).map_blocks(
        streamed.score_samples, drop_axis=1, dtype=np.float64
    )
    scores = lazy_scores.compute()
    np.testing.assert_allclose(scores, streamed.score_samples(X_test), rtol=1e-5)
    streamed_auc = roc_auc_score(y_test, -scores)
    in_memory_auc = roc_auc_score(y_test, -in_memory.score_samples(X_test))
    assert streamed_auc >= 0.95
    assert streamed_auc >= in_memory_auc - 0.03

    # The limit to know: the statistics behind score_samples and the threshold
    # come from the last chunk alone, whose rows it flags at `contamination`.
    last = dask_X.blocks[-1].compute()
    expected_offset = np.percentile(streamed.score_samples(last), 100 * params["contamination"])
    np.testing.assert_allclose(streamed.offset_, expected_offset, rtol=1e-10)
