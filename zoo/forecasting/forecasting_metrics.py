"""Forecast metrics: NRMSE, valid prediction time, power-spectrum error.

Numpy only, as in Vlachas et al. (2020) (`computeErrors`): the error of a
forecast is normalised per dimension by the standard deviation of the
training data, and the valid prediction time is the lead time before the
normalised error first exceeds a threshold (0.5), in Lyapunov times.
"""

import numpy as np

VPT_THRESHOLD = 0.5


def _pair(prediction, truth):
    prediction = np.asarray(prediction, "float64")
    truth = np.asarray(truth, "float64")
    if prediction.shape != truth.shape or prediction.ndim < 2:
        raise ValueError(
            "`prediction` and `truth` must have the same shape (..., time, "
            f"dims). Received: prediction.shape={prediction.shape}, "
            f"truth.shape={truth.shape}"
        )
    return prediction, truth


def nrmse(prediction, truth, std=None):
    """Normalised root-mean-square error at every lead time.

    `NRMSE(t) = sqrt(mean_i ((pred_i(t) - truth_i(t)) ** 2 / std_i ** 2))`.

    Args:
        prediction: array `(..., time, dims)`.
        truth: array of the same shape.
        std: array `(dims,)` (per-dimension training std) or `None`
            (1, for z-scored data).

    Returns:
        float64 array `(..., time)`.

    Example:

    ```python
    nrmse(np.zeros((5, 3)), np.ones((5, 3)), std=np.full(3, 2.0))
    # array([0.5, 0.5, 0.5, 0.5, 0.5])
    ```
    """
    prediction, truth = _pair(prediction, truth)
    err = prediction - truth
    if std is not None:
        std = np.asarray(std, "float64")
        if std.shape != (truth.shape[-1],) or not np.all(std > 0):
            raise ValueError(
                "`std` must be positive with shape (dims,) = "
                f"({truth.shape[-1]},). Received: std.shape={std.shape}"
            )
        err = err / std
    return np.sqrt(np.mean(err ** 2, axis=-1))


def valid_prediction_time(error, dt, lyapunov_exponent,
                          threshold=VPT_THRESHOLD):
    """Lead time before the error first exceeds `threshold` (Lyapunov t).

    With `error[k]` the NRMSE at lead time `(k + 1) dt`, the valid
    prediction time is `k* dt lambda_1`, `k*` the first index with
    `error > threshold` (so 0 if the first step already fails); a
    forecast that never fails gets its whole horizon `len(error) dt
    lambda_1` (a lower bound).

    Args:
        error: array `(..., time)` of NRMSE values.
        dt: float. Time between steps.
        lyapunov_exponent: float. Largest Lyapunov exponent `lambda_1`.
        threshold: float. Error threshold (0.5).

    Returns:
        float64 array `(...)` (a float for 1-D `error`).

    Example:

    ```python
    valid_prediction_time([0.1, 0.3, 0.6, 0.2], dt=0.5,
                          lyapunov_exponent=2.0)  # 2.0
    ```
    """
    error = np.asarray(error, "float64")
    if error.ndim < 1 or error.shape[-1] < 1:
        raise ValueError(
            "`error` must have a time axis. Received: "
            f"error.shape={error.shape}"
        )
    if not dt > 0 or not lyapunov_exponent > 0:
        raise ValueError(
            "`dt` and `lyapunov_exponent` must be positive. Received: "
            f"dt={dt!r}, lyapunov_exponent={lyapunov_exponent!r}"
        )
    failed = error > threshold
    first = np.where(failed.any(axis=-1), failed.argmax(axis=-1),
                     error.shape[-1])
    vpt = first * dt * lyapunov_exponent
    return float(vpt) if np.ndim(vpt) == 0 else vpt


def power_spectrum_error(prediction, truth):
    """Mean absolute difference of the spatial power spectra in dB.

    Spectra `|rfft(u, axis=-1)|^2 / dims^2` are averaged over every
    leading axis (time, initial conditions), converted to dB and compared
    mode by mode (the mean mode included).

    Args:
        prediction: array `(..., time, dims)`.
        truth: array of the same shape.

    Returns:
        A float (dB).

    Example:

    ```python
    u = np.random.rand(10, 8)
    power_spectrum_error(u, u)  # 0.0
    ```
    """
    prediction, truth = _pair(prediction, truth)
    n = truth.shape[-1]

    def spectrum(u):
        p = np.abs(np.fft.rfft(u, axis=-1)) ** 2 / n ** 2
        return 10 * np.log10(p.reshape(-1, p.shape[-1]).mean(axis=0)
                             + 1e-12)

    return float(np.mean(np.abs(spectrum(prediction) - spectrum(truth))))


def lead_time_index(lyapunov_times, dt, lyapunov_exponent):
    """Index of the lead time closest to `lyapunov_times` (0-based).

    Lead time of index `k` is `(k + 1) dt`.

    Args:
        lyapunov_times: float. Lead time in Lyapunov times.
        dt: float. Time between steps.
        lyapunov_exponent: float. `lambda_1`.

    Returns:
        An int >= 0.

    Example:

    ```python
    lead_time_index(1.0, dt=0.05, lyapunov_exponent=1.68)  # 11
    ```
    """
    steps = lyapunov_times / (dt * lyapunov_exponent)
    return max(0, int(round(steps)) - 1)
