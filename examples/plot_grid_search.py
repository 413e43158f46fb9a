"""
=====================================================
Choosing latent_dim with a grid search, as for PCA
=====================================================

:class:`skae.AutoencoderTransformer` is a scikit-learn transformer, so its
``latent_dim`` is searched exactly like PCA's ``n_components``: put it in a
:class:`~sklearn.pipeline.Pipeline` between a scaler and a classifier and
hand the pipeline to :class:`~sklearn.model_selection.GridSearchCV`. Here
both are searched on the digits that ship with scikit-learn, and the mean
cross-validated accuracy of the classifier on each code size is plotted.
"""

# %%
# Two pipelines that differ only in the reduction step
# ----------------------------------------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

X, y = load_digits(return_X_y=True)
latent_dims = [2, 4, 8, 16]


def pipeline(reducer):
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("reduce", reducer),
            ("classify", LogisticRegression(max_iter=2000)),
        ]
    )


# %%
# Search the code size by 3-fold cross-validation
# -----------------------------------------------
# ``epochs=40`` keeps the 12 autoencoder fits of the search (and the refit of
# the best) under two minutes on a busy 2-core CPU; the parameter grid is
# written the same way for both.
searches = {
    "PCA": GridSearchCV(pipeline(PCA(random_state=0)), {"reduce__n_components": latent_dims}, cv=3),
    "AutoencoderTransformer": GridSearchCV(
        pipeline(AutoencoderTransformer(epochs=40, random_state=0)),
        {"reduce__latent_dim": latent_dims},
        cv=3,
    ),
}
for name, search in searches.items():
    search.fit(X, y)
    print(f"{name:<24} best {search.best_params_}, accuracy {search.best_score_:.3f}")

# %%
# Mean test accuracy against code size
# ------------------------------------
# The bars are one standard deviation over the three folds. The narrower the
# code, the more the classifier gains from the autoencoder's codes over PCA's;
# at 16 numbers per digit the two are within a fold's spread of each other.
# Both searches pick the widest code offered: accuracy still grows with the
# code here, and a wider grid would go on to where PCA keeps nearly
# everything. Scored by the classifier, the search measures what the codes
# are for: how much accuracy each narrower code costs.
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for (name, search), marker in zip(searches.items(), ["o", "s"], strict=True):
    results = search.cv_results_
    ax.errorbar(
        latent_dims,
        results["mean_test_score"],
        yerr=results["std_test_score"],
        marker=marker,
        capsize=3,
        label=name,
    )
ax.set_xscale("log", base=2)
ax.set_xticks(latent_dims, [str(size) for size in latent_dims])
ax.set_xlabel("latent size (n_components / latent_dim)")
ax.set_ylabel("mean test accuracy (3-fold CV)")
ax.set_ylim(top=1)
ax.legend(loc="lower right")
plt.show()

# %%
# The best pipeline, refitted on all the digits, is ready to use
# ---------------------------------------------------------------
best = searches["AutoencoderTransformer"].best_estimator_
print(best.named_steps["reduce"])
print("codes of the first digit:", np.round(best[:-1].transform(X[:1]), 2))
