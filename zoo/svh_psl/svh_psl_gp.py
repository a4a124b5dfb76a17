"""GP surrogates: scikit-learn fits, `layers.GaussianProcessPosterior` runs.

Decision (issue 20): the GP hyperparameters (ARD lengthscales, signal
variance) are fitted by scikit-learn's `GaussianProcessRegressor`, a
maintained library, by maximising the log marginal likelihood. The
fitted posterior is then evaluated with `keras.ops` by
`layers.GaussianProcessPosterior` (same formulas as `predict`, checked
against it by `tests/test_svh_psl.py`), so that the LCB is
differentiable with respect to `x` on every backend and runs inside the
jitted training step of the preference hypernetwork.
"""

import numpy as np
from scipy.linalg import solve_triangular

from layers.svh_psl import GaussianProcessPosterior

JITTER = 1e-5


def _sklearn_gp(input_dim, kernel, seed, restarts):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF
    from sklearn.gaussian_process.kernels import ConstantKernel
    from sklearn.gaussian_process.kernels import Matern

    ls = np.ones(input_dim)
    if kernel == "rbf":
        base = RBF(length_scale=ls, length_scale_bounds=(1e-2, 20.0))
    else:
        base = Matern(length_scale=ls, length_scale_bounds=(1e-2, 20.0),
                      nu=2.5)
    return GaussianProcessRegressor(
        ConstantKernel(1.0, (1e-2, 10.0)) * base, alpha=JITTER,
        normalize_y=True, n_restarts_optimizer=restarts,
        random_state=seed)


def fit_gp(x, y, kernel="matern52", seed=0, restarts=0):
    """Fits one scikit-learn GP per objective.

    Kernel `ConstantKernel * Matern(nu=2.5)` (or `* RBF`) with ARD
    lengthscales in `[0.01, 100]`, `normalize_y=True`, jitter `1e-5`.

    Args:
        x: array `(n, d)` of evaluated inputs.
        y: array `(n, m)` of objective values.
        kernel: str. `"matern52"` or `"rbf"`.
        seed: int. Seed of the optimiser restarts.
        restarts: int. Extra random restarts of the hyperparameter fit.

    Returns:
        `(state, models)`: `state` is the dict of arrays that
        `GaussianProcessPosterior.set_posterior` takes; `models` the
        fitted `GaussianProcessRegressor`s.

    Example:

    ```python
    state, gps = fit_gp(x, y)
    gp_layer.set_posterior(**state)
    ```
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    x = np.asarray(x, "float64")
    y = np.asarray(y, "float64")
    models, alpha, chol_inv, ls, amp, mean, std = [], [], [], [], [], [], []
    eye = np.eye(len(x))
    for j in range(y.shape[1]):
        gp = _sklearn_gp(x.shape[1], kernel, seed, restarts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x, y[:, j])
        models.append(gp)
        alpha.append(np.ravel(gp.alpha_))
        chol_inv.append(solve_triangular(gp.L_, eye, lower=True))
        ls.append(np.broadcast_to(gp.kernel_.k2.length_scale,
                                  (x.shape[1],)))
        amp.append(gp.kernel_.k1.constant_value)
        mean.append(float(np.ravel(gp._y_train_mean)[0]))
        std.append(float(np.ravel(gp._y_train_std)[0]))
    state = dict(train_x=x, alpha=np.stack(alpha), chol_inv=np.stack(chol_inv),
                 lengthscales=np.stack(ls), amplitudes=np.array(amp),
                 y_mean=np.array(mean), y_std=np.array(std))
    return state, models


def gp_layer(num_train, input_dim, num_outputs, kernel="matern52",
             beta=0.1, state=None):
    """A built `layers.GaussianProcessPosterior`, optionally loaded.

    Args:
        num_train: int. Capacity (the evaluation budget).
        input_dim: int.
        num_outputs: int.
        kernel: str.
        beta: float. LCB coefficient.
        state: dict from `fit_gp`, or `None`.

    Returns:
        The layer.

    Example:

    ```python
    layer = gp_layer(45, 6, 2, state=fit_gp(x, y)[0])
    ```
    """
    layer = GaussianProcessPosterior(num_train, input_dim, num_outputs,
                                     kernel=kernel, beta=beta,
                                     dtype="float32")
    layer.build((None, input_dim))
    if state is not None:
        layer.set_posterior(**state)
    return layer
