"""
==============================================
Outlier detection on a real table
==============================================

Use :class:`skae.AutoencoderOutlierDetector` where you would use
:class:`~sklearn.ensemble.IsolationForest`: on the breast cancer table that
ships with scikit-learn, keep every benign tumour and only a few malignant
ones, fit without labels, and look at the scores, the ROC curves of both
detectors on held-out rows, and which measurements made the top outlier stand
out.
"""

# %%
# Data: benign tumours with a rare malignant class
# ------------------------------------------------
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import RocCurveDisplay  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skae import AutoencoderOutlierDetector  # noqa: E402

data = load_breast_cancer(as_frame=True)
X, malignant = data.data, data.target == 0
rng = np.random.RandomState(0)
keep = ~malignant | (rng.uniform(size=len(X)) < 0.1)  # about 10% of the malignant rows
X, is_outlier = X[keep], malignant[keep].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    X, is_outlier, test_size=0.4, stratify=is_outlier, random_state=0
)
print(f"{len(X_train)} training rows, {y_train.mean():.1%} of them outliers")

# %%
# Fit both detectors without labels
# ---------------------------------
contamination = float(y_train.mean())
detector = AutoencoderOutlierDetector(contamination=contamination, random_state=0)
detector.fit(X_train)
forest = IsolationForest(contamination=contamination, random_state=0).fit(X_train)

# %%
# Scores and the threshold
# ------------------------
# ``score_samples`` is higher for normal rows; ``offset_`` is the threshold
# that flags ``contamination`` of the training rows.
scores = detector.score_samples(X_test)
fig, ax = plt.subplots(figsize=(7, 3.5))
bins = np.linspace(scores.min(), scores.max(), 40)
ax.hist(scores[~y_test], bins=bins, alpha=0.7, label="benign")
ax.hist(scores[y_test], bins=bins, alpha=0.7, label="malignant (rare)")
ax.axvline(detector.offset_, color="k", linestyle="--", label="offset_")
ax.set_xlabel("score_samples (higher = more normal)")
ax.set_ylabel("test rows")
ax.legend()

# %%
# ROC curves on the held-out rows
# -------------------------------
fig, ax = plt.subplots(figsize=(4.5, 4.5))
for name, model in [("skae autoencoder", detector), ("IsolationForest", forest)]:
    RocCurveDisplay.from_predictions(y_test, -model.score_samples(X_test), name=name, ax=ax)
ax.set_title("Malignant as outliers")

# %%
# Which measurements made the top outlier stand out?
# --------------------------------------------------
# ``reconstruction_error(per_feature=True)`` keeps the DataFrame's columns:
# each cell is the error relative to that column's usual error.
top = X_test.index[np.argmin(scores)]
errors = detector.reconstruction_error(X_test.loc[[top]], per_feature=True).iloc[0]
errors = errors.sort_values(ascending=False).head(10)
fig, ax = plt.subplots(figsize=(7, 4))
errors[::-1].plot.barh(ax=ax)
ax.set_xlabel("relative squared reconstruction error")
ax.set_title(f"Row {top}: the ten columns it reconstructs worst")
fig.tight_layout()
plt.show()
