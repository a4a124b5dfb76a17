"""Tests of the HESSO demo tab (`demos/hesso.py`).

Unmarked tests call the pure functions with a tiny untrained digits CNN
(filters 3 and 4, carrying the tiny dense reference's filters 4 and 6)
and build (not launch) the demo and the hub; they run on every backend.
The bundled preset's metadata is read (no weights are loaded): its
dense network (filters 128, 256) is trained by the recipe, not a
preset. The `@pytest.mark.demo` test launches the hub and calls its
endpoints with `gradio_client`.
"""

import gradio as gr
import keras
import numpy as np
import pytest

from demos import hesso
from demos import hub as hub_module
from demos.components import BadPicture
from tests.demo_helpers import api_names
from tests.demo_helpers import digits_test_split  # noqa: F401 (fixture)
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import hub_tabs
from tests.demo_helpers import serve
from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data import DIGITS_CLASS_NAMES
from zoo.hyper_mlp import digit_image_to_features
from zoo.hyper_mlp import features_to_image
from zoo.preset_utils import read_metadata

PRESET = "digits_cnn_hesso"
PICTURE = (280, 640, 3)
TINY_TABLE = ("| `conv_0` | 4 -> 3 | 52 -> 39 |",
              "| `conv_1` | 6 -> 4 | 240 -> 124 |",
              "| `dense input` | 6 -> 4 | 70 -> 50 |",
              "**362 -> 213** (58.8% kept)")


@pytest.fixture(scope="module")
def model():
    return hesso.build_tiny_model()


def _keras_rows(model):
    """Per-row parameter counts read from the Keras layers."""
    backbone = model.backbone
    rows = [backbone.get_layer(f"conv_{i}").count_params()
            + backbone.get_layer(f"bn_{i}").count_params()
            for i in range(len(backbone.filters))]
    return rows + [model.output_dense.count_params()]


@pytest.mark.parametrize("filters", [(3, 4), (4, 6), (5,), (2, 3, 4)])
def test_layer_rows_count_what_keras_counts(filters):
    cnn = DigitsCNNClassifier(DigitsCNNBackbone(filters=filters), 10)
    rows = hesso.layer_rows(filters)
    assert [r["parameters"] for r in rows] == _keras_rows(cnn)
    assert sum(r["parameters"] for r in rows) == cnn.count_params()
    assert [r["layer"] for r in rows] == [
        *(f"conv_{i}" for i in range(len(filters))), "dense input"]
    assert [r["width"] for r in rows] == [*filters, filters[-1]]


def test_layer_rows_match_the_preset_metadata():
    metadata = read_metadata(PRESET)
    assert metadata["dense_filters"] == [128, 256]
    assert metadata["dense_parameters"] == 300170
    for filters, count in ((metadata["dense_filters"],
                            metadata["dense_parameters"]),
                           (metadata["filters"],
                            metadata["parameter_count"])):
        assert sum(r["parameters"]
                   for r in hesso.layer_rows(filters)) == count


def test_dense_reference_sources(model):
    tiny = hesso.dense_reference(model)
    assert tiny["filters"] == hesso.TINY_DENSE_FILTERS == (4, 6)
    assert "tiny dense reference" in tiny["source"]
    assert tiny["accuracy"] is None and tiny["dense_accuracy"] is None
    # The preset's metadata wins over the attribute.
    preset = hesso.dense_reference(model, PRESET)
    metadata = read_metadata(PRESET)
    # The dense network is trained by the recipe, not a bundled preset.
    assert preset["filters"] == (128, 256)
    assert preset["source"] == f"the metadata of `{PRESET}`"
    assert preset["dense_preset"] is None
    assert preset["dense_accuracy"] == metadata["dense_accuracy"]
    assert preset["accuracy"] == metadata["metrics"]["accuracy"]
    assert 0.9 < preset["accuracy"] <= 1.0
    # The argument wins over both.
    given = hesso.dense_reference(model, PRESET, dense_filters=[8, 16])
    assert given["filters"] == (8, 16) and "argument" in given["source"]
    # A model without the attribute and no preset: unknown.
    plain = DigitsCNNClassifier(DigitsCNNBackbone(filters=(3, 4)), 10)
    unknown = hesso.dense_reference(plain, "no_such_preset")
    assert unknown["filters"] is None
    assert unknown["source"] == "no preset metadata"


@pytest.mark.parametrize("filters", [(), (0, 4), (3.5,), ("a",), 7,
                                     (True, 2)])
def test_bad_dense_filters_are_refused(model, filters):
    with pytest.raises(ValueError, match="positive ints"):
        hesso.dense_reference(model, dense_filters=filters)


def test_widths_table_before_after_and_unknown():
    before, after = hesso.layer_rows((4, 6)), hesso.layer_rows((3, 4))
    table = hesso.widths_table(before, after)
    for line in TINY_TABLE:
        assert line in table
    unknown = hesso.widths_table(None, after)
    assert "| `conv_0` | unknown -> 3 | unknown -> 39 |" in unknown
    assert "**unknown -> 213**" in unknown and "kept" not in unknown


def test_widths_bars_pictures():
    before, after = hesso.layer_rows((4, 6)), hesso.layer_rows((3, 4))
    both = hesso.widths_bars(before, after)
    only_after = hesso.widths_bars(None, after)
    for picture in (both, only_after):
        assert picture.dtype == np.uint8 and picture.shape == PICTURE
    assert np.any(both != only_after)


def test_predict_classifies_a_test_digit(model, test_digits):
    x, _ = test_digits
    picture = features_to_image(x[1], 16)
    top3 = hesso.predict(picture, model)
    batch = digit_image_to_features(picture).reshape(1, 8, 8, 1)
    logits = keras.ops.convert_to_numpy(model(batch, training=False))[0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    expected = np.argsort(-probs, kind="stable")[:3]
    assert list(top3) == [DIGITS_CLASS_NAMES[i] for i in expected]
    np.testing.assert_allclose(list(top3.values()), probs[expected],
                               rtol=1e-4)
    # A Sketchpad value works as well.
    drawing = {"composite": picture, "layers": [], "background": None}
    assert hesso.predict(drawing, model) == pytest.approx(top3)


@pytest.mark.parametrize("image, message", [
    (None, "No picture received for `image`"),
    ({"composite": None}, "No picture received"),
    (np.zeros((4, 4)), "at least 8x8 pixels"),
    (np.full((32, 32), 255, "uint8"), "blank: no digit strokes"),
    (np.zeros((8, 8, 2)), "must have shape"),
    ("no/such/file.png", "could not be opened"),
])
def test_bad_pictures_are_user_errors(model, image, message):
    with pytest.raises(gr.Error, match=message) as info:
        hesso.predict(image, model)
    assert "Expected a picture of one handwritten digit" in (
        info.value.message)


def test_unreadable_upload_message_is_passed_on(model):
    with pytest.raises(gr.Error) as info:
        hesso.predict(BadPicture("Not a picture."), model)
    assert info.value.message == "Not a picture."


def test_demo_rejects_other_models():
    flat = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="zoo.DigitsCNNClassifier"):
        hesso.build_demo(flat)
    big = DigitsCNNClassifier(
        DigitsCNNBackbone(image_shape=(16, 16, 1), filters=(2,)), 10)
    with pytest.raises(ValueError, match=r"image_shape \(16, 16, 1\)"):
        hesso.build_demo(big)


def test_render_shows_the_widths(model):
    with gr.Blocks():
        tiny = hesso.render(model, api_prefix="h_")
        plain = DigitsCNNClassifier(DigitsCNNBackbone(filters=(3, 4)), 10)
        unknown = hesso.render(plain, api_prefix="u_")
        given = hesso.render(plain, api_prefix="g_", dense_filters=(4, 6))
    for line in TINY_TABLE:
        assert line in tiny["table"].value and line in given["table"].value
    assert "unknown -> 213" in unknown["table"].value
    assert tiny["table"].elem_id == "h_widths-table"
    assert tiny["widths"].elem_id == "h_widths"
    assert tiny["label"].elem_id == "h_label"
    with pytest.raises(ValueError, match="positive ints"):
        with gr.Blocks():
            hesso.render(model, dense_filters=(0,))


def test_header_says_where_numbers_come_from(model):
    header = hesso._header(hesso.dense_reference(model, PRESET), PRESET)
    assert ("from the preset's metadata, measured when it was trained"
            in header)
    metadata = read_metadata(PRESET)
    dense = 100 * metadata["dense_accuracy"]
    compact = 100 * metadata["metrics"]["accuracy"]
    assert f"dense (filters 128, 256) **{dense:.1f}%**" in header
    assert f"compact `{PRESET}` **{compact:.1f}%**" in header
    tiny = hesso._header(hesso.dense_reference(model), None)
    assert "Test accuracy: not available" in tiny
    assert "tiny dense reference" in tiny


def test_demo_and_hub_build(model):
    demo = hesso.build_demo(model)
    assert api_names(demo) == ["classify", "classify_drawing"]
    assert api_names(demo, "undocumented") == ["load_example"]
    assert hub_module.get_tab("hesso").preset == PRESET
    hub = hub_module.build_hub({"hesso": model})
    assert [(t.elem_id, t.label) for t in hub_tabs(hub)] == [
        ("tab-hesso", hesso.TITLE)]
    assert api_names(hub) == ["hesso_classify", "hesso_classify_drawing"]


@pytest.mark.demo
def test_hub_client_classify(model, test_digits, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError
    from PIL import Image

    x, _ = test_digits
    png = str(tmp_path / "four.png")
    Image.fromarray(features_to_image(x[1], 16)).save(png)
    blank = str(tmp_path / "blank.png")
    Image.fromarray(np.full((32, 32), 255, "uint8")).save(blank)
    hub = hub_module.build_hub({"hesso": model})
    with serve(hub) as client:
        label = client.predict(handle_file(png),
                               api_name="/hesso_classify")
        assert label["label"] == next(iter(hesso.predict(
            features_to_image(x[1], 16), model)))
        with pytest.raises(AppError, match="blank: no digit strokes"):
            client.predict(handle_file(blank), api_name="/hesso_classify")
