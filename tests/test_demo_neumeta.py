"""Tests of the NeuMeta demo tab (`demos/neumeta.py`).

The pure functions are called with a tiny untrained NeuMeta classifier
and the demo is built, then launched and driven with `gradio_client`.
Marked `demo`: it runs once (on torch), since everything it calls is
tested per backend in `test_neumeta.py` and `test_weight_field.py`.
"""

import gradio as gr
import numpy as np
import pytest

from demos import hub as hub_module
from demos import neumeta as demo
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def model():
    return demo.build_tiny_model(train=False)


def test_predict_summary_and_picture(model):
    summary, picture = demo.predict(4, 1, model)
    assert "Width 4" in summary and "seen in training" in summary
    assert "50 % of the channels removed" in summary
    assert picture.dtype == np.uint8 and picture.ndim == 3
    summary, _ = demo.predict(3, 2, model)
    assert "unseen in training" in summary
    again, _ = demo.predict(3, 2, model)
    assert again == summary


def test_network_is_a_plain_keras_model(model):
    net = demo.build_network(model, 5)
    assert [w.shape for w in net.get_weights()][:2] == [(3, 3, 1, 5), (5,)]
    assert 0.0 <= demo.network_accuracy(net) <= 1.0


@pytest.mark.parametrize("width, samples, message", [
    (0, 1, r"`width` must be in \[1, 8\]"),
    (9, 1, "width"),
    ("a", 1, "width"),
    (4, 0, "num_samples"),
    (4, 51, "num_samples"),
])
def test_predict_errors(model, width, samples, message):
    with pytest.raises(gr.Error, match=message):
        demo.predict(width, samples, model)


def test_demo_endpoints_and_model_check(model):
    assert api_names(demo.build_demo(model)) == ["build"]
    with pytest.raises(ValueError, match="NeuMetaClassifier"):
        demo.build_demo(object())


def test_tab_is_in_the_hub():
    tab = hub_module.get_tab("neumeta")
    assert tab.preset == "neumeta_cnn_digits"
    module = hub_module.tab_module("neumeta")
    for attr in ("TITLE", "render", "build_demo", "build_tiny_model"):
        assert hasattr(module, attr)


def test_hub_client_build(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"neumeta": model})
    with serve(hub) as client:
        summary, _ = client.predict(6, 1, api_name="/neumeta_build")
        assert "Width 6" in summary
        with pytest.raises(AppError, match="width"):
            client.predict(100, 1, api_name="/neumeta_build")
