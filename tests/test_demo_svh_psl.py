"""Tests of the SVH-PSL demo tab (`demos/svh_psl.py`).

The pure function is called with an untrained small model and the demo
is built, then launched and driven with `gradio_client`. Marked `demo`:
it runs once (on torch), since everything it calls is tested per backend
in `test_svh_psl.py`.
"""

import gradio as gr
import pytest

from demos import hub as hub_module
from demos import svh_psl as demo
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def model():
    return demo.build_tiny_model(train=False)


def test_solve_rows_and_picture(model):
    summary, rows, picture = demo.solve(model, 0.3)
    assert [r[0] for r in rows] == [f"x{i}" for i in range(1, 7)] + [
        "f1", "f2"]
    assert all(0 <= r[1] <= 1 for r in rows[:6])
    assert "r = (0.30, 0.70)" in summary
    assert picture.shape[2] == 3 and picture.shape[1] == 640
    assert demo.solve(model, 0.3)[1] == rows
    assert demo.solve(model, 1)[1] != rows


@pytest.mark.parametrize("weight", [-0.1, 1.5, "a", None])
def test_solve_errors(model, weight):
    with pytest.raises(gr.Error, match="`weight` must be a number in"):
        demo.solve(model, weight)


def test_demo_endpoints_and_model_check(model):
    assert api_names(demo.build_demo(model)) == ["solve"]
    with pytest.raises(ValueError, match="ParetoSetModel for ZDT1"):
        demo.build_demo(object())


def test_tab_is_in_the_hub():
    tab = hub_module.get_tab("svh_psl")
    assert tab.preset == "svh_psl_zdt1"
    module = hub_module.tab_module("svh_psl")
    for attr in ("TITLE", "render", "build_demo", "build_tiny_model"):
        assert hasattr(module, attr)


def test_hub_client_solve(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"svh_psl": model})
    with serve(hub) as client:
        summary, table, _ = client.predict(0.8, api_name="/svh_psl_solve")
        assert "r = (0.80, 0.20)" in summary and len(table["data"]) == 8
        with pytest.raises(AppError, match="weight"):
            client.predict(2.0, api_name="/svh_psl_solve")
