"""Forecaster backbone: recurrence, attention and gating as switches."""

import keras
from keras_hub.models import Backbone

from layers._checks import check_choice
from layers._checks import check_positive_int
from layers.recurrent import GATINGS
from layers.recurrent import RHN
from layers.recurrent import GatedResidual
from layers.recurrent import RelativeCausalAttention

CELLS = ("lstm", "gru", "rhn", "transformer")


def _check_config(input_dim, cell, units, gating, depth, num_heads, window,
                  num_layers, ffn_dim):
    """Checks the backbone's arguments; returns the ints and `ffn_dim`."""
    sizes = {name: check_positive_int(name, value) for name, value in (
        ("input_dim", input_dim), ("units", units), ("depth", depth),
        ("num_heads", num_heads), ("window", window),
        ("num_layers", num_layers))}
    check_choice("cell", cell, CELLS)
    check_choice("gating", gating, GATINGS)
    if units % num_heads:
        raise ValueError(
            "`units` must be divisible by `num_heads`. Received: "
            f"units={units}, num_heads={num_heads}"
        )
    sizes["ffn_dim"] = check_positive_int("ffn_dim", ffn_dim or 2 * units)
    return sizes


class _Layers:
    """Creates the backbone's layers, each seeded by its index `i`."""

    def __init__(self, units, depth, num_heads, window, seed, dtype):
        self.units = units
        self.depth = depth
        self.num_heads = num_heads
        self.window = window
        self.seed = seed
        self.dtype = dtype

    def seed_of(self, i):
        return None if self.seed is None else self.seed + 100 * i

    def init(self, i):
        return keras.initializers.GlorotUniform(self.seed_of(i))

    def dense(self, width, name, i, activation=None):
        return keras.layers.Dense(width, activation=activation,
                                  kernel_initializer=self.init(i),
                                  dtype=self.dtype, name=name)

    def gate(self, gating, name, i, gate_bias=0.0):
        return GatedResidual(gating, gate_bias=gate_bias,
                             seed=self.seed_of(i), dtype=self.dtype,
                             name=name)

    def norm(self, name):
        return keras.layers.LayerNormalization(epsilon=1e-5,
                                               dtype=self.dtype, name=name)

    def attend(self, name, i):
        return RelativeCausalAttention(
            self.num_heads, self.units // self.num_heads,
            window=self.window, seed=self.seed_of(i), dtype=self.dtype,
            name=name,
        )

    def rnn(self, kind, name, i):
        if kind == "rhn":
            return RHN(self.units, depth=self.depth, return_sequences=True,
                       seed=self.seed_of(i), dtype=self.dtype, name=name)
        rnn_cls = keras.layers.LSTM if kind == "lstm" else keras.layers.GRU
        return rnn_cls(
            self.units, return_sequences=True, seed=self.seed_of(i),
            kernel_initializer=self.init(i),
            recurrent_initializer=keras.initializers.Orthogonal(
                seed=self.seed_of(i + 1)),
            dtype=self.dtype, name=name,
        )


def _recurrent_stack(make, h, cell, gating, attention,
                     attention_gate_bias=0.0, zero_attention_output=False):
    """`G_rec(h, RNN(h))`, then `G_att(h, Attention(LayerNorm(h)))`.

    `attention_gate_bias` starts the attention's highway gate at
    `sigmoid(bias)`; `zero_attention_output` zeroes the attention's
    output projection (with additive gating the block then starts as the
    identity, i.e. as the plain recurrent cell).
    """
    r = make.rnn(cell, "recurrent", 1)(h)
    h = make.gate(gating, "recurrent_gate", 2)(h, update=r)
    if attention:
        attend = make.attend("attention", 3)
        a = attend(make.norm("attention_norm")(h))
        if zero_attention_output:
            output = attend.projections[3]
            output.kernel.assign(
                keras.ops.zeros(output.kernel.shape, output.kernel.dtype))
        h = make.gate(gating, "attention_gate", 4,
                      gate_bias=attention_gate_bias)(h, update=a)
    return h


def _transformer_block(make, h, i, gating, recurrence, ffn_dim):
    """One pre-norm block: attention, optional GRU, feed-forward."""
    k = 10 * (i + 1)
    p = f"block_{i}_"
    a = make.attend(p + "attention", k)(make.norm(p + "attention_norm")(h))
    h = make.gate(gating, p + "attention_gate", k + 1)(h, update=a)
    if recurrence:
        r = make.rnn("gru", p + "recurrent", k + 2)(
            make.norm(p + "recurrent_norm")(h)
        )
        h = make.gate(gating, p + "recurrent_gate", k + 4)(h, update=r)
    f = make.norm(p + "ffn_norm")(h)
    f = make.dense(ffn_dim, p + "ffn_in", k + 5, activation="gelu")(f)
    f = make.dense(make.units, p + "ffn_out", k + 6)(f)
    return make.gate(gating, p + "ffn_gate", k + 7)(h, update=f)


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
        attention_gate_bias: float. Initial bias of the attention's
            highway gate of the recurrent variants (`0.0`: the gate
            starts at 0.5; e.g. `-3.0` starts it nearly closed, so that
            the model starts close to the cell without attention).
        zero_attention_output: bool. Zero-initialise the output
            projection of the recurrent variants' attention (with
            additive gating the model then starts as the cell without
            attention).
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
        attention_gate_bias=0.0,
        zero_attention_output=False,
        seed=None,
        dtype=None,
        **kwargs,
    ):
        sizes = _check_config(input_dim, cell, units, gating, depth,
                              num_heads, window, num_layers, ffn_dim)
        if cell == "transformer":
            attention = True
        make = _Layers(units, depth, num_heads, window, seed, dtype)

        # === Functional Model ===
        features = keras.Input((None, input_dim), name="features")
        h = make.dense(units, "embedding", 0)(features)
        if cell != "transformer":
            h = _recurrent_stack(make, h, cell, gating, attention,
                                 float(attention_gate_bias),
                                 bool(zero_attention_output))
        else:
            for i in range(num_layers):
                h = _transformer_block(make, h, i, gating, recurrence,
                                       sizes["ffn_dim"])
        super().__init__(inputs=features, outputs=h, dtype=dtype, **kwargs)

        # === Config ===
        self.input_dim = sizes["input_dim"]
        self.cell = cell
        self.units = sizes["units"]
        self.attention = bool(attention)
        self.gating = gating
        self.recurrence = bool(recurrence)
        self.depth = sizes["depth"]
        self.num_heads = sizes["num_heads"]
        self.window = sizes["window"]
        self.num_layers = sizes["num_layers"]
        self.ffn_dim = sizes["ffn_dim"]
        self.attention_gate_bias = float(attention_gate_bias)
        self.zero_attention_output = bool(zero_attention_output)
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
        # Initialisation options, saved only when set (the configs of
        # the bundled presets stay as they were).
        if self.attention_gate_bias:
            config["attention_gate_bias"] = self.attention_gate_bias
        if self.zero_attention_output:
            config["zero_attention_output"] = True
        return config
