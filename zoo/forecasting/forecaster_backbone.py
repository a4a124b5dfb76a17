"""Forecaster backbone: recurrence, attention and gating as switches."""

import keras
from keras_hub.models import Backbone

from layers.recurrent import GATINGS
from layers.recurrent import RHN
from layers.recurrent import GatedResidual
from layers.recurrent import RelativeCausalAttention

CELLS = ("lstm", "gru", "rhn", "transformer")


def _positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )
    return value


@keras.saving.register_keras_serializable(package="hyperzoo")
class ForecasterBackbone(Backbone):
    """Sequence encoder of the forecaster family (causal in time).

    Recurrent variants (`cell` in `"lstm"`, `"gru"`, `"rhn"`):

    ```
    e = Dense(units)(x)                       # input embedding
    h = G_rec(e, RNN(e))                      # gated skip around the RNN
    h = G_att(h, Attention(LayerNorm(h)))     # if attention
    ```

    Transformer (`cell="transformer"`), `num_layers` pre-norm blocks:

    ```
    h = G_att(h, Attention(LayerNorm(h)))
    h = G_rec(h, GRU(LayerNorm(h)))           # if recurrence
    h = G_ffn(h, FFN(LayerNorm(h)))
    ```

    `G` is a `layers.GatedResidual` with the chosen `gating`:
    `"additive"` (no neural gating: the "without gating" variants),
    `"rate"` (learned rate) or `"highway"` (input-dependent gate).
    Attention is `layers.RelativeCausalAttention` over the `window` most
    recent states. Every output step `t` depends on inputs `<= t` only.

    Args:
        input_dim: int. State dimension of the system.
        cell: str. `"lstm"`, `"gru"`, `"rhn"` or `"transformer"`.
        units: int. Width of the hidden states.
        attention: bool. Add the attention block (recurrent cells; the
            transformer always has it).
        gating: str. `"additive"`, `"rate"` or `"highway"`.
        recurrence: bool. Add a GRU to every transformer block (ignored
            by recurrent cells).
        depth: int. Recurrence depth of the RHN cell.
        num_heads: int. Attention heads.
        window: int. Attended lags.
        num_layers: int. Transformer blocks.
        ffn_dim: int or `None`. Transformer feed-forward width
            (defaults to `2 * units`).
        seed: int or `None`. Initialiser seed.
        dtype: string or `keras.DTypePolicy`.
        **kwargs: passed to `keras_hub.models.Backbone`.

    Example:

    ```python
    backbone = zoo.forecasting.ForecasterBackbone(
        input_dim=40, cell="rhn", units=32, attention=True,
        gating="highway")
    backbone(np.zeros((2, 16, 40), "float32")).shape  # (2, 16, 32)
    ```

    Reference:
    - [Heidenreich et al., 2024](https://arxiv.org/abs/2410.02654),
      "Deconstructing Recurrence, Attention, and Gating".
    """

    def __init__(
        self,
        input_dim,
        cell="rhn",
        units=32,
        attention=True,
        gating="highway",
        recurrence=False,
        depth=2,
        num_heads=2,
        window=16,
        num_layers=1,
        ffn_dim=None,
        seed=None,
        dtype=None,
        **kwargs,
    ):
        _positive_int("input_dim", input_dim)
        _positive_int("units", units)
        _positive_int("depth", depth)
        _positive_int("num_heads", num_heads)
        _positive_int("window", window)
        _positive_int("num_layers", num_layers)
        if cell not in CELLS:
            raise ValueError(
                f"`cell` must be one of {CELLS}. Received: cell={cell!r}"
            )
        if gating not in GATINGS:
            raise ValueError(
                f"`gating` must be one of {GATINGS}. "
                f"Received: gating={gating!r}"
            )
        if units % num_heads:
            raise ValueError(
                "`units` must be divisible by `num_heads`. Received: "
                f"units={units}, num_heads={num_heads}"
            )
        ffn_dim = _positive_int("ffn_dim", ffn_dim or 2 * units)
        if cell == "transformer":
            attention = True
        key_dim = units // num_heads

        def seed_of(i):
            return None if seed is None else seed + 100 * i

        def init(i):
            return keras.initializers.GlorotUniform(seed_of(i))

        def gate(name, i):
            return GatedResidual(gating, seed=seed_of(i), dtype=dtype,
                                 name=name)

        def norm(name):
            return keras.layers.LayerNormalization(epsilon=1e-5,
                                                   dtype=dtype, name=name)

        def attend(name, i):
            return RelativeCausalAttention(
                num_heads, key_dim, window=window, seed=seed_of(i),
                dtype=dtype, name=name,
            )

        def rnn(kind, name, i):
            if kind == "lstm":
                return keras.layers.LSTM(
                    units, return_sequences=True, seed=seed_of(i),
                    kernel_initializer=init(i),
                    recurrent_initializer=keras.initializers.Orthogonal(
                        seed=seed_of(i + 1)),
                    dtype=dtype, name=name,
                )
            if kind == "gru":
                return keras.layers.GRU(
                    units, return_sequences=True, seed=seed_of(i),
                    kernel_initializer=init(i),
                    recurrent_initializer=keras.initializers.Orthogonal(
                        seed=seed_of(i + 1)),
                    dtype=dtype, name=name,
                )
            return RHN(units, depth=depth, return_sequences=True,
                       seed=seed_of(i), dtype=dtype, name=name)

        # === Functional Model ===
        features = keras.Input((None, input_dim), name="features")
        h = keras.layers.Dense(units, kernel_initializer=init(0),
                               dtype=dtype, name="embedding")(features)
        if cell != "transformer":
            r = rnn(cell, "recurrent", 1)(h)
            h = gate("recurrent_gate", 2)(h, update=r)
            if attention:
                a = attend("attention", 3)(norm("attention_norm")(h))
                h = gate("attention_gate", 4)(h, update=a)
        else:
            for i in range(num_layers):
                k = 10 * (i + 1)
                a = attend(f"block_{i}_attention", k)(
                    norm(f"block_{i}_attention_norm")(h)
                )
                h = gate(f"block_{i}_attention_gate", k + 1)(h, update=a)
                if recurrence:
                    r = rnn("gru", f"block_{i}_recurrent", k + 2)(
                        norm(f"block_{i}_recurrent_norm")(h)
                    )
                    h = gate(f"block_{i}_recurrent_gate", k + 4)(
                        h, update=r
                    )
                f = norm(f"block_{i}_ffn_norm")(h)
                f = keras.layers.Dense(ffn_dim, activation="gelu",
                                       kernel_initializer=init(k + 5),
                                       dtype=dtype,
                                       name=f"block_{i}_ffn_in")(f)
                f = keras.layers.Dense(units, kernel_initializer=init(k + 6),
                                       dtype=dtype,
                                       name=f"block_{i}_ffn_out")(f)
                h = gate(f"block_{i}_ffn_gate", k + 7)(h, update=f)
        super().__init__(inputs=features, outputs=h, dtype=dtype, **kwargs)

        # === Config ===
        self.input_dim = input_dim
        self.cell = cell
        self.units = units
        self.attention = bool(attention)
        self.gating = gating
        self.recurrence = bool(recurrence)
        self.depth = depth
        self.num_heads = num_heads
        self.window = window
        self.num_layers = num_layers
        self.ffn_dim = ffn_dim
        self.seed = seed

    @property
    def variant(self):
        """Short name of the variant, e.g. `"rhn+attention+gating"`."""
        if self.cell == "transformer":
            return "transformer" + ("+recurrence" if self.recurrence else "")
        name = self.cell
        if self.attention:
            name += "+attention"
        if self.gating != "additive":
            name += "+gating" if self.gating == "highway" else "+rate"
        return name

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "cell": self.cell,
            "units": self.units,
            "attention": self.attention,
            "gating": self.gating,
            "recurrence": self.recurrence,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "window": self.window,
            "num_layers": self.num_layers,
            "ffn_dim": self.ffn_dim,
            "seed": self.seed,
        })
        return config
