"""Tests of the D2NWG demo tab (`demos/d2nwg.py`).

The pure functions are called with an untrained small model and the
demo is built, then launched and driven with `gradio_client`. Marked
`demo`: it runs once (on torch), since everything it calls is tested per
backend in `test_d2nwg.py`.
"""

import gradio as gr
import pytest

from demos import d2nwg as demo
from demos import hub as hub_module
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def model():
    return demo.build_tiny_model(train=False)


def test_sample_task_rows_and_picture(model):
    summary, rows, picture = demo.sample_task(model, [6, 0, 1, 2, 3],
                                              shots=2, steps=5, seed=1)
    assert [r[0] for r in rows] == ["D2NWG sampled", "random init"]
    assert all(0 <= v <= 100 for r in rows for v in r[1:])
    assert "Digits (0, 1, 2, 3, 6)" in summary and "held out" in summary
    assert picture.shape == (280, 640, 3)
    again = demo.sample_task(model, (0, 1, 2, 3, 6), 2, 5, 1)
    assert again[1] == rows


@pytest.mark.parametrize("kwargs, message", [
    (dict(classes=[0, 1, 2, 3]), "exactly 5 different digits"),
    (dict(classes=[0, 1, 2, 3, 3]), "exactly 5 different digits"),
    (dict(classes=[0, 1, 2, 3, 10]), "exactly 5 different digits"),
    (dict(shots=0), "`shots` must be a number in"),
    (dict(steps=2.5), "`steps` must be a whole number"),
])
def test_sample_task_errors(model, kwargs, message):
    args = dict(classes=[0, 1, 2, 3, 4], shots=2, steps=2, seed=0)
    args.update(kwargs)
    with pytest.raises(gr.Error, match=message):
        demo.sample_task(model, **args)


def test_demo_endpoints_and_model_check(model):
    assert api_names(demo.build_demo(model)) == ["sample_weights"]
    with pytest.raises(ValueError, match="D2NWGGenerator for 5-way"):
        demo.build_demo(object())


def test_tab_is_in_the_hub():
    tab = hub_module.get_tab("d2nwg")
    assert tab.preset == "d2nwg_digits_fewshot"
    module = hub_module.tab_module("d2nwg")
    for attr in ("TITLE", "render", "build_demo", "build_tiny_model"):
        assert hasattr(module, attr)


def test_hub_client_sample_weights(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"d2nwg": model})
    with serve(hub) as client:
        summary, table, _ = client.predict(
            ["0", "2", "4", "6", "8"], 2, 3, 0,
            api_name="/d2nwg_sample_weights")
        assert "D2NWG" in summary and len(table["data"]) == 2
        with pytest.raises(AppError, match="exactly 5"):
            client.predict(["0"], 2, 3, 0,
                           api_name="/d2nwg_sample_weights")
