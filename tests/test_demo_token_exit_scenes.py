"""Tests of the DyVTE tiny-scenes demo tab (`demos/token_exit_scenes.py`).

Unmarked tests call the pure functions with a tiny untrained model and
build (not launch) the demo and the hub; they run on every backend. The
`@pytest.mark.demo` test launches the hub and calls its endpoint with
`gradio_client`. The bundled preset is not needed.
"""

import re

import gradio as gr
import keras
import numpy as np
import pytest

from demos import hub as hub_module
from demos import token_exit as tev
from demos import token_exit_scenes as tes
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import hub_tabs
from tests.demo_helpers import serve
from zoo.data import tiny_scenes as scenes
from zoo.token_exit.token_exit_eval import flops_saved

# Scene 3: a green circle, a red triangle, a blue bar, a yellow
# triangle, a yellow circle (two circles, two triangles, one bar).
CROWDED = 3
# Scene 24: a blue circle, a red triangle, a blue square (each once).
SIMPLE = 24


@pytest.fixture(scope="module")
def model():
    return tes.build_tiny_model()


@pytest.fixture
def threshold(model):
    """Restores the model's exit threshold after a test."""
    yield model
    model.exit_threshold = 0.5


def _inputs(seed, question):
    image, _ = scenes.make_scene(np.random.default_rng(seed))
    _, words = scenes.parse_question(question)
    return {"images": image[None],
            "token_ids": scenes.encode_words(words)[None]}


def _last_token_attention(backbone, x, layer_index):
    """Independent reference: mean-over-heads attention of the last
    token at `layer_index` of the full model, over the image grid."""
    images, token_ids = backbone._check_inputs(x)
    h = backbone.embed(images, token_ids)
    positions = np.arange(backbone.sequence_length)
    for layer in backbone.transformer_layers[:layer_index]:
        h = layer(h, position_ids=positions)
    probs = keras.ops.convert_to_numpy(
        backbone.transformer_layers[layer_index].attention_probs(
            h, position_ids=positions))
    row = probs[0, :, -1, :].mean(axis=0)
    start = backbone.num_prefix_tokens
    g = backbone.image_size // backbone.patch_size
    return row, row[start:start + backbone.num_image_tokens].reshape(g, g)


def test_predict_answers_with_the_exit_path(model):
    question = "How many triangle?"
    summary, answers, picture, attention, plot = tes.predict(
        str(CROWDED), question, model)
    assert list(answers) == list(scenes.ANSWERS)
    values = np.array(list(answers.values()))
    np.testing.assert_allclose(values.sum(), 1.0, atol=1e-5)
    best = max(answers, key=answers.get)
    assert best in scenes.ANSWERS and f"Answer **{best}**" in summary
    assert "true **2**" in summary and "*How many triangle?*" in summary
    assert picture.shape == (24 * tes.PICTURE_SCALE,) * 2 + (3,)
    assert picture.dtype == np.uint8
    assert attention.shape == (340 + tes.TOP_BAND, 640, 3)
    assert attention.dtype == np.uint8
    assert plot.shape == (280, 640, 3) and plot.dtype == np.uint8
    # The answer is the removal path's: equal to the masked path with
    # the same exit layer.
    x = _inputs(CROWDED, question)
    k = model.backbone.prefill_with_exit(x, model.exit_threshold)[
        "exit_layer"]
    assert 0 <= k < model.backbone.num_layers
    logits = keras.ops.convert_to_numpy(model.answer_logits(x, [k]))[0]
    p = np.exp(logits - logits.max())
    np.testing.assert_allclose(values, p / p.sum(), atol=1e-5)


def test_analyse_numbers(model, threshold):
    model.exit_threshold = 0.0  # exit after layer 0 (2-layer model)
    question = "Is there a red triangle?"
    result = tes.analyse(SIMPLE, question, model)
    b = model.backbone
    assert result["family"] == "exist" and result["truth"] == "yes"
    assert result["answer"] in scenes.ANSWERS
    assert result["exit_layer"] == 0
    assert result["kept_tokens"] == b.sequence_length - b.num_image_tokens
    # The FLOPs figure is `flops_saved` of the exit layer.
    assert result["flops_saved"] == flops_saved(b, [0]) > 0
    summary = tes.summary_text(result, b.num_layers)
    assert tev.flops_change_text(flops_saved(b, [0])) in summary
    assert "after layer **0** of 2 (layer 1 ran on 9 text" in summary
    # Router probabilities per layer, of the full model.
    _, gates = model.answer_logits(_inputs(SIMPLE, question),
                                   return_gates=True)
    gates = keras.ops.convert_to_numpy(gates)[0].astype("float64")
    np.testing.assert_allclose(
        result["exit_probs"], 1.0 / (1.0 + np.exp(gates[:, 0] - gates[:, 1])),
        atol=1e-5)
    # Attention grids: the 6x6 image part of the last token's row at the
    # exit layer (0) and the full model's last layer (1); each sums to
    # the image's attention share (the rest is on the text tokens).
    x = _inputs(SIMPLE, question)
    for layer_index, key in ((0, "exit"), (1, "last")):
        row, grid = _last_token_attention(b, x, layer_index)
        got = result[f"attention_{key}"]
        assert got.shape == (6, 6)
        np.testing.assert_allclose(got, grid, atol=1e-5)
        share = result[f"image_share_{key}"]
        np.testing.assert_allclose(got.sum(), share, atol=1e-6)
        text = np.concatenate([row[:1], row[1 + b.num_image_tokens:]])
        np.testing.assert_allclose(share + text.sum(), 1.0, atol=1e-5)
        assert f"**{100 * share:.1f}%**" in summary
    assert "at layer 0 (the exit layer)" in summary


def test_no_exit_is_a_cost(model, threshold):
    model.exit_threshold = 1.0
    summary, _, _, _, _ = tes.predict(SIMPLE, "count", model)
    result = tes.analyse(SIMPLE, "count", model)
    assert result["exit_layer"] == 1
    np.testing.assert_array_equal(result["attention_exit"],
                                  result["attention_last"])
    assert "never" in summary and "the router cost" in summary
    assert "saved" not in summary and "-0." not in summary


@pytest.mark.parametrize("family", scenes.FAMILIES)
def test_family_name_asks_an_answerable_question(model, family):
    result = tes.analyse(SIMPLE, family, model)
    assert result["family"] == family
    _, shapes = scenes.make_scene(np.random.default_rng(SIMPLE))
    assert scenes.answer_question(shapes, family,
                                  result["words"]) == result["truth"]
    # Deterministic for a seed.
    assert tes.analyse(SIMPLE, family, model)["words"] == result["words"]


def test_family_questions_parse():
    counts = {"exist": 16, "colour": 4, "count": 8, "compare": 12,
              "spatial": 48}
    for family, n in counts.items():
        texts = tes.family_questions(family)
        assert len(texts) == len(set(texts)) == n
        assert all(scenes.parse_question(t)[0] == family for t in texts)
    with pytest.raises(gr.Error, match="`family` must be one of"):
        tes.family_questions("colours")


def test_scene_preview():
    picture, text = tes.scene(str(SIMPLE))
    assert picture.shape == (288, 288, 3)
    assert text == ("Scene **#24**, 3 shapes: a blue circle, a red "
                    "triangle, a blue square.")
    image, _ = scenes.make_scene(np.random.default_rng(SIMPLE))
    np.testing.assert_array_equal(
        picture[::tes.PICTURE_SCALE, ::tes.PICTURE_SCALE],
        (255 * image.astype("float64") + 0.5).astype("uint8"))


@pytest.mark.parametrize(
    "seed, question, message",
    [(-1, "count", "`seed` must be a whole number in \\[0, 999999\\]"),
     (1.5, "count", "`seed` must be a whole number"),
     ("abc", "count", "`seed` must be a whole number"),
     (True, "count", "`seed` must be a whole number"),
     (tes.NUM_SEEDS, "count", "`seed` must be a whole number"),
     (0, "What is it?", "`question` must follow one of the templates"),
     (0, "how many dogs?", "`question` must follow one of the templates"),
     (0, 3, "`question` must be a question"),
     (0, None, "`question` must be a question"),
     (0, "  ", "`question` must be a question"),
     (CROWDED, "What colour is the circle?",
      "has no answer for this scene: the scene has two circles; this "
      "question needs exactly one circle"),
     (SIMPLE, "Is the bar left of the circle?", "the scene has no bars"),
     (CROWDED, "spatial", "No spatial question has an answer")],
    ids=["seed-negative", "seed-frac", "seed-str", "seed-bool",
         "seed-range", "question-template", "question-word",
         "question-int", "question-none", "question-blank",
         "two-circles", "no-bar", "family-unanswerable"],
)
def test_predict_errors(model, seed, question, message):
    with pytest.raises(gr.Error, match=message):
        tes.predict(seed, question, model)


def test_demo_rejects_other_models():
    with pytest.raises(ValueError, match="24x24 RGB scenes"):
        tes.build_demo(tev.build_tiny_model())  # the digits VLM


def test_standalone_demo_and_hub_tab(model):
    demo = tes.build_demo(model)
    assert api_names(demo) == ["answer", "scene"]
    ui = next(f for f in demo.fns.values() if f.api_name == "answer_ui")
    with pytest.warns(UserWarning, match="two circles"):  # gr.Warning
        *outputs, message = ui.fn(CROWDED, "What colour is the circle?")
    assert all(o is None for o in outputs)
    assert message.startswith("**Error:** The question 'What colour is "
                              "the circle?' has no answer")
    tab = hub_module.get_tab("token_exit_scenes")
    assert (tab.module, tab.preset) == ("demos.token_exit_scenes",
                                        "token_exit_vlm_scenes")
    hub = hub_module.build_hub({"token_exit_scenes": model})
    assert [(t.elem_id, t.label) for t in hub_tabs(hub)] == [
        ("tab-token_exit_scenes", tes.TITLE)]
    assert api_names(hub) == ["token_exit_scenes_answer",
                              "token_exit_scenes_scene"]


@pytest.mark.demo
def test_hub_client_answer_endpoint(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"token_exit_scenes": model})
    with serve(hub) as client:
        summary, answers, picture, attention, plot = client.predict(
            5, "How many bar?", api_name="/token_exit_scenes_answer")
        picture2, text = client.predict(
            5, api_name="/token_exit_scenes_scene")
        with pytest.raises(AppError, match="the scene has two circles"):
            client.predict(CROWDED, "What colour is the circle?",
                           api_name="/token_exit_scenes_answer")
    assert "Scene **#5**" in summary and "true **2**" in summary
    assert answers["label"] in scenes.ANSWERS
    assert re.search(r"Scene \*\*#5\*\*, 5 shapes", text)
