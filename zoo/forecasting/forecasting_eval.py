"""Evaluation of the forecasters: rollouts from the test initial conditions.

Each forecast is warmed up on the `context_length` true states before
one of the `NUM_TEST_ICS` test initial conditions and rolled out
autoregressively for `HORIZON_LYAPUNOV` Lyapunov times (see
`zoo.data.forecasting_systems`); the metrics are those of
`zoo.forecasting.forecasting_metrics`.
"""

import numpy as np

from zoo.data.forecasting_systems import NUM_TEST_ICS
from zoo.data.forecasting_systems import check_system
from zoo.data.forecasting_systems import initial_conditions
from zoo.forecasting.forecasting_metrics import lead_time_index
from zoo.forecasting.forecasting_metrics import nrmse
from zoo.forecasting.forecasting_metrics import power_spectrum_error
from zoo.forecasting.forecasting_metrics import valid_prediction_time


def forecast_errors(model, system, num_ics=NUM_TEST_ICS, horizon=None,
                    split="test"):
    """Rolls the model out from the test initial conditions.

    Args:
        model: a `zoo.forecasting.Forecaster` for the system.
        system: str. A key of `zoo.data.forecasting_systems.SYSTEMS`.
        num_ics: int. Number of initial conditions.
        horizon: int or `None` (`horizon_steps(system)`).
        split: str. `"test"` or `"val"`.

    Returns:
        dict with `prediction` and `truth` (z-scored, `(num_ics,
        horizon, dims)`), `nrmse` `(num_ics, horizon)`, `vpt` (Lyapunov
        times, `(num_ics,)`) and `starts`.

    Example:

    ```python
    out = forecast_errors(zoo.load("rhn_attention_ks"), "ks")
    ```
    """
    cfg = check_system(system)
    warmup, truth, starts = initial_conditions(
        system, model.context_length, num_ics, horizon, split
    )
    prediction = model.rollout(warmup, truth.shape[1])
    # z-scored data: the per-dimension training std is 1.
    error = nrmse(prediction, truth)
    vpt = valid_prediction_time(error, cfg["dt"], cfg["lyapunov"])
    return {"prediction": prediction, "truth": truth, "nrmse": error,
            "vpt": np.atleast_1d(vpt), "starts": starts}


def evaluate_system(model, system, num_ics=NUM_TEST_ICS, split="test"):
    """Forecast metrics over the test initial conditions, computed now.

    Args:
        model: a `zoo.forecasting.Forecaster` for the system.
        system: str. A key of `zoo.data.forecasting_systems.SYSTEMS`.
        num_ics: int. Number of initial conditions.
        split: str. `"test"` or `"val"` (validation trajectory).

    Returns:
        dict with `vpt_lyapunov` (mean) and `vpt_lyapunov_std`,
        `nrmse_1_lyapunov` (mean NRMSE one Lyapunov time ahead),
        `power_spectrum_error_db` (over the horizon), `num_ics`,
        `horizon_lyapunov`, `lyapunov_exponent`, `parameters`.

    Example:

    ```python
    evaluate_system(zoo.load("rhn_attention_lorenz96"), "lorenz96")
    ```
    """
    cfg = check_system(system)
    out = forecast_errors(model, system, num_ics, split=split)
    k = lead_time_index(1.0, cfg["dt"], cfg["lyapunov"])
    return {
        "vpt_lyapunov": float(out["vpt"].mean()),
        "vpt_lyapunov_std": float(out["vpt"].std()),
        "nrmse_1_lyapunov": float(out["nrmse"][:, k].mean()),
        "power_spectrum_error_db": power_spectrum_error(
            out["prediction"], out["truth"]
        ),
        "num_ics": int(num_ics),
        "horizon_lyapunov": float(out["nrmse"].shape[1] * cfg["dt"]
                                  * cfg["lyapunov"]),
        "lyapunov_exponent": cfg["lyapunov"],
        "parameters": int(model.count_params()),
    }


def system_evaluator(system):
    """The evaluator `(model, split="test") -> metrics` of one system.

    The evaluator of a preset (`python -m zoo eval NAME`): the test
    metrics of `evaluate_system` on that system; only the `"test"` split
    is evaluated (the validation trajectory is for choosing training
    settings: call `evaluate_system(..., split="val")`).

    Args:
        system: str. A key of `zoo.data.forecasting_systems.SYSTEMS`.

    Returns:
        A function `evaluate(model, split="test")` returning the metrics
        dict of `evaluate_system`; a split other than `"test"` raises a
        `ValueError`.

    Example:

    ```python
    evaluate = system_evaluator("lorenz96")
    evaluate(zoo.load("rhn_attention_lorenz96"))["vpt_lyapunov"]
    ```
    """
    check_system(system)

    def evaluate(model, split="test"):
        if split != "test":
            raise ValueError(
                "Only the 'test' split is evaluated. Received: "
                f"split={split!r}"
            )
        return evaluate_system(model, system)

    evaluate.__name__ = evaluate.__qualname__ = f"evaluate_{system}"
    evaluate.__doc__ = (f"`evaluate_system` on {system!r} (test split "
                        "only).")
    return evaluate
