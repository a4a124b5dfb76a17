"""`build_subnet`: a smaller model with the zero groups removed.

After `zoo.pruning.hesso.HESSOOptimizer` has zeroed whole groups, the
network's output does not depend on them. `build_subnet` rebuilds the
architecture with fewer filters or units and copies the surviving
slices of every weight, so the compact model computes the same function
with fewer parameters and less compute.
"""

import keras
import numpy as np

from zoo.pruning.hesso import _check_variable_groups
from zoo.pruning.hesso import zero_groups


def _producer_widths(kinds, keep):
    """`{id(producer kernel): surviving width}` of every kind."""
    return {id(kind[0][0]): len(k) for kind, k in zip(kinds, keep)}


def _smaller_digits_cnn(model, widths):
    backbone = model.backbone
    filters = [widths.get(id(conv.kernel), conv.filters)
               for conv in backbone.convs]
    config = backbone.get_config()
    config["filters"] = filters
    new_backbone = type(backbone).from_config(config)
    config = model.get_config()
    config["backbone"] = keras.saving.serialize_keras_object(new_backbone)
    return type(model).from_config(config)


def _smaller_mlp(model, widths):
    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Dense) and \
                id(layer.kernel) in widths:
            config["units"] = widths[id(layer.kernel)]
        return type(layer).from_config(config)

    return keras.models.clone_model(model, clone_function=clone)


def build_subnet(model, groups):
    """Rebuilds `model` without its zero groups and copies the weights.

    A group is removed when all its trainable slices are exactly zero
    (`zoo.pruning.hesso.zero_groups`); every weight is sliced along the
    axes the groups name, keeping the surviving indices. Supported
    models: `zoo.DigitsCNNClassifier` (rebuilt with fewer `filters`,
    groups from `digits_cnn_groups`) and `keras.Sequential`/functional
    MLPs of `Dense` layers (cloned with fewer `units`, groups from
    `dense_unit_groups`). In inference mode the compact model's outputs
    equal the masked model's up to float rounding.

    Args:
        model: the trained, masked model.
        groups: its group kinds (lists of `(variable, axis)` slices).

    Returns:
        A new, smaller model of the same class.

    Example:

    ```python
    small = build_subnet(model, digits_cnn_groups(model))
    small.count_params() < model.count_params()  # True
    ```
    """
    from zoo.baselines.digits_cnn import DigitsCNNClassifier

    kinds = _check_variable_groups(groups)
    keep = [np.flatnonzero(~zero) for zero in zero_groups(kinds)]
    for kind, k in zip(kinds, keep):
        if not len(k):
            raise ValueError("Every group kind must keep a group; all the "
                             f"groups of {kind[0][0].path} are zero.")
    widths = _producer_widths(kinds, keep)
    if isinstance(model, DigitsCNNClassifier):
        small = _smaller_digits_cnn(model, widths)
    elif isinstance(model, keras.Sequential) or getattr(
            model, "_is_graph_network", False):
        small = _smaller_mlp(model, widths)
    else:
        raise ValueError("`model` must be a zoo.DigitsCNNClassifier or a "
                         "Sequential/functional MLP. Received: "
                         f"model={type(model).__name__}")
    cuts = {}
    for kind, k in zip(kinds, keep):
        for variable, axis in kind:
            cuts.setdefault(id(variable), []).append((axis, k))
    if len(model.weights) != len(small.weights):
        raise ValueError("`build_subnet` could not match the weights of "
                         f"{type(model).__name__}.")
    for old, new in zip(model.weights, small.weights):
        value = keras.ops.convert_to_numpy(old)
        for axis, k in cuts.get(id(old), []):
            value = np.take(value, k, axis=axis)
        if value.shape != tuple(new.shape):
            raise ValueError(f"Sliced {old.path} has shape {value.shape}, "
                             f"the subnet expects {tuple(new.shape)}.")
        new.assign(value)
    return small
