"""UNEM backbone: embeds every sample of a batch of few-shot episodes."""

import keras
from keras_hub.models import Backbone


@keras.saving.register_keras_serializable(package="hyperzoo")
class UNEMBackbone(Backbone):
    """Embeds the support and query samples of few-shot episodes.

    Inputs are a dict of one batch of tasks: `support` `(B, Ns,
    feature_dim)`, `support_labels` `(B, Ns)` int32 and `query` `(B, Nq,
    feature_dim)` (`Ns` and `Nq` may vary between calls). The output is
    `(B, Ns + Nq, dim)`: the support embeddings followed by the query
    embeddings. With `projection_dim=None` the embeddings are the input
    features (cast to the compute dtype), which is how UNEM is used on
    the fixed features of a pretrained extractor; with an int, one shared
    `Dense(projection_dim)` maps every sample (meta-learned with the
    head). The projection has no bias: the Gaussian head only uses
    distances between samples and centroids that are weighted means of
    samples, so a shift shared by every sample cancels and a bias would
    get a gradient that is zero in exact arithmetic (the Dirichlet head
    takes no projection). The labels are not used by the backbone; they
    are part of its inputs so the Task can be built on `backbone.input`.

    Args:
        feature_dim: int. Size of the input features.
        projection_dim: int or `None`. Size of a learned linear
            projection, or `None` for none.
        seed: int or `None`. Seed of the projection's initialiser.
        dtype: string or `keras.DTypePolicy`. The dtype policy.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.UNEMBackbone(feature_dim=32)
    out = backbone({"support": s, "support_labels": ys, "query": q})
    out.shape  # (B, Ns + Nq, 32)
    ```

    Reference:
    - [Zhou et al., 2025](https://arxiv.org/abs/2412.16739), "UNEM:
      UNrolled generalized EM for transductive few-shot learning".
    """

    def __init__(self, feature_dim, projection_dim=None, seed=None,
                 dtype=None, **kwargs):
        for name, value in (("feature_dim", feature_dim),
                            ("projection_dim", projection_dim)):
            if value is None and name == "projection_dim":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or \
                    value <= 0:
                raise ValueError(
                    f"`{name}` must be a positive integer"
                    + (" or None" if name == "projection_dim" else "")
                    + f". Received: {name}={value!r}"
                )

        # === Layers ===
        self.projection = None
        if projection_dim is not None:
            self.projection = keras.layers.Dense(
                projection_dim,
                use_bias=False,
                kernel_initializer=keras.initializers.GlorotUniform(seed),
                dtype=dtype,
                name="projection",
            )
        self.concatenate = keras.layers.Concatenate(
            axis=1, dtype=dtype, name="episode_embeddings"
        )

        # === Functional Model ===
        support = keras.Input(shape=(None, feature_dim), name="support")
        labels = keras.Input(shape=(None,), dtype="int32",
                             name="support_labels")
        query = keras.Input(shape=(None, feature_dim), name="query")
        s, q = support, query
        if self.projection is not None:
            s, q = self.projection(s), self.projection(q)
        outputs = self.concatenate([s, q])
        super().__init__(
            inputs={"support": support, "support_labels": labels,
                    "query": query},
            outputs=outputs,
            dtype=dtype,
            **kwargs,
        )

        # === Config ===
        self.feature_dim = feature_dim
        self.projection_dim = projection_dim
        self.seed = seed

    def get_config(self):
        config = super().get_config()
        config.update({
            "feature_dim": self.feature_dim,
            "projection_dim": self.projection_dim,
            "seed": self.seed,
        })
        return config
