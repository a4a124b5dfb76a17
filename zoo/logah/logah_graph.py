"""Layer graphs of the MLPs that the LoGAH graph hypernetwork predicts.

An architecture is a tuple of hidden widths, e.g. `(32, 64)`: the MLP
`input_dim -> 32 -> 64 -> num_classes` with ReLUs. Its graph has one
node for the input and one per dense layer (the node stands for the
layer's kernel; its bias comes from the same node), chained by edges
`i -> i + 1`, padded to `max_nodes`. Node features: one-hot op type
(input, hidden dense, output dense), fan-in and fan-out divided by
`max_ck`, position `i / (max_nodes - 1)` and depth (number of dense
layers) divided by `max_nodes - 1`.
"""

import keras
import numpy as np

OP_TYPES = ("input", "hidden_dense", "output_dense")
NUM_NODE_FEATURES = len(OP_TYPES) + 4
FAN_IN_COLUMN = len(OP_TYPES)
FAN_OUT_COLUMN = len(OP_TYPES) + 1

# MNIST-1D architectures: training set (depth 1-3, widths 16/32/64) and
# held-out architectures (unseen widths, and depth 4).
TRAIN_WIDTHS = (16, 32, 64)
TRAIN_MAX_DEPTH = 3
HELD_OUT_ARCHITECTURES = ((24,), (48, 40), (56, 24, 40), (32, 48, 32, 48))


def check_architecture(hidden_widths, max_ck, max_nodes, input_dim=None,
                       num_classes=None):
    """Checks an architecture against a GHN's limits; returns a tuple.

    Args:
        hidden_widths: sequence of positive ints (may be empty).
        max_ck: int. Largest width the decoder supports.
        max_nodes: int. Node budget (input + dense layers).
        input_dim: int or `None`. Checked against `max_ck` too.
        num_classes: int or `None`. Checked against `max_ck` too.

    Returns:
        The widths as a tuple of ints.

    Raises:
        ValueError: a width `<= 0` or `> max_ck`, or too many layers.

    Example:

    ```python
    check_architecture([32, 64], max_ck=64, max_nodes=6)  # (32, 64)
    ```
    """
    widths = tuple(int(w) for w in hidden_widths)
    if any(w <= 0 for w in widths):
        raise ValueError(f"Widths must be positive. Received: {widths}")
    sizes = widths + tuple(s for s in (input_dim, num_classes) if s)
    if sizes and max(sizes) > max_ck:
        raise ValueError(
            f"Architecture {widths} (input {input_dim}, {num_classes} "
            f"classes) has a size above max_ck={max_ck}; the low-rank "
            "decoder slices tensors from a max_ck block and cannot grow."
        )
    if len(widths) + 2 > max_nodes:
        raise ValueError(
            f"Architecture {widths} needs {len(widths) + 2} nodes; the "
            f"GHN has max_nodes={max_nodes} (at most {max_nodes - 2} "
            "hidden layers)."
        )
    return widths


def architecture_graph(hidden_widths, input_dim, num_classes, max_ck,
                       max_nodes):
    """Padded node features, adjacency and node mask of an MLP.

    Args:
        hidden_widths: sequence of int. Hidden widths.
        input_dim: int. Input size.
        num_classes: int. Output size.
        max_ck: int. Normaliser of fan-in/fan-out (the decoder's max).
        max_nodes: int. Padded node count.

    Returns:
        dict with `node_features` float32 `(max_nodes, 7)`, `adjacency`
        float32 `(max_nodes, max_nodes)` and `node_mask` float32
        `(max_nodes,)`.

    Example:

    ```python
    g = architecture_graph((32,), 40, 10, max_ck=64, max_nodes=6)
    g["node_mask"]  # [1, 1, 1, 0, 0, 0]
    ```
    """
    widths = check_architecture(hidden_widths, max_ck, max_nodes,
                                input_dim, num_classes)
    sizes = (input_dim,) + widths + (num_classes,)
    num_dense = len(sizes) - 1
    feats = np.zeros((max_nodes, NUM_NODE_FEATURES), "float32")
    adj = np.zeros((max_nodes, max_nodes), "float32")
    mask = np.zeros((max_nodes,), "float32")
    scale = float(max_nodes - 1)
    for i in range(num_dense + 1):
        op = 0 if i == 0 else (2 if i == num_dense else 1)
        feats[i, op] = 1.0
        if i > 0:
            feats[i, FAN_IN_COLUMN] = sizes[i - 1] / max_ck
            feats[i, FAN_OUT_COLUMN] = sizes[i] / max_ck
        feats[i, len(OP_TYPES) + 2] = i / scale
        feats[i, len(OP_TYPES) + 3] = num_dense / scale
        mask[i] = 1.0
        if i < num_dense:
            adj[i, i + 1] = 1.0
    return {"node_features": feats, "adjacency": adj, "node_mask": mask}


def batch_graph(hidden_widths, batch_size, input_dim, num_classes, max_ck,
                max_nodes):
    """`architecture_graph` repeated `batch_size` times (model inputs).

    Args:
        hidden_widths: sequence of int.
        batch_size: int.
        input_dim: int.
        num_classes: int.
        max_ck: int.
        max_nodes: int.

    Returns:
        dict of arrays with a leading batch axis.

    Example:

    ```python
    g = batch_graph((32,), 4, 40, 10, 64, 6)  # node_features (4, 6, 7)
    ```
    """
    g = architecture_graph(hidden_widths, input_dim, num_classes, max_ck,
                           max_nodes)
    return {k: np.repeat(v[None], batch_size, axis=0) for k, v in g.items()}


def sample_architecture(rng, widths=TRAIN_WIDTHS, max_depth=TRAIN_MAX_DEPTH):
    """A random training architecture: depth 1..max_depth, widths drawn.

    Args:
        rng: `numpy.random.Generator`.
        widths: tuple of int. Widths to draw from.
        max_depth: int. Largest number of hidden layers.

    Returns:
        A tuple of hidden widths.

    Example:

    ```python
    sample_architecture(np.random.default_rng(0))  # e.g. (64, 16)
    ```
    """
    depth = int(rng.integers(1, max_depth + 1))
    return tuple(int(w) for w in rng.choice(widths, depth))


def arch_name(hidden_widths):
    """A short name, e.g. `"mlp-32-64"`.

    Args:
        hidden_widths: sequence of int.

    Returns:
        str.

    Example:

    ```python
    arch_name((32, 64))  # "mlp-32-64"
    ```
    """
    return "mlp-" + "-".join(str(int(w)) for w in hidden_widths)


def build_mlp(hidden_widths, input_dim, num_classes,
              kernel_initializer="he_normal", seed=None):
    """An ordinary Keras MLP of an architecture (random initialisation).

    Args:
        hidden_widths: sequence of int.
        input_dim: int.
        num_classes: int.
        kernel_initializer: str. Keras initialiser name of the kernels
            (`"he_normal"`, `"glorot_uniform"`, ...); biases are zero.
        seed: int or `None`.

    Returns:
        A built `keras.Sequential` returning logits.

    Example:

    ```python
    model = build_mlp((32,), 40, 10, seed=0)
    ```
    """
    layers = []
    for i, w in enumerate(tuple(hidden_widths) + (num_classes,)):
        init_cls = type(keras.initializers.get(kernel_initializer))
        init = init_cls(seed=None if seed is None else seed + i)
        last = i == len(hidden_widths)
        layers.append(keras.layers.Dense(
            w, activation=None if last else "relu",
            kernel_initializer=init, name=f"dense_{i}"))
    model = keras.Sequential([keras.Input((input_dim,))] + layers,
                             name=arch_name(hidden_widths))
    return model
