"""The network in a skae model file: the ``model.keras`` member and the random layers' counters.

Writing (:func:`keras_bytes`, :func:`seed_states`) stores the fitted network
in Keras' native archive, after the checks that loading will make, so that a
network the format cannot describe (a custom loss, a custom layer) is refused
at save time with a ``TypeError``.

Reading (:func:`load_network`, :func:`restore_seeds`) treats the member as
untrusted: the inner archive checked like the outer one (skae/_io/_archive.py);
every object of its configuration resolved by name in Keras' public
namespaces or among skae's registered layers and losses
(skae/_io/_keras_policy.py: no module the file names is imported); integers and
declared weights bounded before Keras allocates anything; read by Keras with
``safe_mode=True``; then its structure (an ``autoencoder`` of an ``encoder``
and a ``decoder``, with the ``corruption`` or ``sampling`` layer exactly when
the estimator's class needs one), its widths against the JSON, and one
forward pass of a row of zeros. Every refusal raises
:class:`skae._io._json.Refused`.
"""

import io
import json
import math
import os
import tempfile
import warnings
import zipfile

import keras
import numpy as np

from .._nn import Corruption, Sampling, to_numpy
from .._quiet import tensorflow_unimported
from . import _keras_policy
from ._archive import MAX_JSON, MAX_NETWORK, MiB, read_archive
from ._bounds import DEFAULT_LIMITS, check_budget, check_weights_file
from ._codec import decode_value, encode_value
from ._json import Refused, read_json

__all__ = ["MODEL", "keras_bytes", "load_network", "restore_seeds", "seed_states"]

# The network's member in a model file.
MODEL = "model.keras"
_KERAS_MEMBERS = {"config.json": MAX_JSON, "metadata.json": MiB, "model.weights.h5": MAX_NETWORK}
# Integers in a network's configuration (units, shapes, filters) are at most
# this; seeds and object ids excepted.
_MAX_CONFIG_INT = 1 << 24
# The largest magnitude a weight may have (float32 reaches 3.4e38).
_MAX_WEIGHT = 1e20
_UNBOUNDED_CONFIG_KEYS = {"seed", "shared_object_id"}
_WEIGHTED_LAYERS = (
    "Dense",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
)
_DENSE = ("Dense",)
# The layers skae's builders use (skae/_nn): a network holding any other (an
# Embedding, say, whose weights nothing here counts) is not one skae wrote.
_LAYERS = frozenset(
    {
        "InputLayer",
        "Functional",
        "Dense",
        "Conv2D",
        "Conv2DTranspose",
        "Activation",
        "ActivityRegularization",
        "Add",
        "Cropping2D",
        "Dropout",
        "Flatten",
        "Reshape",
        "Corruption",
        "Sampling",
    }
)
# The compile configuration Keras writes, and what each entry may hold.
_COMPILE_KEYS = frozenset(
    {
        "optimizer",
        "loss",
        "loss_weights",
        "metrics",
        "weighted_metrics",
        "run_eagerly",
        "steps_per_execution",
        "jit_compile",
    }
)


# ----------------------------------------------------------------------
# writing


def keras_bytes(model):
    """The ``.keras`` archive of ``model``, checked as :func:`load_network` will check it."""
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, MODEL)
        with tensorflow_unimported():  # Keras' configs would import it on any backend
            model.save(model_path)
        _name_public_optimizers(model_path)
        with open(model_path, "rb") as file:
            model_bytes = file.read()
    if len(model_bytes) > MAX_NETWORK:
        raise ValueError(
            f"save() cannot store a network of {len(model_bytes)} bytes: skae model files "
            f"hold at most {MAX_NETWORK} bytes. Use keras' own saving, or pickle/joblib."
        )
    # The checks load() will make, on what load() will read.
    try:
        members, _ = _keras_members(model_bytes)
        config = read_json(members["config.json"], "the network's config.json")
        _keras_policy.check_config(config)
        _check_layers(config)
        _check_compile_config(config.get("compile_config"))
    except Refused as error:
        raise TypeError(
            f"save() cannot store this network without pickle: {error} Use a built-in "
            "loss and optimizer, or pickle/joblib for custom objects."
        ) from None
    return model_bytes


def _name_public_optimizers(model_path):
    """Name a backend's own optimizer class by its public name, in the saved config.json.

    On PyTorch, ``keras.optimizers.Adam`` is a subclass that Keras writes
    under its private module (``keras.src.backend.torch.optimizers.torch_adam``),
    which another backend cannot import and the loader's policy refuses.
    ``keras.optimizers`` names the same optimizer on every backend, so a file
    saved on any backend loads on any other.
    """
    with zipfile.ZipFile(model_path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    changed = False
    for index, (info, data) in enumerate(members):
        if info.filename == "config.json":
            config = json.loads(data)
            changed = _keras_policy.name_public_optimizers(config)
            members[index] = (info, json.dumps(config).encode())
    if not changed:
        return
    with zipfile.ZipFile(model_path, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)


def seed_states(model):
    """The JSON of the counters of ``model``'s random layers (Keras' archive omits them)."""
    return [encode_value(to_numpy(v), "seed state") for v in _seed_variables(model)]


def _keras_members(model_bytes, read=("config.json",)):
    """The checked inner archive's members named in ``read``, and every member's size."""
    return read_archive(
        io.BytesIO(model_bytes),
        len(model_bytes),
        _KERAS_MEMBERS,
        required=set(_KERAS_MEMBERS),
        what=f"its {MODEL}",
        read=read,
    )


# ----------------------------------------------------------------------
# reading


def load_network(model_bytes, estimator, n_features, file_size=None, limits=DEFAULT_LIMITS):
    """The network in ``model_bytes``, checked against ``estimator`` (its fitted attributes set).

    ``file_size`` (the model file's bytes; those of ``model_bytes`` by
    default) and ``limits`` bound the bytes its weights may declare.
    """
    read = ("config.json", "metadata.json", "model.weights.h5")
    members, sizes = _keras_members(model_bytes, read=read)
    config = read_json(members["config.json"], f"{MODEL}/config.json")
    metadata = read_json(members["metadata.json"], f"{MODEL}/metadata.json")
    if not isinstance(metadata, dict):
        raise Refused(f"its {MODEL}/metadata.json is not an object.")
    _keras_policy.check_config(config)
    _check_layers(config)
    _check_compile_config(config.get("compile_config"))
    declared = _check_network_config(config, sizes["model.weights.h5"])
    stored = check_weights_file(members.pop("model.weights.h5"), f"its {MODEL}/model.weights.h5")
    file_size = len(model_bytes) if file_size is None else file_size
    # What the load allocates: the variables the layers declare (float32) and
    # the datasets Keras reads (the weights and the optimizer's state).
    check_budget(4 * declared + stored, file_size, limits)
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, MODEL)
        with open(model_path, "wb") as file:
            file.write(model_bytes)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = keras.saving.load_model(model_path, compile=True, safe_mode=True)
    skipped = [str(w.message) for w in caught if "Skipping variable loading" in str(w.message)]
    if skipped:
        raise Refused(f"its weights do not fit its network: {skipped[0]}")
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    _check_network(model, estimator, n_features)
    return model


def _check_layers(config):
    """Refuse a network holding a layer that skae's builders never use (in any model's list)."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            inner = item.get("config")
            layers = inner.get("layers", []) if isinstance(inner, dict) else []
            for layer in layers if isinstance(layers, list) else [layers]:
                name = layer.get("class_name") if isinstance(layer, dict) else None
                if name not in _LAYERS:
                    raise Refused(
                        f"its network holds a {str(name)[:100]} layer, which skae never builds."
                    )
            stack.extend(item.values())


def _check_compile_config(compile_config):
    """Refuse a compile configuration that is not an optimizer, a loss and metrics.

    Keras resolves these lazily (a loss named after a layer fails only at the
    first ``partial_fit``): here each is resolved now, by the allow-list.
    """
    if not isinstance(compile_config, dict):
        raise Refused("its network was not saved compiled (no compile configuration).")
    unknown = sorted(set(compile_config) - _COMPILE_KEYS)
    if unknown:
        raise Refused(f"its compile configuration holds {unknown[:10]}.")
    optimizer = compile_config.get("optimizer")
    if not (
        isinstance(optimizer, dict)
        and _is_subclass(_keras_policy.resolve(optimizer), keras.optimizers.Optimizer)
    ):
        raise Refused("its compile configuration's optimizer is not a Keras optimizer.")
    _check_loss_or_metric(compile_config.get("loss"), "loss", keras.losses)
    for key in ("metrics", "weighted_metrics"):
        metrics = compile_config.get(key)
        if metrics is None:
            continue
        if not isinstance(metrics, list):
            raise Refused(f"its compile configuration's {key} is not a list.")
        for metric in metrics:
            _check_loss_or_metric(metric, key, keras.metrics)
    weights = compile_config.get("loss_weights")
    numbers = weights if isinstance(weights, list) else [weights]
    if weights is not None and not all(
        type(w) in (int, float) and math.isfinite(w) for w in numbers
    ):
        raise Refused("its compile configuration's loss_weights are not numbers.")
    for key, kinds in (("run_eagerly", (bool,)), ("jit_compile", (bool, str))):
        if key in compile_config and not isinstance(compile_config[key], kinds):
            raise Refused(f"its compile configuration's {key} is not a {kinds[0].__name__}.")
    steps = compile_config.get("steps_per_execution", 1)
    if type(steps) is not int or not 1 <= steps <= _MAX_CONFIG_INT:
        raise Refused("its compile configuration's steps_per_execution is not a count.")


def _is_subclass(found, base):
    return isinstance(found, type) and issubclass(found, base)


def _check_loss_or_metric(value, key, module):
    """A loss (``module`` keras.losses) or metric (keras.metrics) by name or configuration."""
    bases = (keras.losses.Loss,) if module is keras.losses else (keras.metrics.Metric,)
    if isinstance(value, str) and value.isidentifier():
        try:
            found = module.get(value)
        except (ValueError, TypeError, KeyError) as error:
            raise Refused(f"its compile configuration's {key} {value!r} is unknown.") from error
        found = type(found) if isinstance(found, bases) else found
    elif isinstance(value, dict) and "class_name" in value:
        found = _keras_policy.resolve(value, f"its compile configuration's {key}")
    else:
        found = None
    functions = ("keras.src.losses", "keras.src.metrics")
    if not (
        _is_subclass(found, bases)
        or (
            callable(found)
            and not isinstance(found, type)
            and str(getattr(found, "__module__", "")).startswith(functions)
        )
    ):
        raise Refused(
            f"its compile configuration's {key} {str(value)[:100]} is not a Keras "
            f"{'loss' if module is keras.losses else 'metric'}."
        )


def _check_network_config(config, weights_size):
    """Bound what Keras will allocate: integers in the configuration, and the weights declared.

    Returns the number of weights the layers declare.
    """
    if not (isinstance(config, dict) and isinstance(config.get("config"), dict)):
        raise Refused("its network's configuration is not a model.")
    if config.get("class_name") != "Functional" or config["config"].get("name") != "autoencoder":
        raise Refused("its network is not a functional model named 'autoencoder'.")
    declared, stack = 0, [(None, config)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            if key not in _UNBOUNDED_CONFIG_KEYS and abs(item) > _MAX_CONFIG_INT:
                raise Refused(
                    f"its network's configuration holds {key} = {item}, beyond {_MAX_CONFIG_INT}."
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Refused(f"its network's configuration holds {key} = {item}.")
        elif isinstance(item, list):
            stack.extend((key, value) for value in item)
        elif isinstance(item, dict):
            declared += _declared_weights(item)
            stack.extend(item.items())
    # float32 weights: 4 bytes each, all stored in model.weights.h5.
    if 4 * declared > weights_size + MiB:
        raise Refused(
            f"its network declares {declared} weights but stores {weights_size} bytes of them."
        )
    return declared


def _declared_weights(item):
    """Weights a dense or convolution layer's configuration makes Keras allocate (0 for others)."""
    name, layer = item.get("class_name"), item.get("config")
    if name not in _WEIGHTED_LAYERS:
        return 0
    build = item.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    if not (
        isinstance(layer, dict) and isinstance(shape, list) and shape and type(shape[-1]) is int
    ):
        raise Refused(f"its network's {name} layer does not say its input shape.")
    units = layer.get("units") if name in _DENSE else layer.get("filters")
    kernel = layer.get("kernel_size", [1]) if name not in _DENSE else [1]
    kernel = kernel if isinstance(kernel, list) else [kernel]
    if type(units) is not int or not all(type(k) is int and k >= 0 for k in kernel):
        raise Refused(f"its network's {name} layer has no valid size.")
    channels_last = layer.get("data_format", "channels_last") != "channels_first"
    channels = shape[-1] if channels_last else shape[1]
    if type(channels) is not int:
        raise Refused(f"its network's {name} layer does not say its input shape.")
    return abs(channels) * abs(units) * math.prod(kernel) + abs(units)


def _check_network(model, estimator, n_features):
    """Check ``model`` against what ``estimator``'s class declares of its network.

    ``type(estimator)._network_layers`` maps each layer's name to its class
    (the encoder and decoder, and e.g. a denoiser's corruption);
    ``estimator._network_widths()`` gives the widths of the code, the
    decoder's input and the output.
    """
    cls = type(estimator)
    if not isinstance(model, keras.Model) or model.name != "autoencoder":
        raise Refused("its network is not a model named 'autoencoder'.")
    needs = dict(cls._network_layers)
    layers = {
        layer.name: layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    }
    if set(layers) != set(needs):
        raise Refused(
            f"its network has the layers {sorted(layers)}, but a {cls.__name__} has "
            f"{sorted(needs)}: the file does not hold a {cls.__name__}."
        )
    for name, kind in needs.items():
        if not isinstance(layers[name], kind):
            raise Refused(f"its network's {name} is not a {kind.__name__}.")
    encoder, decoder = layers["encoder"], layers["decoder"]
    for inner in (encoder, decoder):
        if any(isinstance(layer, (keras.Model, Corruption, Sampling)) for layer in inner.layers):
            raise Refused(f"its network's {inner.name} holds models or skae layers of its own.")
    widths = estimator._network_widths()
    width, output_width = widths["code"], widths["output"]
    shapes = {
        "the network's input": (_single_shape(model.inputs), n_features),
        "the network's output": (_single_shape(model.outputs), output_width),
        "the encoder's input": (_single_shape(encoder.inputs), n_features),
        "the encoder's output": (_single_shape(encoder.outputs), width),
        "the decoder's input": (_single_shape(decoder.inputs), widths["decoder_input"]),
        "the decoder's output": (_single_shape(decoder.outputs), output_width),
    }
    for label, (shape, expected) in shapes.items():
        if shape != (None, expected):
            raise Refused(f"{label} has the shape {shape}, expected (None, {expected}).")
    compiled = getattr(model, "compiled", False)
    if not (compiled and isinstance(getattr(model, "optimizer", None), keras.optimizers.Optimizer)):
        raise Refused("its network was not saved compiled (no optimizer).")
    for variable in model.weights:  # trained weights are of order 1: 1e20 is no weight
        if "float" in str(variable.dtype):
            values = to_numpy(variable)
            if not np.all(np.abs(values) <= _MAX_WEIGHT):  # NaN fails too
                raise Refused(f"its weight {variable.path} holds NaN, infinity or beyond 1e20.")
    zeros = np.zeros((1, n_features), dtype=np.float32)
    for label, network, expected in (("network", model, output_width), ("encoder", encoder, width)):
        output = network(zeros, training=False)
        if isinstance(output, (list, tuple)) or not hasattr(output, "shape"):
            raise Refused(f"its {label} does not give one output.")
        output = to_numpy(output)
        if output.shape != (1, expected) or not np.isfinite(output).all():
            raise Refused(f"its {label} does not give {expected} finite values for a row of zeros.")


def _single_shape(tensors):
    if len(tensors) != 1:
        return None
    return tuple(tensors[0].shape)


def restore_seeds(model, encoded):
    """Set the counters of ``model``'s random layers to those in ``encoded``."""
    variables = _seed_variables(model)
    if len(encoded) != len(variables):
        raise Refused(
            f"it holds {len(encoded)} random-layer states for {len(variables)} random layers."
        )
    values = []
    for variable, value in zip(variables, encoded, strict=True):
        decoded = decode_value(value, "seed state")
        expected, shape = np.dtype(variable.dtype), tuple(variable.shape)
        # Backends keep the state in different integer types (JAX: uint32,
        # TensorFlow: int64): a file saved on one loads on another.
        if not (
            isinstance(decoded, np.ndarray)
            and decoded.dtype.kind in "iu"
            and decoded.shape == shape
            and np.array_equal(decoded.astype(expected).astype(decoded.dtype), decoded)
        ):
            raise Refused(
                f"a random-layer state is not integers of shape {shape} fit for {expected}."
            )
        values.append(decoded.astype(expected))
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def _seed_variables(model):
    return [v for v in model.non_trainable_variables if "seed_generator_state" in v.path]
