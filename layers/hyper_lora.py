"""HyperLoRA: a hypernetwork that generates per-sample LoRA adapters.

`HyperLoRA` wraps any built Keras model (a keras-hub backbone, a
functional MLP) and, from a condition vector per sample (an identity or
task embedding, or a pooled set of support examples), generates low-rank
factors `A (fan_in, r)` and `B (r, fan_out)` for each targeted `Dense`
or `EinsumDense` layer in one forward pass.
"""

import re

import keras
from keras import ops

from layers._checks import check_bool
from layers._checks import check_number_above
from layers._checks import check_positive_int

_LETTERS = "ijklmnopqrstuvwxyz"


def _prod(values):
    out = 1
    for v in values:
        out *= int(v)
    return out


def _target_plan(layer):
    """How a target's generated `A @ B` maps onto its kernel.

    Returns a dict with `fan_in`, `fan_out`, the kernel shape, the
    permutation from `(batch, in axes..., out axes...)` to `(batch,
    kernel axes...)` and the batched einsum equation (or `None` for a
    `Dense`, which uses a matmul over its last input axis).
    """
    kernel_shape = tuple(int(d) for d in layer.kernel.shape)
    if isinstance(layer, keras.layers.EinsumDense):
        equation = layer.equation.replace(" ", "")
        lhs, out_spec = equation.split("->")
        in_spec, k_spec = lhs.split(",")
        if "." in equation or not in_spec or in_spec[0] != out_spec[0] \
                or in_spec[0] in k_spec:
            raise ValueError(
                "HyperLoRA needs an EinsumDense equation whose first input "
                "letter is a batch axis kept in the output and absent from "
                f"the kernel, without '...'. Received: {layer.equation!r} "
                f"at {layer.path}")
        in_axes = [i for i, c in enumerate(k_spec) if c in in_spec]
        out_axes = [i for i, c in enumerate(k_spec) if c not in in_spec]
        order = in_axes + out_axes
        perm = [0] + [1 + order.index(i) for i in range(len(k_spec))]
        batch = in_spec[0]
        return dict(
            fan_in=_prod(kernel_shape[i] for i in in_axes),
            fan_out=_prod(kernel_shape[i] for i in out_axes),
            grouped_shape=tuple(kernel_shape[i] for i in order),
            perm=tuple(perm),
            equation=f"{in_spec},{batch}{k_spec}->{out_spec}",
        )
    return dict(fan_in=kernel_shape[0], fan_out=kernel_shape[1],
                grouped_shape=kernel_shape, perm=(0, 1, 2), equation=None)


def _dense_equation(ndim):
    middle = _LETTERS[:ndim - 2]
    return f"a{middle}y,ayz->a{middle}z"


def kernel_delta(layer, a, b):
    """The kernel update `A @ B` of a target, in its kernel's layout.

    Args:
        layer: the targeted `Dense` or `EinsumDense`.
        a: `(fan_in, rank)` factor (one sample).
        b: `(rank, fan_out)` factor.

    Returns:
        A tensor of `layer.kernel.shape` (add `alpha / rank` times it to
        the kernel to merge the adapter).

    Example:

    ```python
    a, b = hyper_lora.generate(condition)[path]
    delta = kernel_delta(layer, a[0], b[0])
    ```
    """
    plan = _target_plan(layer)
    delta = ops.reshape(ops.matmul(a, b), (1,) + plan["grouped_shape"])
    return ops.transpose(delta, plan["perm"])[0]


def _adapted_call(hyper, key, original, layer, inputs, *args, **kwargs):
    """The patched `call` of a targeted layer (see `HyperLoRA`)."""
    factors = hyper._active_factors
    if factors is None or key not in factors:
        return original(inputs, *args, **kwargs)
    plan = hyper._plans[key]
    a, b = factors[key]
    dtype = layer.compute_dtype
    inputs = ops.cast(inputs, dtype)
    # Per-sample kernel delta (batch, kernel...) = scale * A @ B.
    delta = ops.matmul(ops.cast(a, dtype), ops.cast(b, dtype))
    delta = ops.reshape(delta, (-1,) + plan["grouped_shape"])
    if plan["equation"] is None:
        base = ops.matmul(inputs, layer.kernel)
        update = ops.einsum(_dense_equation(len(inputs.shape)), inputs,
                            delta)
    else:
        delta = ops.transpose(delta, plan["perm"])
        base = ops.einsum(layer.equation, inputs, layer.kernel)
        update = ops.einsum(plan["equation"], inputs, delta)
    x = base + ops.cast(hyper.alpha / hyper.rank, dtype) * update
    if layer.bias is not None:
        x = ops.add(x, layer.bias)
    if layer.activation is not None:
        x = layer.activation(x)
    return x


@keras.saving.register_keras_serializable(package="hyperzoo")
class HyperLoRA(keras.layers.Layer):
    """Wraps a Keras model; a hypernetwork generates its LoRA adapters.

    Each targeted `Dense`/`EinsumDense` layer of `model` (those whose
    `path` matches the regular expression `targets`) computes, for every
    sample `i` of the batch, `y_i = act(x_i W + bias + (alpha / rank) *
    x_i A_i B_i)` where `W` is the frozen base kernel (including a
    static Keras LoRA, `layer.enable_lora`, if one is enabled) and `A_i
    (fan_in, rank)`, `B_i (rank, fan_out)` come from a small MLP
    hypernetwork applied to the sample's `condition`. For an
    `EinsumDense` the kernel axes contracted with the input form
    `fan_in`, the others `fan_out` (any einsum equation whose first
    letter is the batch axis; Gemma's `btd,ndh->btnh` included).

    Design: Keras's own `enable_lora` keeps `lora_kernel_a/b` as
    variables, shared by the whole batch, so it cannot hold a generated
    per-sample adapter. This layer instead patches the `call` of each
    targeted layer: while `HyperLoRA.call` runs the wrapped model, the
    patched call adds the batched einsum of the input with the
    per-sample kernel delta `A_i @ B_i` (a `(batch, *kernel.shape)`
    tensor: fine for adapters of small layers); outside that call (or
    with `use_adapter=False`) the layer runs its original `call`
    unchanged, so the wrapped model is still an ordinary model. Every
    sample's output depends only on its own input and condition.

    Hypernetwork: `condition` (optionally L2-normalised, MIP's
    constant-norm input) -> `Dense(units, relu)` for `hyper_units` ->
    per target, an `A` head and a `B` head. MIP-style residual output:
    each head's bias is the independent (condition-free) factor `theta0`
    and its kernel the condition-dependent part. The `B` head starts at
    exactly zero (kernel and bias), so the adapter is zero and the
    model equals the base at init (LoRA's `B = 0`); then no gradient
    reaches the hidden layers or the `A` head until `B` moves away from
    zero. `zero_init=False` draws the `B` bias from a small normal
    instead (used by the tests' gradient checks).

    LiDB (`basis_dim`): `A = A_aux @ A_train` and `B = B_train @ B_aux`
    with `A_aux (fan_in, a)` and `B_aux (b, fan_out)` fixed random
    orthonormal bases (non-trainable), `a = min(basis_dim, fan_in)`,
    `b = min(basis_dim, fan_out)`; the hypernetwork emits only the small
    `A_train (a, rank)` and `B_train (rank, b)`.

    Output regulariser: with `output_regularization > 0` the layer adds
    `output_regularization * mean_i sum_targets ||A_i B_i||_F^2` to its
    losses (the weight-norm output regularisation of finetuning-free
    personalisation), computed as `sum((A^T A) * (B B^T))`.

    Args:
        model: a built Keras model or layer (or its serialized config,
            which is deserialized with this layer's dtype policy).
        condition_dim: int. Size of the condition vector.
        targets: str. Regular expression searched in each sublayer's
            `path`; every matching `Dense`/`EinsumDense` is adapted.
        rank: int. LoRA rank `r`.
        alpha: float or `None`. LoRA scale numerator (`alpha / rank`);
            `None` means `rank` (scale 1).
        hyper_units: tuple of int. Hidden sizes of the hypernetwork.
        basis_dim: int or `None`. LiDB basis size (see above).
        normalize_condition: bool. L2-normalise the condition.
        output_regularization: float >= 0. Weight of the output
            regulariser.
        zero_init: bool. Start `B` (and so the adapter) at exactly zero.
        freeze_base: bool. Make the wrapped model non-trainable.
        seed: int or `None`. Seed of the initialisers and bases.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: the wrapped model's inputs (tensor or dict).
        condition: `(batch, condition_dim)`.
        use_adapter: bool. `False` runs the base model alone.

    Returns:
        The wrapped model's outputs with the generated adapters.

    Example:

    ```python
    vit = keras_hub.models.ViTBackbone(
        image_shape=(16, 16, 1), patch_size=4, num_layers=2, num_heads=2,
        hidden_dim=16, mlp_dim=32)
    lora = HyperLoRA(vit, condition_dim=8, targets="query|value", rank=2)
    tokens = lora(images, condition=subject_embedding)
    factors = lora.generate(subject_embedding)  # {path: (A, B)}
    ```

    Reference:
    - [Ruiz et al., 2023](https://arxiv.org/abs/2307.06949),
      "HyperDreamBooth: HyperNetworks for Fast Personalization of
      Text-to-Image Models" (LiDB bases).
    - [Arar et al., 2023](https://arxiv.org/abs/2312.13771)-style
      "Finetuning-Free Personalization of Text to Image Generation via
      Hypernetworks" (end-to-end training, output regularisation).
    - [Hu et al., 2021](https://arxiv.org/abs/2106.09685), "LoRA:
      Low-Rank Adaptation of Large Language Models".
    - [Ortiz et al., 2024](https://arxiv.org/abs/2304.07645), "Magnitude
      Invariant Parametrizations Improve Hypernetwork Learning".
    """

    def __init__(self, model, condition_dim, targets="query|value", rank=4,
                 alpha=None, hyper_units=(32,), basis_dim=None,
                 normalize_condition=True, output_regularization=0.0,
                 zero_init=True, freeze_base=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(model, dict):
            config = dict(model)
            inner = dict(config.get("config", {}))
            if "dtype" in inner:
                inner["dtype"] = keras.dtype_policies.serialize(
                    self.dtype_policy)
            config["config"] = inner
            model = keras.saving.deserialize_keras_object(config)
        if not isinstance(model, keras.layers.Layer):
            raise ValueError(
                "`model` must be a Keras model or layer (or its config). "
                f"Received: {type(model).__name__}")
        if not model.built:
            raise ValueError(
                f"`model` ({model.name}) must be built, so that its target "
                "kernels have shapes.")
        self.condition_dim = check_positive_int("condition_dim",
                                                condition_dim)
        self.targets = str(targets)
        self.rank = check_positive_int("rank", rank)
        self.alpha = float(self.rank if alpha is None else alpha)
        self.hyper_units = tuple(
            check_positive_int("hyper_units", u) for u in hyper_units)
        self.basis_dim = check_positive_int("basis_dim", basis_dim,
                                            allow_none=True)
        self.normalize_condition = check_bool("normalize_condition",
                                              normalize_condition)
        self.output_regularization = 0.0 if not output_regularization \
            else check_number_above("output_regularization",
                                    output_regularization, 0.0)
        self.zero_init = check_bool("zero_init", zero_init)
        self.freeze_base = check_bool("freeze_base", freeze_base)
        self.seed = seed
        self.model = model
        if self.freeze_base:
            model.trainable = False
        pattern = re.compile(self.targets)
        found = [
            layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, (keras.layers.Dense,
                                  keras.layers.EinsumDense))
            and pattern.search(layer.path)
        ]
        if not found:
            raise ValueError(
                f"No Dense/EinsumDense layer of {model.name} has a path "
                f"matching targets={self.targets!r}.")
        found = sorted(found, key=lambda layer: layer.path)
        for layer in found:
            mode = getattr(layer.dtype_policy, "quantization_mode", None)
            if mode:
                raise ValueError(
                    f"HyperLoRA cannot adapt the quantized layer "
                    f"{layer.path} ({mode}).")
        self.target_paths = tuple(layer.path for layer in found)
        self._plans = {}
        self._active_factors = None
        counter = [0]

        def init(name, **kw):
            # Distinct, reproducible seeds per initialiser.
            counter[0] += 1
            if seed is not None:
                kw["seed"] = int(seed) * 1009 + counter[0]
            return getattr(keras.initializers, name)(**kw)

        self._init = init
        self.hidden = [
            keras.layers.Dense(
                units, activation="relu", dtype=self.dtype_policy,
                kernel_initializer=init("HeNormal"),
                name=f"hyper_hidden_{i}")
            for i, units in enumerate(self.hyper_units)
        ]
        self.a_heads, self.b_heads = [], []
        self._sizes = []
        for i, layer in enumerate(found):
            plan = _target_plan(layer)
            self._plans[layer.path] = plan
            a_in = plan["fan_in"] if self.basis_dim is None else min(
                self.basis_dim, plan["fan_in"])
            b_out = plan["fan_out"] if self.basis_dim is None else min(
                self.basis_dim, plan["fan_out"])
            self._sizes.append((plan["fan_in"], plan["fan_out"], a_in,
                                b_out))
            # theta0 of A: LoRA's A init (fan-in normal); the condition
            # part starts small.
            self.a_heads.append(keras.layers.Dense(
                a_in * self.rank, dtype=self.dtype_policy,
                kernel_initializer=init("RandomNormal", stddev=0.1 / (
                    a_in ** 0.5)),
                bias_initializer=init("RandomNormal",
                                      stddev=1.0 / (a_in ** 0.5)),
                name=f"a_head_{i}"))
            self.b_heads.append(keras.layers.Dense(
                self.rank * b_out, dtype=self.dtype_policy,
                kernel_initializer="zeros",
                bias_initializer="zeros" if self.zero_init else init(
                    "RandomNormal", stddev=0.1 / (self.rank ** 0.5)),
                name=f"b_head_{i}"))
            layer.call = _bind(self, layer.path, layer.call, layer)

    def build(self, inputs_shape, condition_shape=None):
        shape = (None, self.condition_dim)
        for layer in self.hidden:
            layer.build(shape)
            shape = (None, layer.units)
        for a_head, b_head in zip(self.a_heads, self.b_heads):
            a_head.build(shape)
            b_head.build(shape)
        self.a_bases, self.b_bases = [], []
        if self.basis_dim is not None:
            for i, (fan_in, fan_out, a, b) in enumerate(self._sizes):
                self.a_bases.append(self.add_weight(
                    shape=(fan_in, a), name=f"a_basis_{i}",
                    initializer=self._init("Orthogonal"), trainable=False))
                self.b_bases.append(self.add_weight(
                    shape=(b, fan_out), name=f"b_basis_{i}",
                    initializer=self._init("Orthogonal"), trainable=False))

    def generate(self, condition):
        """The generated factors of every target, for each sample.

        Args:
            condition: `(batch, condition_dim)`.

        Returns:
            dict `{target path: (A (batch, fan_in, rank), B (batch,
            rank, fan_out))}` in float32, the LiDB bases applied. With
            `basis_dim` set, the small trained factors are in
            `generate_train_factors`.
        """
        return self._expand(self.generate_train_factors(condition))

    def generate_train_factors(self, condition):
        """The hypernetwork's outputs: `A_train`, `B_train` per target.

        Args:
            condition: `(batch, condition_dim)`.

        Returns:
            dict `{target path: (A (batch, a, rank), B (batch, rank,
            b))}` in float32 (`a = fan_in`, `b = fan_out` without LiDB).
        """
        h = ops.cast(condition, self.compute_dtype)
        if self.normalize_condition:
            h32 = ops.cast(h, "float32")
            h32 = h32 / ops.sqrt(
                ops.sum(ops.square(h32), axis=-1, keepdims=True) + 1e-12)
            h = ops.cast(h32, self.compute_dtype)
        for layer in self.hidden:
            h = layer(h)
        out = {}
        for i, path in enumerate(self.target_paths):
            _, _, a_in, b_out = self._sizes[i]
            a = ops.reshape(ops.cast(self.a_heads[i](h), "float32"),
                            (-1, a_in, self.rank))
            b = ops.reshape(ops.cast(self.b_heads[i](h), "float32"),
                            (-1, self.rank, b_out))
            out[path] = (a, b)
        return out

    def adapter_norm(self, condition):
        """`sum_targets ||A_i B_i||_F^2` per sample (the regulariser).

        With orthonormal LiDB bases the norm equals that of the small
        factors, so it is computed on those.

        Args:
            condition: `(batch, condition_dim)`.

        Returns:
            float32 `(batch,)`.
        """
        return self._norm(self.generate_train_factors(condition))

    def _norm(self, small):
        total = 0.0
        for a, b in small.values():
            ata = ops.einsum("bir,bis->brs", a, a)
            bbt = ops.einsum("bro,bso->brs", b, b)
            total = total + ops.sum(ata * bbt, axis=(1, 2))
        scale = self.alpha / self.rank
        return (scale ** 2) * total

    def call(self, inputs, condition, use_adapter=True):
        if not use_adapter:
            return self.model(inputs)
        small = self.generate_train_factors(condition)
        if self.output_regularization > 0:
            self.add_loss(self.output_regularization
                          * ops.mean(self._norm(small)))
        return self.call_with_factors(inputs, self._expand(small))

    def call_with_factors(self, inputs, factors):
        """Runs the wrapped model with given (not generated) adapters.

        Used to fine-tune an adapter directly (per-subject LoRA) or from
        a prediction (HyperDreamBooth-style).

        Args:
            inputs: the wrapped model's inputs.
            factors: dict `{target path: (A (batch, fan_in, rank), B
                (batch, rank, fan_out))}` (as from `generate`); missing
                targets run unadapted.

        Returns:
            The wrapped model's outputs.
        """
        self._active_factors = dict(factors)
        try:
            return self.model(inputs)
        finally:
            self._active_factors = None

    def _expand(self, small):
        factors = {}
        for i, path in enumerate(self.target_paths):
            a, b = small[path]
            if self.basis_dim is not None:
                a = ops.einsum("ia,bar->bir",
                               ops.cast(self.a_bases[i], "float32"), a)
                b = ops.einsum("brc,co->bro", b,
                               ops.cast(self.b_bases[i], "float32"))
            factors[path] = (a, b)
        return factors

    def compute_output_spec(self, inputs, condition, use_adapter=True):
        """The wrapped model's output spec, in this layer's dtype.

        Args:
            inputs: symbolic inputs of the wrapped model.
            condition: symbolic `(batch, condition_dim)`.
            use_adapter: bool (does not change the spec).

        Returns:
            `KerasTensor` (or a structure of them).
        """
        return keras.tree.map_structure(
            lambda t: keras.KerasTensor(t.shape, self.compute_dtype),
            self.model.compute_output_spec(inputs))

    def compute_output_shape(self, inputs_shape, condition_shape=None):
        if isinstance(inputs_shape, dict):
            spec = {k: keras.KerasTensor(tuple(v))
                    for k, v in inputs_shape.items()}
        else:
            spec = keras.KerasTensor(tuple(inputs_shape))
        return keras.tree.map_structure(
            lambda t: tuple(t.shape), self.model.compute_output_spec(spec))

    def get_config(self):
        config = super().get_config()
        config.update(
            model=keras.saving.serialize_keras_object(self.model),
            condition_dim=self.condition_dim,
            targets=self.targets,
            rank=self.rank,
            alpha=self.alpha,
            hyper_units=list(self.hyper_units),
            basis_dim=self.basis_dim,
            normalize_condition=self.normalize_condition,
            output_regularization=self.output_regularization,
            zero_init=self.zero_init,
            freeze_base=self.freeze_base,
            seed=self.seed,
        )
        return config


def _bind(hyper, key, original, layer):
    def call(inputs, *args, **kwargs):
        return _adapted_call(hyper, key, original, layer, inputs, *args,
                             **kwargs)

    return call
