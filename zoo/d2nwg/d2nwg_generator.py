"""D2NWG task: the flow model plus the frozen weight decoder of the VAE."""

import keras
import numpy as np
from keras import ops

from layers._checks import check_positive_int
from zoo.d2nwg.d2nwg_backbone import D2NWGBackbone
from zoo.task import ZooTask


def _dense(units, seed, name, activation=None):
    return keras.layers.Dense(
        units, activation=activation, name=name,
        kernel_initializer=keras.initializers.GlorotUniform(seed))


@keras.saving.register_keras_serializable(package="hyperzoo")
class WeightDecoder(keras.layers.Layer):
    """Decoder of the weight VAE: latent -> flattened weight vector.

    `w = (W_2 silu(W_1 z + b_1) + b_2) * scale + mean`: an MLP returns
    normalised weights, de-normalised with the per-coordinate `mean` and
    `scale` of the checkpoint zoo (non-trainable weights set by
    `set_normalization`).

    Args:
        param_dim: int. Length of the flattened weight vector.
        hidden_dim: int. Width of the hidden layer.
        seed: int or `None`. Initialiser seed.
        **kwargs: base layer keyword arguments.

    Example:

    ```python
    decoder = zoo.d2nwg.WeightDecoder(12, hidden_dim=8)
    decoder(np.zeros((2, 4), "float32")).shape  # (2, 12)
    ```

    Reference:
    - [Soro et al., 2025](https://arxiv.org/abs/2402.18153), D2NWG.
    """

    def __init__(self, param_dim, hidden_dim=512, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.param_dim = check_positive_int("param_dim", param_dim)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.seed = seed
        self.hidden = _dense(hidden_dim, seed, "hidden", "silu")
        self.out = _dense(param_dim, None if seed is None else seed + 1,
                          "out")

    def build(self, inputs_shape):
        self.hidden.build(tuple(inputs_shape))
        self.out.build(tuple(inputs_shape[:-1]) + (self.hidden_dim,))
        self.mean = self.add_weight(name="mean", shape=(self.param_dim,),
                                    initializer="zeros", trainable=False)
        self.scale = self.add_weight(name="scale", shape=(self.param_dim,),
                                     initializer="ones", trainable=False)
        self.built = True

    def set_normalization(self, mean, scale):
        """Sets the de-normalisation `mean` and `scale` vectors.

        Args:
            mean: array `(param_dim,)`.
            scale: array `(param_dim,)`.
        """
        self.mean.assign(np.asarray(mean, "float32"))
        self.scale.assign(np.asarray(scale, "float32"))

    def call(self, inputs):
        x = self.out(self.hidden(inputs))
        return (x * ops.cast(self.scale, x.dtype)
                + ops.cast(self.mean, x.dtype))

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.param_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({"param_dim": self.param_dim,
                       "hidden_dim": self.hidden_dim, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class D2NWGGenerator(ZooTask):
    """D2NWG: samples classifier weights for a few-shot task.

    The model itself is the conditional flow: `(support, z_t, t) ->`
    velocity `dz/dt` (a float32 `Dense(latent_dim)` head on
    `D2NWGBackbone`), trained by flow matching on the VAE latents of a
    checkpoint zoo (`zoo.d2nwg.d2nwg_training`). It also carries the
    VAE's `WeightDecoder` (frozen: non-trainable) so that
    `generate_weights` goes support set -> latent (Euler integration of
    the flow from noise) -> flattened weights, and `build_classifier`
    turns them into an ordinary Keras MLP classifier.

    Args:
        backbone: `zoo.D2NWGBackbone`.
        weight_decoder: `zoo.d2nwg.WeightDecoder` or `None` (then one of
            `param_dim` outputs and `decoder_hidden_dim` units is made).
        param_dim: int. Length of the generated weight vectors (used when
            `weight_decoder` is `None`).
        decoder_hidden_dim: int. See `param_dim`.
        head_dtype: dtype of the velocity head. Defaults to float32
            under mixed precision, else the backbone's policy.
        **kwargs: passed to `keras_hub.models.Task`.

    Example:

    ```python
    backbone = zoo.D2NWGBackbone(latent_dim=8, ways=5, feature_dim=64)
    model = zoo.D2NWGGenerator(backbone, param_dim=2245)
    params = model.generate_weights(np.zeros((1, 5, 5, 64), "float32"))
    ```

    Reference:
    - [Soro et al., 2025](https://arxiv.org/abs/2402.18153), "Diffusion-
      based Neural Network Weights Generation" (D2NWG), ICLR 2025.
    - [Lipman et al., 2023](https://arxiv.org/abs/2210.02747), "Flow
      Matching for Generative Modeling".
    """

    backbone_cls = D2NWGBackbone
    preprocessor_cls = None

    def __init__(self, backbone, weight_decoder=None, param_dim=None,
                 decoder_hidden_dim=64, head_dtype=None, preprocessor=None,
                 **kwargs):
        head_dtype = self.resolve_head_dtype(head_dtype, backbone)
        if weight_decoder is None:
            if param_dim is None:
                raise ValueError("Pass `weight_decoder` or `param_dim`.")
            weight_decoder = WeightDecoder(
                param_dim, hidden_dim=decoder_hidden_dim,
                seed=backbone.seed, dtype="float32", name="weight_decoder")
        elif isinstance(weight_decoder, dict):
            weight_decoder = keras.layers.deserialize(weight_decoder)
        if not weight_decoder.built:
            weight_decoder.build((None, backbone.latent_dim))

        # === Layers and functional model ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.velocity_head = keras.layers.Dense(
            backbone.latent_dim, dtype=head_dtype, name="velocity",
            kernel_initializer=keras.initializers.GlorotUniform(
                None if backbone.seed is None else backbone.seed + 7))
        outputs = self.velocity_head(backbone.output)
        super().__init__(inputs=backbone.input, outputs=outputs, **kwargs)
        # The decoder is trained by the VAE stage, never by the flow loss.
        weight_decoder.trainable = False
        self.weight_decoder = weight_decoder

        # === Config ===
        self.set_head_dtype(head_dtype)

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                **kwargs):
        """Compiles with Adam(1e-3) and the mean squared error by default.

        Args:
            optimizer: `"auto"` or a Keras optimizer.
            loss: `"auto"` or a Keras loss.
            metrics: `"auto"` (none) or a list of metrics.
            **kwargs: passed to `keras.Model.compile`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.MeanSquaredError()
        if metrics == "auto":
            metrics = None
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        **kwargs)

    def sample_latents(self, support, num_steps=20, seed=0):
        """Integrates the flow from Gaussian noise (t=0) to a latent (t=1).

        Args:
            support: array `(batch, ways, shots, feature_dim)`.
            num_steps: int. Euler steps.
            seed: int. Seed of the initial noise.

        Returns:
            numpy `(batch, latent_dim)` latents.
        """
        support = np.asarray(support, "float32")
        n = len(support)
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((n, self.backbone.latent_dim)).astype(
            "float32")
        dt = 1.0 / num_steps
        for i in range(num_steps):
            t = np.full((n,), i * dt, "float32")
            v = self({"support": support, "latent": z, "time": t},
                     training=False)
            z = z + dt * np.asarray(ops.convert_to_numpy(v), "float32")
        return z

    def decode(self, latents):
        """Weight vectors from latents, with the frozen VAE decoder.

        Args:
            latents: array `(batch, latent_dim)`.

        Returns:
            numpy `(batch, param_dim)`.
        """
        out = self.weight_decoder(np.asarray(latents, "float32"))
        return np.asarray(ops.convert_to_numpy(out), "float32")

    def generate_weights(self, support, num_steps=20, seed=0):
        """Samples flattened classifier weights for few-shot tasks.

        Args:
            support: array `(batch, ways, shots, feature_dim)`: for each
                task, `shots` examples of each class, in label order.
            num_steps: int. Euler steps of the flow.
            seed: int. Noise seed.

        Returns:
            numpy `(batch, param_dim)` weight vectors.
        """
        return self.decode(self.sample_latents(support, num_steps, seed))

    def get_config(self):
        config = super().get_config()
        config.update({
            "weight_decoder": keras.layers.serialize(self.weight_decoder),
            "head_dtype": self.head_dtype,
        })
        return config


def build_classifier(params):
    """An ordinary Keras MLP classifier holding generated weights.

    Args:
        params: array `(PARAM_DIM,)` in the layout of
            `zoo.data.checkpoint_zoo` (64 -> 32 -> 5, zero padded).

    Returns:
        A `keras.Sequential` `Dense(32, relu) -> Dense(5)` (logits) with
        those weights, compiled with Adam(0.01) and sparse CE.

    Example:

    ```python
    clf = build_classifier(model.generate_weights(support)[0])
    clf.predict(x_query).argmax(-1)
    ```
    """
    from zoo.data.checkpoint_zoo import MAX_INPUT
    from zoo.data.checkpoint_zoo import MAX_WIDTH
    from zoo.data.checkpoint_zoo import WAYS
    from zoo.data.checkpoint_zoo import split_params

    w1, b1, w2, b2 = split_params(np.asarray(params, "float32"))
    model = keras.Sequential([
        keras.Input((MAX_INPUT,)),
        keras.layers.Dense(MAX_WIDTH, activation="relu", name="hidden"),
        keras.layers.Dense(WAYS, name="logits"),
    ], name="generated_mlp")
    model.set_weights([w1, b1, w2, b2])
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])
    return model
