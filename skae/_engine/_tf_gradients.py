"""TensorFlow: integrated gradients, used only by the outlier detector's explanations."""

import numpy as np
import tensorflow as tf

__all__ = ["integrated_gradients"]


def integrated_gradients(function, x, baseline, steps=16):
    """Each cell's share of ``function(x) - function(baseline)``, by integrated gradients.

    ``function`` maps a float32 tensor of rows to one value per row. The
    gradient is averaged along the straight path from ``baseline`` to each
    row (midpoint rule, ``steps`` points) and multiplied by ``x - baseline``:
    the shares of a row sum to its change of ``function`` (exactly for a
    quadratic of a linear map, up to the rule's error otherwise).
    """
    x = np.asarray(x, np.float32)
    baseline = np.broadcast_to(np.asarray(baseline, np.float32), x.shape)
    total = np.zeros(x.shape, np.float64)
    for alpha in (np.arange(steps) + 0.5) / steps:
        point = tf.constant(baseline + alpha * (x - baseline))
        with tf.GradientTape() as tape:
            tape.watch(point)
            values = function(point)
        total += tape.gradient(values, point).numpy()
    return (x - baseline) * total / steps
