"""LoGAH backbone: a graph hypernetwork from a layer graph to weights."""

import keras
from keras import ops
from keras_hub.models import Backbone

from layers._checks import check_bool
from layers._checks import check_positive_int
from layers._config import ConfigMixin
from layers.functional import FunctionalDense
from layers.graph_encoder import GatedGraphEncoder
from layers.weight_decoder import LowRankWeightDecoder
from zoo.logah.logah_graph import FAN_IN_COLUMN
from zoo.logah.logah_graph import FAN_OUT_COLUMN
from zoo.logah.logah_graph import NUM_NODE_FEATURES
from zoo.logah.logah_graph import OP_TYPES
from zoo.task import check_num_classes

_HIDDEN = OP_TYPES.index("hidden_dense")


@keras.saving.register_keras_serializable(package="hyperzoo")
class LogahParamsMask(ConfigMixin, keras.layers.Layer):
    """Masks decoded blocks to each node's fan-in/fan-out and scales them.

    A kernel block `(max_ck, max_ck)` keeps its top-left `fan_in x
    fan_out` corner (the slice of LoGAH), rescaled to the RMS of He
    initialisation, `sqrt(2 / fan_in)` (hidden layers; `sqrt(1 /
    fan_in)` for the output layer): GHN-2's parameter normalisation,
    which keeps the predicted networks' activations in range for any
    width and depth. The RMS is taken over the kept corner with 1e-8
    under the square root, so a kernel of RMS below about 1e-4 stays
    smaller. A bias keeps its first `fan_out` entries. Padded nodes and
    the input node (fan-in 0) get zeros.

    Args:
        max_ck: int. Block side.
        **kwargs: base layer keyword arguments.

    Call arguments:
        kernels: `(batch, nodes, max_ck, max_ck)`.
        biases: `(batch, nodes, max_ck)`.
        node_features: `(batch, nodes, 7)` (see `zoo.logah.logah_graph`).
        node_mask: `(batch, nodes)`.

    Returns:
        dict `{"kernels": ..., "biases": ...}` of the same shapes.

    Example:

    ```python
    out = LogahParamsMask(64)(kernels, biases, node_features, node_mask)
    ```
    Reference:
    - [Zhou et al., 2024](https://arxiv.org/abs/2405.16287), "LoGAH:
      Predicting 774-Million-Parameter Transformers using Graph
      HyperNetworks with 1/100 Parameters".
    - [Knyazev et al., 2021](https://arxiv.org/abs/2110.13100),
      "Parameter Prediction for Unseen Deep Architectures" (parameter
      normalisation).
    """

    def __init__(self, max_ck, **kwargs):
        super().__init__(**kwargs)
        self._set_config(max_ck=check_positive_int("max_ck", max_ck))

    def call(self, kernels, biases, node_features, node_mask):
        dt = self.compute_dtype
        ck = self.max_ck
        feats = ops.cast(node_features, "float32")
        fan_in = ops.round(feats[..., FAN_IN_COLUMN] * ck)
        fan_out = ops.round(feats[..., FAN_OUT_COLUMN] * ck)
        idx = ops.arange(ck, dtype="float32")
        node = ops.cast(node_mask, "float32")
        in_mask = ops.cast(idx < fan_in[..., None], "float32")
        out_mask = ops.cast(idx < fan_out[..., None], "float32")
        out_mask = out_mask * node[..., None]
        k_mask = in_mask[..., :, None] * out_mask[..., None, :]
        # Parameter normalisation: every kernel gets the RMS of He
        # (hidden layers, gain 2) or LeCun (output layer, gain 1) init.
        k = ops.cast(kernels, "float32") * k_mask
        count = ops.maximum(ops.sum(k_mask, axis=(-2, -1)), 1.0)
        rms = ops.sqrt(ops.sum(ops.square(k), axis=(-2, -1)) / count
                       + 1e-8)
        gain = 1.0 + feats[..., OP_TYPES.index("hidden_dense")]
        scale = ops.sqrt(gain / ops.maximum(fan_in, 1.0)) / rms
        kernels = ops.cast(k * scale[..., None, None], dt)
        biases = ops.cast(biases, dt) * ops.cast(out_mask, dt)
        return {"kernels": kernels, "biases": biases}

    def compute_output_spec(self, kernels, biases, node_features,
                            node_mask):
        """Symbolic outputs: masked kernels and biases, same shapes."""
        return {
            "kernels": keras.KerasTensor(kernels.shape, self.compute_dtype),
            "biases": keras.KerasTensor(biases.shape, self.compute_dtype),
        }


@keras.saving.register_keras_serializable(package="hyperzoo")
class PaddedPredictedMLP(ConfigMixin, keras.layers.Layer):
    """Runs a padded MLP with per-sample predicted kernels and biases.

    The input is zero-padded to `max_ck`; node `i >= 1` applies
    `layers.FunctionalDense` with its kernel `(batch, max_ck, max_ck)`
    (ReLU on hidden-dense nodes); padded nodes leave the state
    unchanged. Masked kernels keep the padded units at zero, so the
    result equals the unpadded MLP. Returns the first `num_classes`
    units, in the compute dtype.

    Args:
        max_ck: int. Block side.
        num_classes: int. Output units kept.
        **kwargs: base layer keyword arguments.

    Call arguments:
        features: `(batch, input_dim)`, `input_dim <= max_ck`.
        kernels: `(batch, nodes, max_ck, max_ck)`.
        biases: `(batch, nodes, max_ck)`.
        node_features: `(batch, nodes, 7)`.
        node_mask: `(batch, nodes)`.

    Returns:
        Logits `(batch, num_classes)`.

    Example:

    ```python
    logits = PaddedPredictedMLP(64, 10)(x, kernels, biases, feats, mask)
    ```
    Reference:
    - [Zhou et al., 2024](https://arxiv.org/abs/2405.16287), "LoGAH:
      Predicting 774-Million-Parameter Transformers using Graph
      HyperNetworks with 1/100 Parameters".
    """

    def __init__(self, max_ck, num_classes, **kwargs):
        super().__init__(**kwargs)
        self._set_config(max_ck=check_positive_int("max_ck", max_ck),
                         num_classes=check_num_classes(num_classes))
        self.dense = FunctionalDense(dtype=self.dtype_policy, name="dense")

    def build(self, *shapes):
        self.built = True

    def call(self, features, kernels, biases, node_features, node_mask):
        dt = self.compute_dtype
        x = ops.cast(features, dt)
        pad = self.max_ck - x.shape[-1]
        h = ops.pad(x, ((0, 0), (0, pad))) if pad else x
        for i in range(1, kernels.shape[1]):
            z = self.dense(h, kernels[:, i], biases[:, i])
            hidden = ops.cast(node_features[:, i, _HIDDEN:_HIDDEN + 1], dt)
            z = hidden * ops.relu(z) + (1.0 - hidden) * z
            active = ops.cast(node_mask[:, i:i + 1], dt)
            h = active * z + (1.0 - active) * h
        return h[:, :self.num_classes]

    def compute_output_shape(self, features_shape, *shapes):
        return (features_shape[0], self.num_classes)


@keras.saving.register_keras_serializable(package="hyperzoo")
class LogahHyperNetwork(ConfigMixin, keras.layers.Layer):
    """Graph encoder + kernel and bias decoders + `LogahParamsMask`.

    Args:
        max_ck: int. Block side (largest fan-in/fan-out).
        hidden_dim: int. Node embedding size.
        num_steps: int. GatedGNN rounds.
        rank: int. Decoder rank `r`.
        decoder_units: tuple of int. Hidden sizes of the decoder MLP.
        full_rank: bool. Full-block decoder instead of the low-rank one.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        node_features: `(batch, nodes, 7)`.
        adjacency: `(batch, nodes, nodes)`.
        node_mask: `(batch, nodes)`.

    Returns:
        dict `{"kernels": (batch, nodes, max_ck, max_ck), "biases":
        (batch, nodes, max_ck)}`.

    Example:

    ```python
    ghn = LogahHyperNetwork(64)
    params = ghn(node_features, adjacency, node_mask)
    ```
    Reference:
    - [Zhou et al., 2024](https://arxiv.org/abs/2405.16287), "LoGAH:
      Predicting 774-Million-Parameter Transformers using Graph
      HyperNetworks with 1/100 Parameters".
    """

    def __init__(self, max_ck, hidden_dim=32, num_steps=1, rank=8,
                 decoder_units=(64,), full_rank=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._set_config(max_ck=max_ck, hidden_dim=hidden_dim,
                         num_steps=num_steps, rank=rank,
                         decoder_units=tuple(decoder_units),
                         full_rank=full_rank, seed=seed)
        dtype = self.dtype_policy

        def sub_seed(k):
            return None if seed is None else seed + 1000 * k

        self.encoder = GatedGraphEncoder(
            hidden_dim, num_steps=num_steps, seed=sub_seed(1), dtype=dtype,
            name="graph_encoder")
        self.kernel_decoder = LowRankWeightDecoder(
            max_ck, rank=rank, hidden_units=decoder_units,
            full_rank=full_rank, seed=sub_seed(2), dtype=dtype,
            name="kernel_decoder")
        self.bias_hidden = keras.layers.Dense(
            hidden_dim, activation="relu", dtype=dtype, name="bias_hidden",
            kernel_initializer=keras.initializers.GlorotUniform(
                sub_seed(3)))
        self.bias_decoder = keras.layers.Dense(
            max_ck, dtype=dtype, name="bias_decoder",
            kernel_initializer=keras.initializers.GlorotUniform(
                sub_seed(4)))
        self.params_mask = LogahParamsMask(max_ck, dtype=dtype,
                                           name="params_mask")

    def build(self, node_features_shape, adjacency_shape=None,
              node_mask_shape=None):
        embedded = tuple(node_features_shape[:-1]) + (self.hidden_dim,)
        self.encoder.build(node_features_shape, adjacency_shape,
                           node_mask_shape)
        self.kernel_decoder.build(embedded)
        self.bias_hidden.build(embedded)
        self.bias_decoder.build(embedded)
        self.built = True

    def call(self, node_features, adjacency, node_mask):
        h = self.encoder(node_features, adjacency, node_mask)
        kernels = self.kernel_decoder(h)
        biases = self.bias_decoder(self.bias_hidden(h))
        return self.params_mask(kernels, biases, node_features, node_mask)

    def compute_output_spec(self, node_features, adjacency, node_mask):
        """Symbolic outputs: `(b, n, ck, ck)` kernels, `(b, n, ck)` biases."""
        b, n = node_features.shape[:2]
        ck = self.max_ck
        return {
            "kernels": keras.KerasTensor((b, n, ck, ck), self.compute_dtype),
            "biases": keras.KerasTensor((b, n, ck), self.compute_dtype),
        }


@keras.saving.register_keras_serializable(package="hyperzoo")
class LogahBackbone(ConfigMixin, Backbone):
    """LoGAH graph hypernetwork and the MLP whose weights it predicts.

    A `layers.GatedGraphEncoder` embeds the nodes of a target MLP's layer
    graph (`zoo.logah.logah_graph.architecture_graph`); a
    `layers.LowRankWeightDecoder` decodes each node's embedding into a
    `max_ck x max_ck` kernel block of rank `<= rank` (or the full block
    with `full_rank=True`, the GHN reference), a small MLP into a
    `max_ck` bias; `LogahParamsMask` slices them to the node's
    fan-in/fan-out and normalises kernels to the He RMS;
    `PaddedPredictedMLP` runs the predicted MLP on the signals. Every
    sample carries its own graph, so one batch may mix architectures.

    Inputs: dict `{"features": (batch, input_dim), "node_features":
    (batch, max_nodes, 7), "adjacency": (batch, max_nodes, max_nodes),
    "node_mask": (batch, max_nodes)}`. Output: the predicted MLP's
    logits `(batch, num_classes)`, in the compute dtype.
    `predict_parameters(graph)` returns the predicted kernels and biases
    themselves.

    Args:
        max_nodes: int. Node budget (input node + dense layers).
        max_ck: int. Largest fan-in/fan-out.
        input_dim: int. Target input size (`<= max_ck`).
        num_classes: int. Target classes (`<= max_ck`).
        hidden_dim: int. Node embedding size.
        num_steps: int. GatedGNN rounds.
        rank: int. Decoder rank `r`.
        decoder_units: tuple of int. Hidden sizes of the decoder MLP.
        full_rank: bool. Full-block decoder instead of the low-rank one.
        seed: int or `None`. Initialiser seed.
        dtype: string or `keras.DTypePolicy`.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.LogahBackbone(max_nodes=6, max_ck=64, input_dim=40,
                                 num_classes=10)
    graph = zoo.logah.logah_graph.batch_graph((32,), 2, 40, 10, 64, 6)
    backbone({"features": np.zeros((2, 40), "float32"), **graph}).shape
    # (2, 10)
    ```

    Reference:
    - [Zhou et al., 2024](https://arxiv.org/abs/2405.16287), "LoGAH:
      Predicting 774-Million-Parameter Transformers using Graph
      HyperNetworks with 1/100 Parameters".
    - [Knyazev et al., 2021](https://arxiv.org/abs/2110.13100),
      "Parameter Prediction for Unseen Deep Architectures".
    """

    def __init__(self, max_nodes, max_ck, input_dim, num_classes,
                 hidden_dim=32, num_steps=1, rank=8, decoder_units=(64,),
                 full_rank=False, seed=None, dtype=None, **kwargs):
        max_nodes = check_positive_int("max_nodes", max_nodes)
        max_ck = check_positive_int("max_ck", max_ck)
        input_dim = check_positive_int("input_dim", input_dim)
        check_num_classes(num_classes)
        check_bool("full_rank", full_rank)
        if max_nodes < 2:
            raise ValueError(
                f"max_nodes must be >= 2 (input + one layer). Received: "
                f"{max_nodes}")
        if max(input_dim, num_classes) > max_ck:
            raise ValueError(
                f"input_dim={input_dim} and num_classes={num_classes} must "
                f"be <= max_ck={max_ck}.")
        config = dict(max_nodes=max_nodes, max_ck=max_ck,
                      input_dim=input_dim, num_classes=num_classes,
                      hidden_dim=hidden_dim, num_steps=num_steps, rank=rank,
                      decoder_units=tuple(decoder_units),
                      full_rank=full_rank, seed=seed)

        # === Layers ===
        self.hypernetwork = LogahHyperNetwork(
            max_ck, hidden_dim=hidden_dim, num_steps=num_steps, rank=rank,
            decoder_units=decoder_units, full_rank=full_rank, seed=seed,
            dtype=dtype, name="hypernetwork")
        self.target = PaddedPredictedMLP(max_ck, num_classes, dtype=dtype,
                                         name="predicted_mlp")

        # === Functional Model ===
        inputs = {
            "features": keras.Input((input_dim,), name="features"),
            "node_features": keras.Input(
                (max_nodes, NUM_NODE_FEATURES), name="node_features"),
            "adjacency": keras.Input((max_nodes, max_nodes),
                                     name="adjacency"),
            "node_mask": keras.Input((max_nodes,), name="node_mask"),
        }
        params = self._params(inputs)
        logits = self.target(inputs["features"], params["kernels"],
                             params["biases"], inputs["node_features"],
                             inputs["node_mask"])
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype,
                         **kwargs)

        # === Config ===
        self._set_config(**config)

    def _params(self, graph):
        return self.hypernetwork(graph["node_features"], graph["adjacency"],
                                 graph["node_mask"])

    def predict_parameters(self, graph):
        """The predicted, masked kernels and biases of a batch of graphs.

        Args:
            graph: dict with `node_features`, `adjacency`, `node_mask`.

        Returns:
            dict `{"kernels": (batch, max_nodes, max_ck, max_ck),
            "biases": (batch, max_nodes, max_ck)}` (node `i >= 1` holds
            dense layer `i - 1`, Keras layout (in, out)).
        """
        return self._params(graph)

    def decoder_num_params(self):
        """Scalars of the kernel decoder (the part LoGAH makes low-rank).

        Returns:
            int.
        """
        return self.hypernetwork.kernel_decoder.num_decoder_params()
