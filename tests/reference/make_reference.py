"""Fit a fixed set of small seeded estimators and store their outputs and model files.

Run from the repository root, on the code whose outputs are the reference
(it was run on the flat layout, commit d0feb95, before the wings were made)::

    PYTHONPATH=$PWD python tests/reference/make_reference.py

It writes ``tests/reference/outputs.npz`` (the outputs of each fit) and one
model file per fit, ``tests/reference/<name>.skae``, and a pickle of the
detector (``detector.pkl``, which names the flat layout's class path
``skae._outlier.AutoencoderOutlierDetector``). ``tests/test_reference.py``
refits the same estimators and checks the outputs are bit-identical, and loads
the model files and checks they give the same outputs.
"""

import pickle
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

HERE = Path(__file__).parent

FAST = {"hidden_layer_sizes": (16,), "latent_dim": 2, "epochs": 3, "batch_size": 32}


def data():
    """120 digits rows in [0, 16] and 8x8 images in [0, 1]."""
    X = load_digits().data[:120]
    return X, X / 16


def fits():
    """``{name: (estimator, X, outputs)}`` where ``outputs`` names the methods to record."""
    import skae

    X, images = data()
    return {
        "transformer_dense": (
            skae.AutoencoderTransformer(**FAST, random_state=0),
            X,
            ("transform", "inverse_transform_of_transform", "reconstruction_error"),
        ),
        "transformer_pca": (
            skae.AutoencoderTransformer(**FAST, init="pca", random_state=1),
            X,
            ("transform", "reconstruction_error"),
        ),
        "transformer_conv": (
            skae.AutoencoderTransformer(
                latent_dim=2,
                epochs=2,
                batch_size=32,
                architecture="conv",
                image_shape=(8, 8),
                filters=(4,),
                scaling=None,
                random_state=2,
            ),
            images,
            ("transform", "reconstruction_error"),
        ),
        "denoiser": (
            skae.DenoisingAutoencoder(**FAST, random_state=3),
            X,
            ("transform", "predict"),
        ),
        "detector": (
            skae.AutoencoderOutlierDetector(**FAST, random_state=4),
            X,
            ("score_samples", "predict", "decision_function"),
        ),
        "vae": (
            skae.VariationalAutoencoder(**FAST, random_state=5),
            X,
            ("transform", "reconstruction_error"),
        ),
    }


def outputs(estimator, X, methods):
    """``{method: array}`` of a fitted estimator on ``X``."""
    found = {}
    for method in methods:
        if method == "inverse_transform_of_transform":
            found[method] = estimator.inverse_transform(estimator.transform(X))
        else:
            found[method] = np.asarray(getattr(estimator, method)(X))
    return found


def main():
    arrays = {}
    for name, (estimator, X, methods) in fits().items():
        estimator.fit(X)
        for method, value in outputs(estimator, X, methods).items():
            arrays[f"{name}.{method}"] = value
        estimator.save(HERE / f"{name}.skae")
        if name == "detector":
            (HERE / "detector.pkl").write_bytes(pickle.dumps(estimator))
    np.savez_compressed(HERE / "outputs.npz", **arrays)


if __name__ == "__main__":
    main()
