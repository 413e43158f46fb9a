"""skae's own Keras layers and losses, registered for saving.

Pure Keras: nothing here knows about scikit-learn. Each is registered under
``skae>Name`` with its config, so a saved network names it and
``skae.load`` resolves it among skae's objects (skae/_keras_policy.py):

- :class:`Sampling` and :func:`kl_divergence`: the variational code;
- :class:`Corruption`: a denoiser's training-only noise, with a switch;
- :class:`MaskedMeanSquaredError`, :class:`MaskedBinaryCrossentropy`: losses
  that skip missing (NaN) cells.
"""

import keras
from keras import layers

__all__ = [
    "Corruption",
    "MaskedBinaryCrossentropy",
    "MaskedMeanSquaredError",
    "Sampling",
    "kl_divergence",
]


def kl_divergence(moments):
    """KL divergence of N(mean, exp(log_var)) from N(0, I), per row.

    ``moments`` holds the means then the log-variances, as the encoder of a
    variational autoencoder outputs them.
    """
    mean, log_var = keras.ops.split(moments, 2, axis=-1)
    terms = 1 + log_var - keras.ops.square(mean) - keras.ops.exp(log_var)
    return -0.5 * keras.ops.sum(terms, axis=-1)


@keras.saving.register_keras_serializable(package="skae")
class Sampling(layers.Layer):
    """The reparameterization trick, with the KL term added to the loss.

    Takes the means and log-variances of the code (means first) and returns
    ``mean + exp(log_var / 2) * noise`` in training, the means otherwise. At
    every call it adds ``kl_weight`` times the batch mean of the KL
    divergence from the standard normal prior to the model's losses.

    Parameters
    ----------
    kl_weight : float, default=1.0
        Weight of the KL term in the loss.
    seed : int or None, default=None
        Seed of the layer's random generator.
    """

    def __init__(self, kl_weight=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, moments, training=False):
        self.add_loss(self.kl_weight * keras.ops.mean(kl_divergence(moments)))
        mean, log_var = keras.ops.split(moments, 2, axis=-1)
        if not training:
            return mean
        noise = keras.random.normal(
            keras.ops.shape(mean), seed=self.seed_generator, dtype=mean.dtype
        )
        return mean + keras.ops.exp(0.5 * log_var) * noise

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)

    def get_config(self):
        return {**super().get_config(), "kl_weight": self.kl_weight, "seed": self.seed}


@keras.saving.register_keras_serializable(package="skae")
class Corruption(layers.Layer):
    """Corrupt inputs during training only; the identity at inference.

    A fresh corruption is drawn at every training step from the layer's own
    seed generator, so an int ``seed`` makes the whole sequence reproducible.
    A non-trainable switch (:meth:`set_enabled`) turns it off for training on
    pairs that are corrupted already, without rebuilding (or retracing) the
    model it sits in.

    Parameters
    ----------
    noise : {"gaussian", "masking", "salt_and_pepper"}, default="gaussian"
        ``"gaussian"`` adds normal noise of standard deviation ``level``;
        ``"masking"`` sets a fraction ``level`` of the cells to 0;
        ``"salt_and_pepper"`` sets a fraction ``level`` of the cells, half
        each, to ``low`` and ``high``.
    level : float, default=0.5
        Standard deviation, or fraction of cells.
    clip : tuple of float or None, default=None
        ``(low, high)`` bounds applied after the noise.
    low, high : float, default=0.0, 1.0
        Values of pepper and salt.
    scale, offset : sequence of float or None, default=None
        When the inputs are ``data * scale + offset`` (a per-column affine
        scaling), corrupt ``data`` in its own units: the noise level, clip
        bounds and replacement values then all refer to the unscaled data.
    seed : int or None, default=None
        Seed of the layer's random generator.
    """

    def __init__(
        self,
        noise="gaussian",
        level=0.5,
        clip=None,
        low=0.0,
        high=1.0,
        scale=None,
        offset=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.noise = noise
        self.level = float(level)
        self.clip = None if clip is None else tuple(float(v) for v in clip)
        self.low, self.high = float(low), float(high)
        self.scale = None if scale is None else [float(v) for v in scale]
        self.offset = None if offset is None else [float(v) for v in offset]
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.enabled = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="enabled"
        )

    def set_enabled(self, enabled):
        """Corrupt in training (True) or pass inputs through unchanged (False)."""
        self.enabled.assign(1.0 if enabled else 0.0)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return keras.ops.where(self.enabled > 0.5, self.corrupt(inputs), inputs)

    def corrupt(self, inputs):
        """Return a corrupted copy of ``inputs``, whatever the training flag."""
        inputs = keras.ops.convert_to_tensor(inputs)  # NumPy rows too, on any backend
        if self.scale is None:
            return self._corrupt(inputs)
        scale = keras.ops.convert_to_tensor(self.scale, dtype=inputs.dtype)
        offset = keras.ops.convert_to_tensor(self.offset, dtype=inputs.dtype)
        return self._corrupt((inputs - offset) / scale) * scale + offset

    def _corrupt(self, inputs):
        shape = keras.ops.shape(inputs)
        if self.noise == "gaussian":
            noise = keras.random.normal(shape, seed=self.seed_generator, dtype=inputs.dtype)
            outputs = inputs + self.level * noise
        else:
            draw = keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype)
            if self.noise == "masking":
                outputs = keras.ops.where(draw < self.level, 0.0, inputs)
            else:
                salted = keras.ops.where(draw < self.level, self.high, inputs)
                outputs = keras.ops.where(draw < self.level / 2, self.low, salted)
        if self.clip is not None:
            outputs = keras.ops.clip(outputs, *self.clip)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "noise": self.noise,
            "level": self.level,
            "clip": self.clip,
            "low": self.low,
            "high": self.high,
            "scale": self.scale,
            "offset": self.offset,
            "seed": self.seed,
        }


def _masked_mean(values, mask):
    """Mean over the last axis of ``values`` where ``mask`` is 1 (0 for rows with none)."""
    total = keras.ops.sum(values * mask, axis=-1)
    return total / keras.ops.maximum(keras.ops.sum(mask, axis=-1), 1.0)


@keras.saving.register_keras_serializable(package="skae")
class MaskedMeanSquaredError(keras.losses.Loss):
    """Mean squared error over the observed cells: NaN in the target are missing.

    Equal to ``keras.losses.MeanSquaredError`` on targets without NaN; a
    missing cell adds nothing to a row's loss, whose mean runs over its
    observed cells (a row with none contributes 0).
    """

    def __init__(self, name="masked_mse", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        mask = keras.ops.cast(keras.ops.logical_not(keras.ops.isnan(y_true)), y_pred.dtype)
        y_true = keras.ops.where(mask > 0, y_true, y_pred)
        return _masked_mean(keras.ops.square(y_true - y_pred), mask)


@keras.saving.register_keras_serializable(package="skae")
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy over the observed cells: NaN in the target are missing.

    Takes probabilities (a sigmoid output), as
    ``keras.losses.BinaryCrossentropy()`` does.
    """

    def __init__(self, name="masked_bce", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        mask = keras.ops.cast(keras.ops.logical_not(keras.ops.isnan(y_true)), y_pred.dtype)
        y_true = keras.ops.where(mask > 0, y_true, 0.0)
        cells = keras.ops.binary_crossentropy(
            keras.ops.expand_dims(y_true, -1), keras.ops.expand_dims(y_pred, -1)
        )
        return _masked_mean(keras.ops.squeeze(cells, -1), mask)
