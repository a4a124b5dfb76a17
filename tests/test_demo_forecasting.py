"""Tests of the forecasting demo tab (`demos/forecasting.py`).

Unmarked tests (every backend) check the pictures and the argument
errors; `once` tests call `predict` with tiny untrained forecasters
(`build_tiny_model`) and build (not launch) the demo and the hub. The
`@pytest.mark.demo` test launches the hub and calls its endpoint with
`gradio_client`. No bundled preset is needed.
"""

import gradio as gr
import numpy as np
import pytest

from demos import forecasting as fc
from demos import hub as hub_module
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import hub_tabs
from tests.demo_helpers import serve
from zoo.data import forecasting_systems as recipes
from zoo.forecasting.forecasting_metrics import nrmse
from zoo.forecasting.forecasting_metrics import valid_prediction_time


@pytest.fixture(scope="module")
def models():
    return fc.build_tiny_model()


def _is_picture(array, shape):
    return (isinstance(array, np.ndarray) and array.dtype == np.uint8
            and array.shape == shape)


@pytest.mark.once
def test_predict_matches_rollout_and_metrics(models):
    summary, spacetime, curve = fc.predict("ks", 3, models)
    model = models["ks"]
    warmup, truth, _ = recipes.initial_conditions("ks", model.context_length)
    forecast = model.rollout(warmup[3:4], truth.shape[1])
    vpt = valid_prediction_time(nrmse(forecast, truth[3:4])[0], 1.0, 0.047)
    assert f"valid prediction time **{vpt:.2f}**" in summary
    assert "initial condition **#3**" in summary
    assert _is_picture(spacetime, (320, 900, 3))
    assert _is_picture(curve, (280, 640, 3))


def test_pictures_mark_the_valid_prediction_time():
    lead = np.arange(1, 51) * 0.1
    error = np.linspace(0.0, 1.0, 50)
    left = fc.nrmse_picture(lead, error, vpt=1.0)
    right = fc.nrmse_picture(lead, error, vpt=4.0)
    # The red marker moves: the pictures differ.
    assert left.shape == right.shape and np.any(left != right)
    red = (left[..., 0] > 180) & (left[..., 1] < 80) & (left[..., 2] < 80)
    assert red.any()
    u = np.random.default_rng(0).normal(size=(50, 40))
    same = fc.spacetime_picture(u, u, lead)
    off = fc.spacetime_picture(u, u + 1.0, lead)
    assert _is_picture(same, (320, 900, 3)) and np.any(same != off)
    # Non-finite forecasts (a diverged rollout) still draw.
    assert _is_picture(fc.spacetime_picture(u, u * np.inf, lead),
                       (320, 900, 3))


@pytest.mark.parametrize("system, index, message", [
    ("lorenz63", 0, "system"),
    ("ks", 24, "index"),
    ("ks", 1.5, "index"),
    ("ks", "x", "index"),
    ("ks", True, "index"),
])
def test_predict_errors(system, index, message):
    # Arguments are checked before the model is used.
    with pytest.raises(gr.Error, match=message):
        fc.predict(system, index, {"ks": None})


@pytest.mark.once
def test_system_of_and_bad_models(models):
    assert fc.system_of(models["lorenz96"]) == "lorenz96"
    assert fc.system_of(models["ks"]) == "ks"
    with pytest.raises(ValueError, match="Forecaster"):
        fc.system_of(object())
    with pytest.raises(ValueError, match="forecasts 'ks'"):
        fc.build_demo({"lorenz96": models["ks"]})


@pytest.mark.once
def test_demo_and_hub_build(models):
    demo = fc.build_demo(models)
    assert api_names(demo) == ["forecast"]
    single = fc.build_demo(models["ks"])
    assert api_names(single) == ["forecast"]
    hub = hub_module.build_hub({"forecasting": models})
    assert [t.elem_id for t in hub_tabs(hub)] == ["tab-forecasting"]
    assert api_names(hub) == ["forecasting_forecast"]
    assert hub_module.get_tab("forecasting").preset == (
        "rhn_attention_lorenz96")


@pytest.mark.demo
def test_hub_client_forecast(models):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"forecasting": models})
    with serve(hub) as client:
        summary, spacetime, curve = client.predict(
            "lorenz96", 5, api_name="/forecasting_forecast")
        assert "initial condition **#5**" in summary
        assert "valid prediction time" in summary
        with pytest.raises(AppError, match=r"`index` must be a whole "
                           r"number in \[0, 23\]"):
            client.predict("lorenz96", 24, api_name="/forecasting_forecast")
        with pytest.raises(AppError, match="`system` must be one of"):
            client.predict(["ks"], 2, api_name="/forecasting_forecast")
