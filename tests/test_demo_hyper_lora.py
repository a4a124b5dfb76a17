"""Tests of the HyperLoRA demo tab (`demos/hyper_lora.py`).

The pure function is called with an untrained small model and the demo
is built, then launched and driven with `gradio_client`. Marked `demo`:
it runs once (on torch), since everything it calls is tested per backend
in `test_hyper_lora.py`.
"""

import gradio as gr
import pytest

from demos import hub as hub_module
from demos import hyper_lora as demo
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def model():
    return demo.build_tiny_model(train=False)


def test_personalize_writer_rows_and_picture(model):
    summary, rows, picture = demo.personalize_writer(model, 3, drawing=2)
    assert [r[0] for r in rows] == ["base ViT", "HyperLoRA"]
    assert all(0 <= r[1] <= 9 and 0 <= r[2] <= 100 for r in rows)
    assert "Writer **3**" in summary and "535 test digits" in summary
    assert picture.shape == (160, 640, 3)
    again = demo.personalize_writer(model, 3, 2)
    assert again[1] == rows


@pytest.mark.parametrize("kwargs, message", [
    (dict(writer=-1), "`writer` must be a number in"),
    (dict(writer=1.5), "`writer` must be a whole number"),
    (dict(drawing=535), "`drawing` must be a number in"),
])
def test_personalize_writer_errors(model, kwargs, message):
    args = dict(writer=0, drawing=0)
    args.update(kwargs)
    with pytest.raises(gr.Error, match=message):
        demo.personalize_writer(model, **args)


def test_demo_endpoints_and_model_check(model):
    assert api_names(demo.build_demo(model)) == ["personalize"]
    with pytest.raises(ValueError, match="HyperLoRAClassifier"):
        demo.build_demo(object())


def test_tab_is_in_the_hub():
    tab = hub_module.get_tab("hyper_lora")
    assert tab.preset == "hyper_lora_digits_writers"
    module = hub_module.tab_module("hyper_lora")
    for attr in ("TITLE", "render", "build_demo", "build_tiny_model"):
        assert hasattr(module, attr)


def test_hub_client_personalize(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"hyper_lora": model})
    with serve(hub) as client:
        summary, table, _ = client.predict(
            1, 0, api_name="/hyper_lora_personalize")
        assert "HyperLoRA" in summary and len(table["data"]) == 2
        with pytest.raises(AppError, match="must be a number in"):
            client.predict(1, 10_000, api_name="/hyper_lora_personalize")
