"""Tests of the LoGAH demo tab (`demos/logah.py`).

The pure functions are called with an untrained small GHN and the demo
is built, then launched and driven with `gradio_client`. Marked `demo`:
it runs once (on torch), since everything it calls is tested per backend
in `test_logah.py`.
"""

import gradio as gr
import pytest

from demos import hub as hub_module
from demos import logah as demo
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def model():
    return demo.build_tiny_model(train=False)


def test_compare_inits_rows_and_picture(model):
    summary, rows, picture = demo.compare_inits(model, "48, 40", steps=4,
                                                seed=1)
    assert [r[0] for r in rows] == ["LoGAH predicted", "He random init"]
    assert all(0 <= v <= 100 for r in rows for v in r[1:])
    assert "mlp-48-40" in summary and "held out" in summary
    assert picture.shape == (280, 640, 3)
    again = demo.compare_inits(model, "48 40", 4, 1)
    assert again[1] == rows
    assert "custom" in demo.compare_inits(model, "8", 0, 0)[0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(architecture=""), "whole numbers"),
    (dict(architecture="a, 3"), "whole numbers"),
    (dict(architecture="65"), r"Widths must be in \[1, 64\]"),
    (dict(architecture="0, 4"), r"Widths must be in"),
    (dict(architecture="8 8 8 8 8"), "At most 4 hidden layers"),
    (dict(steps=401), "`steps` must be a number in"),
    (dict(steps=2.5), "`steps` must be a whole number"),
])
def test_compare_inits_errors(model, kwargs, message):
    args = dict(architecture="8", steps=2, seed=0)
    args.update(kwargs)
    with pytest.raises(gr.Error, match=message):
        demo.compare_inits(model, **args)


def test_demo_endpoints_and_model_check(model):
    assert api_names(demo.build_demo(model)) == ["compare"]
    with pytest.raises(ValueError, match="LogahClassifier for MNIST-1D"):
        demo.build_demo(object())


def test_tab_is_in_the_hub():
    tab = hub_module.get_tab("logah")
    assert tab.preset == "logah_mnist1d"
    module = hub_module.tab_module("logah")
    for attr in ("TITLE", "render", "build_demo", "build_tiny_model"):
        assert hasattr(module, attr)


def test_hub_client_compare(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"logah": model})
    with serve(hub) as client:
        summary, table, _ = client.predict(
            "24", 3, 0, api_name="/logah_compare")
        assert "LoGAH" in summary and len(table["data"]) == 2
        with pytest.raises(AppError, match="Widths must be"):
            client.predict("100", 3, 0, api_name="/logah_compare")
