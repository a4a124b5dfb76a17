"""A small gated graph encoder over a target network's layer graph.

GHN-2/LoGAH embed every node of the target's computational graph with
a GatedGNN: messages flow along the edges (forward, then backward) and
a GRU cell updates each node state. Here the graph comes as dense,
padded tensors (node features, adjacency, node mask), so the whole
batch of graphs runs in a few `keras.ops` matmuls.
"""

import keras
from keras import ops

from layers._checks import check_bool
from layers._checks import check_positive_int
from layers._config import ConfigMixin

_DIRECTIONS = ("forward", "backward")


@keras.saving.register_keras_serializable(package="hyperzoo")
class GatedGraphEncoder(ConfigMixin, keras.layers.Layer):
    """GatedGNN node embeddings of padded directed graphs.

    Node states start as `h = W_in x + b_in`. Each of `num_steps` rounds
    runs a forward pass (node `j` receives `sum_i A[i, j] M_f(h_i)` from
    its predecessors) and, with `backward=True`, a backward pass (node
    `i` receives from its successors `j`); after each pass a GRU-style
    update `z = sigmoid(.)`, `r = sigmoid(.)`,
    `n = tanh(W m + r * (U h))`, `h = (1 - z) n + z h` refreshes every
    node. Padded nodes (mask 0) send nothing and stay at zero.

    Args:
        hidden_dim: int. Size of the node states (the output).
        num_steps: int. Rounds of forward(+backward) passes.
        backward: bool. Add the backward pass of GHN-2.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        node_features: float tensor `(batch, nodes, features)`.
        adjacency: tensor `(batch, nodes, nodes)`, `A[b, i, j] = 1` for
            an edge `i -> j` (any numeric dtype).
        node_mask: tensor `(batch, nodes)`, 1 for real nodes, 0 for
            padding.

    Returns:
        Tensor `(batch, nodes, hidden_dim)` (zeros at padded nodes).

    Example:

    ```python
    enc = layers.GatedGraphEncoder(hidden_dim=16)
    h = enc(np.ones((2, 4, 5), "float32"), np.eye(4, k=1)[None] * [[[1]],
            [[1]]], np.ones((2, 4), "float32"))  # (2, 4, 16)
    ```

    Reference:
    - [Li et al., 2016](https://arxiv.org/abs/1511.05493), "Gated Graph
      Sequence Neural Networks".
    - [Knyazev et al., 2021](https://arxiv.org/abs/2110.13100),
      "Parameter Prediction for Unseen Deep Architectures" (GHN-2).
    - [Zhou et al., 2024](https://arxiv.org/abs/2405.16287), "LoGAH".
    """

    def __init__(self, hidden_dim, num_steps=1, backward=True, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        num_steps = check_positive_int("num_steps", num_steps)
        check_bool("backward", backward)
        self._set_config(hidden_dim=hidden_dim, num_steps=num_steps,
                         backward=backward, seed=seed)

    def _init(self, offset):
        seed = None if self.seed is None else self.seed + offset
        return keras.initializers.GlorotUniform(seed)

    def build(self, node_features_shape, adjacency_shape=None,
              node_mask_shape=None):
        h = self.hidden_dim
        f = node_features_shape[-1]
        self.input_kernel = self.add_weight(
            (f, h), self._init(0), name="input_kernel")
        self.input_bias = self.add_weight((h,), "zeros", name="input_bias")
        self.passes = {}
        directions = _DIRECTIONS if self.backward else _DIRECTIONS[:1]
        for k, d in enumerate(directions):
            self.passes[d] = dict(
                message_kernel=self.add_weight(
                    (h, h), self._init(10 * k + 1),
                    name=f"{d}_message_kernel"),
                message_bias=self.add_weight(
                    (h,), "zeros", name=f"{d}_message_bias"),
                gru_kernel=self.add_weight(
                    (h, 3 * h), self._init(10 * k + 2),
                    name=f"{d}_gru_kernel"),
                gru_recurrent_kernel=self.add_weight(
                    (h, 3 * h), self._init(10 * k + 3),
                    name=f"{d}_gru_recurrent_kernel"),
                gru_bias=self.add_weight(
                    (3 * h,), "zeros", name=f"{d}_gru_bias"),
            )
        self.built = True

    def _update(self, h, adjacency, mask, weights, direction):
        dt = self.compute_dtype
        msg = ops.matmul(h, ops.cast(weights["message_kernel"], dt))
        msg = (msg + ops.cast(weights["message_bias"], dt)) * mask
        if direction == "forward":  # m_j = sum_i A[i, j] msg_i
            m = ops.matmul(ops.transpose(adjacency, (0, 2, 1)), msg)
        else:  # m_i = sum_j A[i, j] msg_j
            m = ops.matmul(adjacency, msg)
        gx = ops.matmul(m, ops.cast(weights["gru_kernel"], dt))
        gx = gx + ops.cast(weights["gru_bias"], dt)
        gh = ops.matmul(h, ops.cast(weights["gru_recurrent_kernel"], dt))
        xz, xr, xn = ops.split(gx, 3, axis=-1)
        hz, hr, hn = ops.split(gh, 3, axis=-1)
        z = ops.sigmoid(xz + hz)
        r = ops.sigmoid(xr + hr)
        n = ops.tanh(xn + r * hn)
        return ((1.0 - z) * n + z * h) * mask

    def call(self, node_features, adjacency, node_mask):
        dt = self.compute_dtype
        x = ops.cast(node_features, dt)
        adjacency = ops.cast(adjacency, dt)
        mask = ops.expand_dims(ops.cast(node_mask, dt), -1)
        h = ops.matmul(x, ops.cast(self.input_kernel, dt))
        h = (h + ops.cast(self.input_bias, dt)) * mask
        for _ in range(self.num_steps):
            for direction, weights in self.passes.items():
                h = self._update(h, adjacency, mask, weights, direction)
        return h

    def compute_output_shape(self, node_features_shape, adjacency_shape=None,
                             node_mask_shape=None):
        return tuple(node_features_shape[:-1]) + (self.hidden_dim,)
