"""D2NWG backbone: task (support set) encoder + conditional denoiser."""

import keras
from keras_hub.models import Backbone

from layers._checks import check_choice
from layers._checks import check_positive_int
from layers._config import ConfigMixin
from layers.weight_diffusion import POOLINGS
from layers.weight_diffusion import ConditionalDenoiser
from layers.weight_diffusion import SetEncoder


@keras.saving.register_keras_serializable(package="hyperzoo")
class D2NWGBackbone(ConfigMixin, Backbone):
    """Task-conditioned latent denoiser of D2NWG (flow matching).

    Each class's support examples are embedded by a shared
    permutation-invariant `layers.SetEncoder`; the class codes, in label
    order, form the task condition (so output unit `k` of a generated
    classifier follows the class given as label `k`). A
    `layers.ConditionalDenoiser` reads the noisy weight latent `z_t`,
    the time `t` and the condition and returns features of width
    `hidden_dim`; `D2NWGGenerator` maps them to the velocity.

    Inputs: a dict `{"support": (batch, ways, shots, feature_dim),
    "latent": (batch, latent_dim), "time": (batch,)}`.

    Args:
        latent_dim: int. Size of the weight latent (of the weight VAE).
        ways: int. Classes per task.
        feature_dim: int. Size of an input example.
        set_dim: int. Size of each class code.
        set_hidden_dim: int. Width of the set encoder.
        hidden_dim: int. Width of the denoiser.
        num_blocks: int. Residual blocks of the denoiser.
        time_embedding_dim: int. Size of the time embedding (even).
        pooling: str. Set pooling, `"attention"` or `"mean"`.
        seed: int or `None`. Initialiser seed.
        dtype: string or `keras.DTypePolicy`. The dtype policy.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.D2NWGBackbone(latent_dim=8, ways=5, feature_dim=64)
    ```

    Reference:
    - [Soro et al., 2025](https://arxiv.org/abs/2402.18153), "Diffusion-
      based Neural Network Weights Generation" (D2NWG), ICLR 2025.
    """

    def __init__(
        self,
        latent_dim,
        ways,
        feature_dim,
        set_dim=16,
        set_hidden_dim=64,
        hidden_dim=256,
        num_blocks=3,
        time_embedding_dim=32,
        pooling="attention",
        seed=None,
        dtype=None,
        **kwargs,
    ):
        config = dict(
            latent_dim=check_positive_int("latent_dim", latent_dim),
            ways=check_positive_int("ways", ways),
            feature_dim=check_positive_int("feature_dim", feature_dim),
            set_dim=check_positive_int("set_dim", set_dim),
            set_hidden_dim=check_positive_int("set_hidden_dim",
                                              set_hidden_dim),
            hidden_dim=check_positive_int("hidden_dim", hidden_dim),
            num_blocks=check_positive_int("num_blocks", num_blocks),
            time_embedding_dim=check_positive_int("time_embedding_dim",
                                                  time_embedding_dim),
            pooling=check_choice("pooling", pooling, POOLINGS),
            seed=seed,
        )

        # === Layers ===
        self.set_encoder = SetEncoder(
            set_dim, hidden_dim=set_hidden_dim, pooling=pooling,
            seed=seed, dtype=dtype, name="set_encoder")
        self.flatten = keras.layers.Flatten(dtype=dtype, name="condition")
        self.denoiser = ConditionalDenoiser(
            hidden_dim, hidden_dim=hidden_dim, num_blocks=num_blocks,
            time_embedding_dim=time_embedding_dim,
            seed=None if seed is None else seed + 1000,
            dtype=dtype, name="denoiser")

        # === Functional Model ===
        support = keras.Input(shape=(ways, None, feature_dim),
                              name="support")
        latent = keras.Input(shape=(latent_dim,), name="latent")
        time = keras.Input(shape=(), name="time")
        condition = self.flatten(self.set_encoder(support))
        outputs = self.denoiser(latent, time=time, condition=condition)
        super().__init__(
            inputs={"support": support, "latent": latent, "time": time},
            outputs=outputs, dtype=dtype, **kwargs)

        # === Config ===
        self._set_config(**config)
