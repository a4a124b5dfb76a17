"""Pareto-set learning blocks: a GP posterior in `keras.ops`, SVGD.

Used by the SVH-PSL family (`zoo.svh_psl`): a preference hypernetwork
`r -> x` is trained against the lower confidence bound (LCB) of Gaussian
process surrogates of expensive objectives, either directly (PSL) or by
Stein variational gradient descent over the solutions of a batch of
preferences (SVH-PSL).

The GP hyperparameters are fitted elsewhere (by a maintained GP library,
scikit-learn in the zoo); `GaussianProcessPosterior` only holds the
fitted state and evaluates the exact posterior mean and standard
deviation with `keras.ops`, so the LCB is differentiable with respect to
`x` on every backend. It also returns the LCB's gradient in closed form,
which the SVGD update needs inside a Keras training step (where no
backend gradient call is available).
"""

import math

import keras
from keras import ops

from layers._checks import check_choice
from layers._checks import check_number_above
from layers._checks import check_positive_int
from layers._config import ConfigMixin

KERNELS = ("matern52", "rbf")
_SQRT5 = math.sqrt(5.0)


def _check_beta(beta):
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or \
            not beta >= 0:
        raise ValueError(f"`beta` must be a number >= 0. Received: {beta!r}")
    return float(beta)


@keras.saving.register_keras_serializable(package="hyperzoo")
class GaussianProcessPosterior(ConfigMixin, keras.layers.Layer):
    """Exact GP posterior (one GP per output) and its LCB, in `keras.ops`.

    Holds a fitted GP as non-trainable weights: the training inputs
    `train_x` (zero padded up to `num_train` rows), per output `m` the
    dual weights `alpha_m = K_m^-1 y_m` and the inverse `L_m^-1` of the
    Cholesky factor of the Gram matrix `K_m = L_m L_m^T` (both zero on
    padded rows and columns, which makes padding exact; `L^-1` rather
    than `K^-1` because `|L^-1 k|^2` keeps the variance accurate in
    float32 where `k^T K^-1 k` cancels catastrophically), the ARD
    lengthscales, the signal variance and the
    normalisation `(y_mean, y_std)` of the targets. With the ARD kernel
    `k_m` (Matern 5/2 or RBF):

    - `mean_m(x) = y_mean_m + y_std_m k_m(x, X) alpha_m`;
    - `var_m(x) = y_std_m^2 (k_m(x, x) - |L_m^-1 k_m(X, x)|^2)`,
      clipped below at `(min_std / y_std_m)^2`;
    - `call` returns `LCB_m(x) = mean_m(x) - beta * std_m(x)`.

    This is what scikit-learn's `GaussianProcessRegressor.predict(X,
    return_std=True)` computes with `normalize_y=True` and a kernel
    `ConstantKernel * Matern(nu=2.5)` (or `* RBF`); `set_posterior`
    takes the fitted quantities. `lcb_and_gradient` also returns
    `d LCB / dx` in closed form.

    Inputs are cast to float32 and the weights are not autocast (the
    posterior loses too much in float16); outputs come back in the
    compute dtype.

    Args:
        num_train: int. Capacity: the largest number of training points.
        input_dim: int. Size of `x`.
        num_outputs: int. Number of objectives (independent GPs).
        kernel: str. `"matern52"` or `"rbf"`.
        beta: float >= 0. LCB coefficient.
        min_std: float > 0. Floor of the predicted standard deviation.
        seed: int or `None`. Seed of the placeholder state drawn at build
            time (random inputs and dual weights, before `set_posterior`).
        **kwargs: base layer keyword arguments.

    Example:

    ```python
    gp = layers.GaussianProcessPosterior(20, input_dim=6, num_outputs=2)
    gp.build((None, 6))
    gp.set_posterior(train_x, alpha, chol_inv, lengthscales, amplitudes,
                     y_mean, y_std)
    lcb = gp(x)                               # (batch, 2)
    lcb, grad = gp.lcb_and_gradient(x)        # grad: (batch, 2, 6)
    ```

    Reference:
    - Rasmussen & Williams, 2006, "Gaussian Processes for Machine
      Learning", ch. 2 (posterior) and 4 (Matern kernels).
    - [Nguyen et al., 2025](https://arxiv.org/abs/2412.17312), "Improving
      Pareto Set Learning for Expensive Multi-objective Optimization via
      Stein Variational Hypernetworks", AAAI 2025.
    """

    def __init__(self, num_train, input_dim, num_outputs, kernel="matern52",
                 beta=0.1, min_std=1e-6, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._set_config(
            num_train=check_positive_int("num_train", num_train),
            input_dim=check_positive_int("input_dim", input_dim),
            num_outputs=check_positive_int("num_outputs", num_outputs),
            kernel=check_choice("kernel", kernel, KERNELS),
            beta=_check_beta(beta),
            min_std=float(check_number_above("min_std", min_std)),
            seed=seed,
        )

    def build(self, inputs_shape):
        n, d, m = self.num_train, self.input_dim, self.num_outputs
        seed = self.seed

        def weight(name, shape, initializer):
            # Read in float32 even under mixed precision (no autocast).
            return self.add_weight(name=name, shape=shape, dtype="float32",
                                   initializer=initializer, trainable=False,
                                   autocast=False)

        self.train_x = weight("train_x", (n, d),
                              keras.initializers.RandomUniform(0, 1, seed))
        self.alpha = weight("alpha", (m, n), keras.initializers.RandomNormal(
            0, 1, None if seed is None else seed + 1))
        self.chol_inv = weight("chol_inv", (m, n, n), "zeros")
        self.lengthscales = weight("lengthscales", (m, d), "ones")
        self.amplitudes = weight("amplitudes", (m,), "ones")
        self.y_mean = weight("y_mean", (m,), "zeros")
        self.y_std = weight("y_std", (m,), "ones")
        self.built = True

    def set_posterior(self, train_x, alpha, chol_inv, lengthscales,
                      amplitudes, y_mean, y_std):
        """Loads a fitted GP (numpy arrays), zero padding to `num_train`.

        Args:
            train_x: array `(n, input_dim)`, `n <= num_train`.
            alpha: array `(num_outputs, n)`: `K^-1 y` of each output's
                normalised targets.
            chol_inv: array `(num_outputs, n, n)`: inverses of the
                lower Cholesky factors of the Gram matrices (noise or
                jitter included).
            lengthscales: array `(num_outputs, input_dim)`.
            amplitudes: array `(num_outputs,)`: signal variances.
            y_mean: array `(num_outputs,)`.
            y_std: array `(num_outputs,)`.
        """
        import numpy as np

        if not self.built:
            self.build((None, self.input_dim))
        train_x = np.asarray(train_x, "float32")
        n = len(train_x)
        if n > self.num_train:
            raise ValueError(
                f"At most num_train={self.num_train} training points. "
                f"Received: {n}")
        pad = self.num_train - n
        self.train_x.assign(np.pad(train_x, ((0, pad), (0, 0))))
        self.alpha.assign(np.pad(np.asarray(alpha, "float32"),
                                 ((0, 0), (0, pad))))
        self.chol_inv.assign(np.pad(np.asarray(chol_inv, "float32"),
                                 ((0, 0), (0, pad), (0, pad))))
        self.lengthscales.assign(np.asarray(lengthscales, "float32"))
        self.amplitudes.assign(np.asarray(amplitudes, "float32"))
        self.y_mean.assign(np.asarray(y_mean, "float32"))
        self.y_std.assign(np.asarray(y_std, "float32"))

    def _kernel(self, x):
        """`k (batch, m, n)`, `dk/dx` factor and scaled differences."""
        x = ops.cast(x, "float32")
        ls = ops.convert_to_tensor(self.lengthscales)
        diff = ((x[:, None, None, :] - self.train_x[None, None, :, :])
                / ls[None, :, None, :])                    # (b, m, n, d)
        r2 = ops.sum(ops.square(diff), axis=-1)
        amp = ops.convert_to_tensor(self.amplitudes)[None, :, None]
        if self.kernel == "rbf":
            k = amp * ops.exp(-0.5 * r2)
            # dk/dx = factor * diff / lengthscale
            factor = -k
        else:
            r = ops.sqrt(ops.maximum(r2, 1e-12))
            e = ops.exp(-_SQRT5 * r)
            k = amp * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e
            factor = -amp * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * e
        return k, factor, diff / ls[None, :, None, :]

    def _moments(self, k):
        """Normalised mean, variance and `K^-1 k` from `k (b, m, n)`."""
        mean = ops.sum(k * self.alpha[None], axis=-1)
        v = ops.einsum("mjn,bmn->bmj", self.chol_inv, k)     # L^-1 k
        k_inv_k = ops.einsum("mjn,bmj->bmn", self.chol_inv, v)
        var = ops.convert_to_tensor(self.amplitudes)[None] - ops.sum(
            ops.square(v), axis=-1)
        floor = ops.square(self.min_std / self.y_std)[None]
        return mean, ops.maximum(var, floor), k_inv_k, var > floor

    def posterior(self, x):
        """Posterior mean and standard deviation.

        Args:
            x: tensor `(batch, input_dim)`.

        Returns:
            `(mean, std)`, each float32 `(batch, num_outputs)`.
        """
        k, _, _ = self._kernel(x)
        mean, var, _, _ = self._moments(k)
        return (mean * self.y_std[None] + self.y_mean[None],
                ops.sqrt(var) * self.y_std[None])

    def call(self, inputs):
        mean, std = self.posterior(inputs)
        return ops.cast(mean - self.beta * std, self.compute_dtype)

    def lcb_and_gradient(self, x):
        """The LCB and its gradient with respect to `x`, in closed form.

        Args:
            x: tensor `(batch, input_dim)`.

        Returns:
            `(lcb, grad)`: float32 `(batch, num_outputs)` and
            `(batch, num_outputs, input_dim)`.
        """
        k, factor, dr = self._kernel(x)
        mean, var, k_inv_k, active = self._moments(k)
        dk = factor[..., None] * dr                        # (b, m, n, d)
        d_mean = ops.sum(self.alpha[None, :, :, None] * dk, axis=2)
        d_var = -2.0 * ops.sum(k_inv_k[..., None] * dk, axis=2)
        std = ops.sqrt(var)
        d_std = ops.where(active[..., None],
                          d_var / (2.0 * std[..., None]), 0.0)
        scale = self.y_std[None, :, None]
        lcb = (mean - self.beta * std) * self.y_std[None] + self.y_mean[None]
        return lcb, (d_mean - self.beta * d_std) * scale

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.num_outputs,)


def tchebycheff(values, preferences, ideal, scale):
    """Tchebycheff scalarisation `max_k r_k (f_k - z_k) / s_k`.

    Args:
        values: tensor `(batch, m)` of objective values (or their LCB).
        preferences: tensor `(batch, m)` on the simplex.
        ideal: tensor `(m,)`, the ideal point `z`.
        scale: tensor `(m,)`, positive normalisation `s`.

    Returns:
        Tensor `(batch,)`.

    Example:

    ```python
    g = layers.svh_psl.tchebycheff(lcb, r, ideal, scale)
    ```
    """
    values = ops.convert_to_tensor(values)
    preferences, ideal, scale = (ops.cast(t, values.dtype)
                                 for t in (preferences, ideal, scale))
    terms = preferences * (values - ideal[None]) / scale[None]
    return ops.max(terms, axis=-1)


def tchebycheff_gradient(values, value_grads, preferences, ideal, scale):
    """Gradient of `tchebycheff` w.r.t. `x` from `d values / dx`.

    The max picks one objective per row (the first on ties); the
    gradient is that objective's `r_k / s_k * d f_k / dx` (the
    subgradient autodiff would also return).

    Args:
        values: tensor `(batch, m)`.
        value_grads: tensor `(batch, m, d)`.
        preferences: tensor `(batch, m)`.
        ideal: tensor `(m,)`.
        scale: tensor `(m,)`.

    Returns:
        Tensor `(batch, d)`.

    Example:

    ```python
    lcb, dlcb = gp.lcb_and_gradient(x)
    g = layers.svh_psl.tchebycheff_gradient(lcb, dlcb, r, ideal, scale)
    ```
    """
    values = ops.convert_to_tensor(values)
    value_grads = ops.cast(value_grads, values.dtype)
    preferences, ideal, scale = (ops.cast(t, values.dtype)
                                 for t in (preferences, ideal, scale))
    weights = preferences / scale[None]
    terms = weights * (values - ideal[None])
    pick = ops.one_hot(ops.argmax(terms, axis=-1), ops.shape(terms)[-1],
                       dtype=value_grads.dtype)
    return ops.sum((pick * weights)[..., None] * value_grads, axis=1)


def svgd_direction(particles, grad_log_p, bandwidth=None):
    """Stein variational gradient direction with an RBF kernel.

    `phi(x_i) = (1/n) sum_j [k(x_j, x_i) grad log p(x_j)
    + grad_{x_j} k(x_j, x_i)]`, `k(x, y) = exp(-|x - y|^2 / h)`, with the
    median heuristic `h = med(|x_i - x_j|^2) / log(n + 1)` by default.
    Ascending `phi` moves the particles towards high `p` (first term)
    while the second term repels them from each other.

    Args:
        particles: tensor `(n, d)`.
        grad_log_p: tensor `(n, d)`: `grad log p` at each particle.
        bandwidth: float or `None` (median heuristic).

    Returns:
        Tensor `(n, d)`.

    Example:

    ```python
    phi = layers.svh_psl.svgd_direction(x, -grad_g)
    ```

    Reference:
    - [Liu & Wang, 2016](https://arxiv.org/abs/1608.04471), "Stein
      Variational Gradient Descent".
    """
    x = ops.convert_to_tensor(particles)
    grad_log_p = ops.cast(grad_log_p, x.dtype)
    sq = ops.sum(ops.square(x[:, None, :] - x[None, :, :]), axis=-1)
    n = ops.shape(x)[0]
    if bandwidth is None:
        h = ops.median(ops.stop_gradient(sq)) / math.log(float(n) + 1.0)
        h = ops.maximum(h, 1e-8)
    else:
        h = float(bandwidth)
    k = ops.exp(-sq / h)
    drive = ops.matmul(k, grad_log_p)
    repulse = (2.0 / h) * (x * ops.sum(k, axis=1, keepdims=True)
                           - ops.matmul(k, x))
    return (drive + repulse) / ops.cast(n, x.dtype)
