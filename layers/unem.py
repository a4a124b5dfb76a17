"""Unrolled-EM (UNEM) transductive few-shot heads, with `keras.ops` only.

Shapes used throughout (a batch of `B` few-shot tasks, all tasks with the
same sizes): support features `(B, Ns, d)`, support labels `(B, Ns)`
(integers in `[0, K)`), query features `(B, Nq, d)`; the heads return
the soft assignments of the queries, `(B, Nq, K)`.
"""

import math

import keras
from keras import ops

from layers._checks import check_choice
from layers._checks import check_number_above
from layers._checks import check_positive_int
from layers.special import digamma
from layers.special import lgamma

OUTPUT_MODES = ("log_probs", "probs")
_LOG_EPS = 1e-6
_DIRICHLET_EPS = 1e-15


def inverse_softplus(y):
    """The raw value `r` with `softplus(r) = y`, for `y > 0`.

    Args:
        y: float. A positive value.

    Returns:
        A Python float, `log(expm1(y))` (computed stably for large `y`).

    Example:

    ```python
    layers.unem.inverse_softplus(math.log1p(math.e))  # 1.0
    ```
    """
    y = float(y)
    if not y > 0:
        raise ValueError(f"`y` must be > 0. Received: y={y!r}")
    if y > 30.0:
        return y + math.log(-math.expm1(-y))
    return math.log(math.expm1(y))


def _one_hot(labels, num_classes):
    return ops.one_hot(ops.cast(labels, "int32"), num_classes,
                       dtype="float32")


def _as_schedule(value, num_layers):
    """A scalar or a per-layer sequence, as a list of `num_layers` tensors."""
    if isinstance(value, (int, float)):
        return [ops.convert_to_tensor(float(value), "float32")] * num_layers
    if isinstance(value, (list, tuple)):
        # One scalar or broadcastable tensor (e.g. `(B, 1, 1)`, one value
        # per task) per layer.
        if len(value) != num_layers:
            raise ValueError(
                f"Expected one value per iteration ({num_layers}). "
                f"Received: {len(value)} values"
            )
        return [ops.cast(v, "float32") for v in value]
    value = ops.cast(ops.convert_to_tensor(value), "float32")
    return [value[i] for i in range(num_layers)]


def _num_iterations(lambdas, temperatures, num_iterations):
    """`num_iterations`, or the length of the first per-layer schedule."""
    if num_iterations is None:
        for value in (lambdas, temperatures):
            if not isinstance(value, (int, float)):
                num_iterations = int(ops.shape(value)[0]) if hasattr(
                    value, "shape") else len(value)
                break
    if num_iterations is None:
        raise ValueError(
            "`num_iterations` is needed when `lambdas` and `temperatures` "
            "are scalars. Received: num_iterations=None"
        )
    return num_iterations


def gaussian_em(
    query,
    support,
    support_labels,
    num_classes,
    lambdas,
    temperatures=1.0,
    scale=1.0,
    num_iterations=None,
    return_log=False,
):
    """The generalised-EM (PADDLE-style) iteration of UNEM-Gaussian.

    With features multiplied by `scale`, centroids `W` started at the
    support class means and log class proportions `V = 1`, each
    iteration `l` does:

    - E-step: `U = softmax((-||z - w_k||^2 / 2 + lambda_l V_k) / T_l)`
      over the `K` classes, for every query `z`;
    - `V = log(mean_n U + 1e-6) + 1` (log class proportions);
    - M-step: `W = (U^T Zq + Us^T Zs) / (sum_n U + sum_s Us)`: query
      samples soft-assigned, support samples hard-assigned by their
      labels and always included (classes absent from the query keep
      their support centroids).

    With a fixed `lambdas` and `temperatures=1` it is the fixed
    hyper-parameter baseline (PADDLE without its min-max scaling); with
    per-layer tensors it is the forward pass of `UNEMGaussianHead`.
    Batched over tasks with `einsum`; float32 throughout.

    Args:
        query: `(B, Nq, d)` query features.
        support: `(B, Ns, d)` support features.
        support_labels: `(B, Ns)` integer labels in `[0, num_classes)`.
        num_classes: int. `K`, the number of classes of every task.
        lambdas: float, or a sequence / 1-D tensor of one class-balance
            weight per iteration. A list element may also be a tensor
            broadcastable to `(B, 1, 1)` (one value per task).
        temperatures: float, or one temperature per iteration (same
            forms as `lambdas`).
        scale: float or scalar tensor multiplying every feature.
        num_iterations: int. Needed when `lambdas` and `temperatures`
            are both scalars; otherwise their length.
        return_log: bool. Return `log U` (from a log-softmax) instead of
            `U`.

    Returns:
        `(B, Nq, K)` float32 soft assignments `U` (or `log U`).

    Example:

    ```python
    u = layers.unem.gaussian_em(q, s, ys, num_classes=16, lambdas=10.0,
                                num_iterations=10)
    u.shape  # (B, Nq, 16)
    ```
    """
    check_positive_int("num_classes", num_classes)
    num_iterations = _num_iterations(lambdas, temperatures, num_iterations)
    check_positive_int("num_iterations", num_iterations)
    lambdas = _as_schedule(lambdas, num_iterations)
    temperatures = _as_schedule(temperatures, num_iterations)
    scale = ops.cast(scale, "float32")
    zq = ops.multiply(ops.cast(query, "float32"), scale)
    zs = ops.multiply(ops.cast(support, "float32"), scale)
    ys = _one_hot(support_labels, num_classes)  # (B, Ns, K)
    support_sum = ops.einsum("bsk,bsd->bkd", ys, zs)
    support_count = ops.expand_dims(ops.sum(ys, axis=1), -1)  # (B, K, 1)
    w = ops.divide(support_sum, ops.maximum(support_count, 1e-12))
    v = ops.ones_like(support_count[..., 0])  # (B, K)
    q_sq = ops.sum(ops.square(zq), axis=-1, keepdims=True)  # (B, Nq, 1)
    log_u = None
    for lam, temp in zip(lambdas, temperatures):
        w_sq = ops.expand_dims(ops.sum(ops.square(w), axis=-1), 1)
        logits = ops.einsum("bqd,bkd->bqk", zq, w)
        logits = logits - 0.5 * w_sq - 0.5 * q_sq
        scores = ops.divide(
            ops.add(logits, ops.multiply(lam, ops.expand_dims(v, 1))), temp
        )
        log_u = ops.log_softmax(scores, axis=-1)
        u = ops.exp(log_u)
        v = ops.log(ops.mean(u, axis=1) + _LOG_EPS) + 1.0
        num = ops.add(ops.einsum("bqk,bqd->bkd", u, zq), support_sum)
        den = ops.add(ops.expand_dims(ops.sum(u, axis=1), -1),
                      support_count)
        w = ops.divide(num, den)
    return log_u if return_log else ops.exp(log_u)


class _UNEMHead(keras.layers.Layer):
    """Shared weights, checks, call and config of the unrolled-EM heads.

    Both heads learn, in float32 and without autocast, the per-layer
    class-balance weights `lambda_l = softplus(gamma_l)`, the per-layer
    temperatures `T_l = 1 + softplus(t_l)` and one more positive scalar
    `softplus(r)`, named by the subclass's `_EXTRA` (weight `<name>_raw`,
    initial value `initial_<name>`). Subclasses set `_EXTRA`, `_SUPPORT`
    (what `support` holds, for the error message), `_CONFIG` (the config
    keys in order) and `_unrolled_em`.
    """

    _EXTRA = None
    _SUPPORT = None
    _CONFIG = ()

    def __init__(self, num_classes, num_layers, initial_lambda,
                 initial_temperature, initial_extra, output_mode, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.num_layers = check_positive_int("num_layers", num_layers)
        extra = f"initial_{self._EXTRA}"
        self.initial_lambda = check_number_above("initial_lambda",
                                                 initial_lambda)
        self.initial_temperature = check_number_above(
            "initial_temperature", initial_temperature, 1.0
        )
        setattr(self, extra, check_number_above(extra, initial_extra))
        self.output_mode = check_choice("output_mode", output_mode,
                                        OUTPUT_MODES)

    def _raw_weight(self, name, shape, value):
        return self.add_weight(
            name=name, shape=shape,
            initializer=keras.initializers.Constant(inverse_softplus(value)),
            autocast=False,
        )

    def build(self, query_shape, support_shape=None,
              support_labels_shape=None):
        per_layer = (self.num_layers,)
        self.gamma = self._raw_weight("gamma", per_layer,
                                      self.initial_lambda)
        self.temperature_raw = self._raw_weight(
            "temperature_raw", per_layer, self.initial_temperature - 1.0
        )
        name = f"{self._EXTRA}_raw"
        setattr(self, name, self._raw_weight(
            name, (), getattr(self, f"initial_{self._EXTRA}")
        ))

    def layer_parameters(self):
        """The current per-layer parameters as float32 tensors.

        Returns:
            A dict with `lambdas` `(L,)`, `temperatures` `(L,)` and the
            head's scalar (`scale` or `feature_temperature`).

        Example:

        ```python
        head.layer_parameters()["lambdas"].shape  # (num_layers,)
        ```
        """
        def positive(raw):
            return ops.softplus(ops.cast(raw, "float32"))

        return {
            "lambdas": positive(self.gamma),
            "temperatures": 1.0 + positive(self.temperature_raw),
            self._EXTRA: positive(getattr(self, f"{self._EXTRA}_raw")),
        }

    def call(self, query, support=None, support_labels=None):
        if support is None or support_labels is None:
            raise ValueError(
                f"{type(self).__name__} needs {self._SUPPORT} and "
                "`support_labels` (B, Ns) call arguments."
            )
        out = self._unrolled_em(
            query, support, support_labels, self.layer_parameters(),
            return_log=self.output_mode == "log_probs",
        )
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, query_shape, support_shape=None,
                             support_labels_shape=None):
        return tuple(query_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in self._CONFIG})
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class UNEMGaussianHead(_UNEMHead):
    """UNEM-Gaussian: unrolled EM with learned per-layer parameters.

    Unrolls `num_layers` iterations of `gaussian_em` and learns, instead
    of grid-searching, the class-balance weight and the temperature of
    every layer, `lambda_l = softplus(gamma_l)` and `T_l = 1 +
    softplus(t_l)`, plus one feature scale `s = softplus(t1)` shared by
    all layers (the `U_PADDLE_EMBT_L` variant of the reference code, 2L
    + 1 scalars). The softplus reparametrisations keep every parameter in
    its domain at large learning rates.

    The layer is transductive: it classifies all queries of a task
    jointly, and its output for one query depends on the others. Support
    samples are hard-assigned by their labels in every M-step.

    Loss (decision): the reference trains with a cross-entropy *on
    logits* applied to the soft assignments `U`, which are already a
    softmax output ("double softmax"). By default this layer returns
    `log U` (`output_mode="log_probs"`), so that the standard
    `SparseCategoricalCrossentropy(from_logits=True)` is the clean
    negative log-likelihood `-log U[y]`; the zoo's `UNEMLoss` offers both
    (`"nll"`, the default, and `"reference"`). NLL is the default because
    it is a proper scoring rule: the double softmax squashes `U` into
    `[0, 1]` before a second softmax, so its loss can never go below
    `log(K) - 1 + ...` and its gradient vanishes on confident tasks; in
    our Gaussian world both reach similar accuracy (see the README).

    Precision: the parameters, the EM iteration and the output are
    float32 whatever the dtype policy (temperatures and `log` of small
    proportions need it); the output is cast to the layer's compute
    dtype, so give the layer a float32 `dtype` under mixed precision.

    Args:
        num_classes: int. `K`, the number of classes of every task.
        num_layers: int. Unrolled EM iterations `L`. Defaults to `10`.
        initial_lambda: float > 0. Initial `lambda_l` of every layer.
            Defaults to `softplus(1) = 1.313`, the reference's raw init 1.
        initial_temperature: float > 1. Initial `T_l`. Defaults to
            `1 + softplus(1)`.
        initial_scale: float > 0. Initial feature scale. Defaults to
            `softplus(1)`.
        output_mode: str. `"log_probs"` (default) or `"probs"`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        query: `(B, Nq, d)` query features.
        support: `(B, Ns, d)` support features.
        support_labels: `(B, Ns)` integer labels in `[0, num_classes)`.

    Example:

    ```python
    head = layers.UNEMGaussianHead(num_classes=3, num_layers=4)
    q = np.random.rand(2, 5, 8).astype("float32")
    s = np.random.rand(2, 6, 8).astype("float32")
    ys = np.array([[0, 0, 1, 1, 2, 2]] * 2)
    head(q, support=s, support_labels=ys).shape  # (2, 5, 3)
    ```

    Reference:
    - [Zhou et al., 2025](https://arxiv.org/abs/2412.16739), "UNEM:
      UNrolled generalized EM for transductive few-shot learning"
      (CVPR 2025).
    - [Martin et al., 2022](https://arxiv.org/abs/2205.14144), "Towards
      Practical Few-shot Query Sets: Transductive Minimum Description
      Length Inference" (PADDLE, the fixed-parameter iteration).
    """


    _EXTRA = "scale"
    _SUPPORT = "`support` (B, Ns, d)"
    _CONFIG = ("num_classes", "num_layers", "initial_lambda",
               "initial_temperature", "initial_scale", "output_mode")

    def __init__(
        self,
        num_classes,
        num_layers=10,
        initial_lambda=None,
        initial_temperature=None,
        initial_scale=None,
        output_mode="log_probs",
        **kwargs,
    ):
        default = math.log1p(math.e)  # softplus(1)
        super().__init__(
            num_classes,
            num_layers,
            default if initial_lambda is None else initial_lambda,
            1.0 + default if initial_temperature is None
            else initial_temperature,
            default if initial_scale is None else initial_scale,
            output_mode,
            **kwargs,
        )

    def _unrolled_em(self, query, support, support_labels, params,
                     return_log):
        return gaussian_em(
            query,
            support,
            support_labels,
            self.num_classes,
            params["lambdas"],
            params["temperatures"],
            params["scale"],
            num_iterations=self.num_layers,
            return_log=return_log,
        )


def dirichlet_mm_step(alpha, mean_log):
    """One majorise-minimise step of the Dirichlet maximum likelihood.

    Maximises `lgamma(sum_j a_j) - sum_j lgamma(a_j) + sum_j (a_j - 1)
    ybar_j` for every class row: with `a = curvature(alpha)` and `b =
    psi(alpha + 1) - psi(sum alpha) - a alpha - ybar`, the new `alpha` is
    the positive root `(-b + sqrt(b^2 + 4 a)) / (2 a)`. Its fixed point
    satisfies `psi(alpha_j) - psi(sum alpha) = ybar_j`, the MLE.

    Args:
        alpha: `(..., K)` positive concentrations.
        mean_log: `(..., K)` mean log-features `ybar` of the class.

    Returns:
        The updated `alpha`, same shape, positive.

    Example:

    ```python
    alpha = layers.unem.dirichlet_mm_step(alpha, mean_log)
    ```
    """
    a1 = ops.add(alpha, 1.0)
    psi1 = digamma(a1)
    # curvature |2 (lgamma(1) - lgamma(alpha + 1) + psi(alpha + 1) alpha)
    # / alpha^2|, with lgamma(1) = 0.
    a = ops.subtract(ops.multiply(psi1, alpha), lgamma(a1))
    a = ops.abs(ops.divide(ops.multiply(2.0, a), ops.square(alpha)))
    a = ops.add(a, 1e-12)
    total = ops.sum(alpha, axis=-1, keepdims=True)
    b = ops.subtract(psi1, digamma(total))
    b = ops.subtract(ops.subtract(b, ops.multiply(a, alpha)), mean_log)
    root = ops.sqrt(ops.add(ops.square(b), ops.multiply(4.0, a)))
    return ops.divide(ops.subtract(root, b), ops.multiply(2.0, a))


def dirichlet_em(
    query_log_features,
    support_log_features,
    support_labels,
    num_classes,
    lambdas,
    temperatures=1.0,
    num_iterations=None,
    mm_steps=10,
    return_log=False,
):
    """The EM-Dirichlet iteration of UNEM-Dirichlet on log-probabilities.

    Features are `log x` with `x` a probability vector (e.g. a zero-shot
    classifier's softmax over the same `K` classes). Starting from `U =
    x_query` and `alpha = 1`, each iteration:
    mean log-features per class `ybar_k` (support hard-assigned, queries
    weighted by `U`); `mm_steps` majorise-minimise updates of the class
    concentrations `alpha_k` (`dirichlet_mm_step`); `V = log(mean_n U +
    eps) + 1`; Dirichlet log-likelihoods `log p_nk`; `U = softmax((log p +
    lambda_l V) / T_l)`.

    Decision: the reference runs up to 1000 inner MM steps with a
    tolerance check; here the number is fixed (`mm_steps`), so the
    iteration traces once under jit and the memory of backpropagation
    through it stays small on CPU.

    Args:
        query_log_features: `(B, Nq, K)` log-probabilities of the queries.
        support_log_features: `(B, Ns, K)` log-probabilities of the
            support samples.
        support_labels: `(B, Ns)` integer labels.
        num_classes: int. `K`.
        lambdas: float or one class-balance weight per iteration.
        temperatures: float or one temperature per iteration.
        num_iterations: int. Needed when both schedules are scalars.
        mm_steps: int. Inner MM steps per iteration.
        return_log: bool. Return `log U`.

    Returns:
        `(B, Nq, K)` float32 soft assignments (or their log).

    Example:

    ```python
    u = layers.unem.dirichlet_em(log_xq, log_xs, ys, num_classes=5,
                                 lambdas=20.0, num_iterations=5)
    ```
    """
    check_positive_int("num_classes", num_classes)
    check_positive_int("mm_steps", mm_steps)
    num_iterations = _num_iterations(lambdas, temperatures, num_iterations)
    lambdas = _as_schedule(lambdas, num_iterations)
    temperatures = _as_schedule(temperatures, num_iterations)
    lq = ops.cast(query_log_features, "float32")
    ls = ops.cast(support_log_features, "float32")
    ys = _one_hot(support_labels, num_classes)
    support_sum = ops.einsum("bsk,bsj->bkj", ys, ls)  # (B, K, K)
    support_count = ops.expand_dims(ops.sum(ys, axis=1), -1)
    u = ops.exp(lq)
    u = ops.divide(u, ops.sum(u, axis=-1, keepdims=True))
    alpha = ops.ones_like(support_sum)
    log_u = ops.log(u + _DIRICHLET_EPS)
    for lam, temp in zip(lambdas, temperatures):
        num = ops.add(ops.einsum("bqk,bqj->bkj", u, lq), support_sum)
        den = ops.add(ops.expand_dims(ops.sum(u, axis=1), -1),
                      support_count)
        mean_log = ops.divide(num, ops.maximum(den, 1e-12))
        for _ in range(mm_steps):
            alpha = dirichlet_mm_step(alpha, mean_log)
        v = ops.log(ops.mean(u, axis=1) + _LOG_EPS) + 1.0
        norm = ops.subtract(lgamma(ops.sum(alpha, axis=-1)),
                            ops.sum(lgamma(alpha), axis=-1))  # (B, K)
        logp = ops.einsum("bqj,bkj->bqk", lq, ops.subtract(alpha, 1.0))
        logp = ops.add(logp, ops.expand_dims(norm, 1))
        scores = ops.divide(
            ops.add(logp, ops.multiply(lam, ops.expand_dims(v, 1))), temp
        )
        log_u = ops.log_softmax(scores, axis=-1)
        u = ops.exp(log_u)
    return log_u if return_log else ops.exp(log_u)


@keras.saving.register_keras_serializable(package="hyperzoo")
class UNEMDirichletHead(_UNEMHead):
    """UNEM-Dirichlet: unrolled EM-Dirichlet on probability features.

    For probability features such as the softmax of zero-shot logits.
    The inputs are raw logits `l` (e.g. image-text similarities); the
    layer forms `x = softmax(tau * l)` with a learned feature temperature
    `tau = softplus(tau_raw)` (decision: the reference learns `tau` raw;
    the softplus keeps it positive), takes `log(x + 1e-15)` and unrolls
    `num_layers` iterations of `dirichlet_em` with per-layer `lambda_l =
    softplus(gamma_l)` and `T_l = 1 + softplus(t_l)` (2L + 1 scalars).
    Each layer runs a fixed number `mm_steps` of majorise-minimise steps
    for the Dirichlet parameters (the reference: up to 1000 with early
    stopping; fixed here so jit traces once). Output and losses as in
    `UNEMGaussianHead` (`log U` by default).

    Args:
        num_classes: int. `K`: classes per task and size of the logits.
        num_layers: int. Unrolled iterations. Defaults to `10`.
        mm_steps: int. MM steps per layer. Defaults to `10`.
        initial_lambda: float > 0. Defaults to `softplus(20)` (the
            reference's raw init 20).
        initial_temperature: float > 1. Defaults to `1 + softplus(1)`.
        initial_feature_temperature: float > 0. Initial `tau`. Defaults
            to `30` (the reference's init).
        output_mode: str. `"log_probs"` (default) or `"probs"`.
        **kwargs: base layer keyword arguments.

    Call arguments:
        query: `(B, Nq, K)` query logits.
        support: `(B, Ns, K)` support logits.
        support_labels: `(B, Ns)` integer labels.

    Example:

    ```python
    head = layers.UNEMDirichletHead(num_classes=3, num_layers=3)
    lq = np.random.rand(2, 5, 3).astype("float32")
    ls = np.random.rand(2, 6, 3).astype("float32")
    ys = np.array([[0, 0, 1, 1, 2, 2]] * 2)
    head(lq, support=ls, support_labels=ys).shape  # (2, 5, 3)
    ```

    Reference:
    - [Zhou et al., 2025](https://arxiv.org/abs/2412.16739), "UNEM:
      UNrolled generalized EM for transductive few-shot learning".
    - [Martin et al., 2024](https://arxiv.org/abs/2403.06697),
      "Transductive Zero-Shot and Few-Shot CLIP" (EM-Dirichlet).
    """


    _EXTRA = "feature_temperature"
    _SUPPORT = "`support` (B, Ns, K) logits"
    _CONFIG = ("num_classes", "num_layers", "mm_steps", "initial_lambda",
               "initial_temperature", "initial_feature_temperature",
               "output_mode")

    def __init__(
        self,
        num_classes,
        num_layers=10,
        mm_steps=10,
        initial_lambda=None,
        initial_temperature=None,
        initial_feature_temperature=30.0,
        output_mode="log_probs",
        **kwargs,
    ):
        mm_steps = check_positive_int("mm_steps", mm_steps)
        super().__init__(
            num_classes,
            num_layers,
            math.log1p(math.exp(20.0)) if initial_lambda is None
            else initial_lambda,
            1.0 + math.log1p(math.e) if initial_temperature is None
            else initial_temperature,
            initial_feature_temperature,
            output_mode,
            **kwargs,
        )
        self.mm_steps = mm_steps

    def build(self, query_shape, support_shape=None,
              support_labels_shape=None):
        if query_shape[-1] is not None and \
                int(query_shape[-1]) != self.num_classes:
            raise ValueError(
                "UNEMDirichletHead takes logits over the `num_classes` "
                f"classes: the last query dimension must be "
                f"{self.num_classes}. Received: query_shape={query_shape}"
            )
        super().build(query_shape, support_shape, support_labels_shape)

    def _unrolled_em(self, query, support, support_labels, params,
                     return_log):
        tau = params["feature_temperature"]

        def log_features(logits):
            x = ops.softmax(ops.multiply(ops.cast(logits, "float32"), tau))
            return ops.log(x + _DIRICHLET_EPS)

        return dirichlet_em(
            log_features(query),
            log_features(support),
            support_labels,
            self.num_classes,
            params["lambdas"],
            params["temperatures"],
            num_iterations=self.num_layers,
            mm_steps=self.mm_steps,
            return_log=return_log,
        )
