"""Tests of the DyVTE demo tab (`demos/token_exit.py`).

Unmarked tests call the pure functions with a tiny untrained model and
build (not launch) the demo and the hub; they run on every backend. The
`@pytest.mark.demo` test launches the hub and calls its endpoint with
`gradio_client`. The bundled preset is not needed.
"""

import gradio as gr
import keras
import numpy as np
import pytest

from demos import hub as hub_module
from demos import token_exit as tev
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import hub_tabs
from tests.demo_helpers import serve
from zoo.data import digits_vqa as recipes


@pytest.fixture(scope="module")
def model():
    return tev.build_tiny_model()


def test_predict_answers_with_the_exit_path(model):
    images, labels = tev.digits_test()
    summary, answers, picture, plot = tev.predict(
        "7", "How many bright pixels in row k?", 3.0, model)
    assert list(answers) == list(recipes.ANSWERS)
    values = np.array(list(answers.values()))
    np.testing.assert_allclose(values.sum(), 1.0, atol=1e-5)
    truth = recipes.ANSWERS[recipes.answer(images[7], int(labels[7]),
                                           "row_count", 3)]
    assert f"true **{truth}**" in summary and "row 3" in summary
    assert picture.shape == (8 * tev.PICTURE_SCALE, 8 * tev.PICTURE_SCALE,
                             3)
    assert plot.shape == (280, 640, 3) and plot.dtype == np.uint8
    # The answer is the removal path's: equal to the masked path with
    # the same exit layer.
    x = {"images": recipes.upsample(images[7][None, :, :, None]),
         "token_ids": recipes.encode_question("row_count", 3)[None]}
    k = model.backbone.prefill_with_exit(x, model.exit_threshold)[
        "exit_layer"]
    logits = keras.ops.convert_to_numpy(model.answer_logits(x, [k]))[0]
    p = np.exp(logits - logits.max())
    np.testing.assert_allclose(values, p / p.sum(), atol=1e-5)


def test_forced_threshold_changes_the_exit_layer(model):
    model.exit_threshold = 0.0
    try:
        summary, _, _, _ = tev.predict(0, "Which digit is it?", 0, model)
        assert "after layer **0**" in summary
        model.exit_threshold = 1.0
        summary, _, _, _ = tev.predict(0, "Which digit is it?", 0, model)
        # No exit: the routers are a cost, not a negative saving.
        assert "never" in summary and "more** than the model without " \
            "routers: the router cost" in summary
        assert "saved" not in summary and "-0." not in summary
    finally:
        model.exit_threshold = 0.5


@pytest.mark.parametrize(
    "index, question, row, message",
    [(540, "Which digit is it?", 0, "index"),
     (1.5, "Which digit is it?", 0, "index"),
     (0, "What colour?", 0, "question"),
     (0, "Which digit is it?", 8, "row"),
     (0, "Which digit is it?", True, "row"),
     ("abc", "Which digit is it?", 0, "`index` must be a whole number"),
     (0, 3, 0, "`question` must be one of"),
     (0, ["Which digit is it?"], 0, "`question` must be one of")],
    ids=["index-range", "index-frac", "question", "row-range", "row-bool",
         "index-str", "question-int", "question-list"],
)
def test_predict_errors(model, index, question, row, message):
    with pytest.raises(gr.Error, match=message):
        tev.predict(index, question, row, model)


def test_demo_rejects_other_models():
    import zoo

    other = zoo.get_model_spec("token_exit_vlm").build_tiny(0)  # 4x4 input
    with pytest.raises(ValueError, match="TokenExitVLM"):
        tev.build_demo(other)


def test_standalone_demo_and_hub_tab(model):
    assert api_names(tev.build_demo(model)) == ["answer"]
    assert hub_module.get_tab("token_exit").preset == "token_exit_vlm_digits"
    hub = hub_module.build_hub({"token_exit": model})
    assert [(t.elem_id, t.label) for t in hub_tabs(hub)] == [
        ("tab-token_exit", tev.TITLE)]
    assert api_names(hub) == ["token_exit_answer"]


@pytest.mark.demo
def test_hub_client_answer_endpoint(model):
    hub = hub_module.build_hub({"token_exit": model})
    with serve(hub) as client:
        summary, answers, picture, plot = client.predict(
            5, "Is it above four?", 0, api_name="/token_exit_answer")
    assert "Test image **#5**" in summary
    assert answers["label"] in recipes.ANSWERS
