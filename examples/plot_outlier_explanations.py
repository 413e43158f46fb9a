"""
==========================================================
Outliers without a guessed threshold: p-values and reasons
==========================================================

Most outlier detectors ask for the share of outliers (``contamination``)
before they can label a row. :class:`skae.AutoencoderOutlierDetector` can do
without: ``contamination="auto"`` draws the far fence ``Q3 + 3 IQR`` on the
training rows' out-of-fold anomalies, and its conformal
:meth:`~skae.AutoencoderOutlierDetector.p_values` with
:func:`skae.benjamini_hochberg` flag rows with the share of false alarms
among the flagged ones under control. :meth:`~skae.AutoencoderOutlierDetector.explain`
then says which columns made each flagged row stand out.

The table is scikit-learn's breast cancer data, benign tumours only, in
which 30 rows get a gross error in one column each (ten standard deviations
added, as a slipped decimal point or a wrong unit would): they play the
outliers, and the column that was changed is the answer ``explain`` should
give.
"""

# %%
# A table with a few outliers
# ---------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from skae import AutoencoderOutlierDetector, benjamini_hochberg
from skae.plotting import plot_explanation

data = load_breast_cancer(as_frame=True)
X = data.data[data.target == 1].reset_index(drop=True)  # benign tumours
rng = np.random.RandomState(0)
faulty = rng.choice(len(X), 30, replace=False)
changed = pd.Series(X.columns[rng.randint(X.shape[1], size=30)], index=faulty)
X = X.copy()
for row, column in changed.items():
    X.loc[row, column] += 10 * X[column].std()
outlier = X.index.isin(faulty)
X_train, X_rest, out_train, out_rest = train_test_split(
    X, outlier, test_size=0.5, stratify=outlier, random_state=0
)
X_cal, X_test, out_cal, out_test = train_test_split(
    X_rest, out_rest, test_size=0.3, stratify=out_rest, random_state=0
)
# Calibration rows are best ones you trust (checked by hand, say): outliers
# among them make the p-values conservative. The training rows need no care.
X_cal = X_cal[~out_cal]
print(
    f"{len(X_train)} training rows ({out_train.mean():.1%} outliers), "
    f"{len(X_cal)} calibration rows, {len(X_test)} new rows to test"
)

# %%
# A threshold from the data, or a guess
# -------------------------------------
# Both detectors are fitted on the training rows, then calibrated on rows the
# network has not seen, like the new rows: their scores set the threshold.
# One draws the far fence there, ``contamination="auto"``; the other flags a
# guessed 10% of them.
auto = AutoencoderOutlierDetector(contamination="auto", random_state=0)
auto.fit(X_train).calibrate(X_cal)
guess = AutoencoderOutlierDetector(contamination=0.1, random_state=0)
guess.fit(X_train).calibrate(X_cal)


def report(name, flagged):
    hits = (flagged & out_test).sum()
    precision = hits / max(flagged.sum(), 1)
    print(
        f"{name:<28} flags {flagged.mean():6.1%}  precision {precision:.2f}  "
        f"recall {hits / out_test.sum():.2f}"
    )


print(f"{'true share of outliers':<28}       {out_test.mean():6.1%}")
report('contamination="auto"', auto.predict(X_test) == -1)
report("contamination=0.1", guess.predict(X_test) == -1)

# %%
# p-values, and flags with the false discovery rate controlled
# ------------------------------------------------------------
# A p-value says how unusual a row is among the calibration rows; for
# inliers, ``P(p <= a) <= a``. Benjamini-Hochberg at level ``a`` flags rows of
# a batch so that, on average, at most that share of the flagged ones are
# inliers. With ``n`` calibration rows no p-value is below ``1 / (n + 1)``,
# and flagging one row of a batch of ``m`` needs a p-value below ``a / m``:
# small tables call for small batches. The new rows arrive here in batches
# of 10, as a day's rows would in monitoring.
p_values = auto.p_values(X_test)
for alpha in (0.05, 0.1):
    flagged = np.concatenate(
        [benjamini_hochberg(batch, alpha) for batch in np.array_split(p_values, len(X_test) // 10)]
    )
    report(f"Benjamini-Hochberg at {alpha:.0%}", flagged)

fig, ax = plt.subplots(layout="constrained")
ax.hist(
    [p_values[~out_test], p_values[out_test]],
    bins=20,
    stacked=True,
    label=["unchanged rows", "rows with a gross error"],
)
ax.set_xlabel("conformal p-value")
ax.set_ylabel("test rows")
ax.legend()

# %%
# Why are the top outliers outliers?
# ----------------------------------
# ``explain`` splits each row's anomaly over its columns; the three rows
# with the smallest p-values, their five largest contributions each (the
# table's row numbers are the data's index).
top = X_test.iloc[np.argsort(p_values)[:3]]
explanation = auto.explain(top, top_k=5)
print(explanation.round(3).to_string(index=False))
first = auto.explain(X_test[out_test], top_k=1).set_index("row")["column"]
print(
    f"the changed column ranks first for {np.mean(first == changed[first.index]):.0%} "
    "of the faulty test rows"
)

plot_explanation(explanation[explanation["row"] == top.index[0]])

# %%
# The twelve rows with the smallest p-values at a glance: a column per row,
# its four largest contributions coloured by their share of the row's total
# (the number in a cell is the contribution itself).
plot_explanation(auto.explain(X_test.iloc[np.argsort(p_values)[:12]], top_k=4))
plt.show()
