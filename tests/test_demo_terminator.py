"""Tests of the Terminator demo tabs (`demos/terminator_digits.py`,
`demos/terminator_mnist1d.py`).

Unmarked tests call the pure functions with tiny untrained models (two
blocks of width 4) and build (not launch) the demos and the hub; they
run on every backend. The `@pytest.mark.demo` test launches the hub and
calls its endpoints with `gradio_client`. The bundled presets are not
needed.
"""

import gradio as gr
import keras
import numpy as np
import pytest
from matplotlib import colormaps

from demos import components
from demos import hub as hub_module
from demos import terminator_digits as t2d
from demos import terminator_mnist1d as t1d
from tests.demo_helpers import api_names
from tests.demo_helpers import digits_test_split  # noqa: F401 (fixture)
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import hub_tabs
from tests.demo_helpers import serve
from zoo.data import DIGITS_CLASS_NAMES
from zoo.data import load_mnist1d
from zoo.hyper_mlp import features_to_image

NUM_BLOCKS = 2  # the tiny models' blocks
DIGITS_PICTURE = (200, NUM_BLOCKS * 196 + 4, 3)
CELL_H, CELL_W = t1d.KERNEL_CELL
MNIST1D_KERNELS = (NUM_BLOCKS * (CELL_H + 4) + 4, 40 * CELL_W + 8, 3)


@pytest.fixture(scope="module")
def digits_model():
    return t2d.build_tiny_model()


@pytest.fixture(scope="module")
def mnist1d_model():
    return t1d.build_tiny_model()


def _assert_probabilities(probs):
    assert list(probs) == list(DIGITS_CLASS_NAMES)
    values = np.array(list(probs.values()))
    assert np.all(values >= 0) and np.all(values <= 1)
    np.testing.assert_allclose(values.sum(), 1.0, atol=1e-6)


def _expected_probs(model, sample):
    batch = np.asarray(sample, "float32")[None]
    logits = keras.ops.convert_to_numpy(model(batch, training=False))[0]
    e = np.exp(logits - logits.max())
    return e / e.sum()


# ----------------------------------------------------------------------
# digits tab
# ----------------------------------------------------------------------
def test_digits_predict_classifies_the_picture_alone(digits_model,
                                                    test_digits):
    x, _ = test_digits
    assert not hasattr(t2d, "context_digits")
    gray = features_to_image(x[1], 8)
    probs, picture = t2d.predict(gray, digits_model)
    _assert_probabilities(probs)
    # A batch of one: the preprocessed digit and nothing else.
    sample = components.digit_features(gray, "image").reshape(8, 8, 1)
    np.testing.assert_allclose(
        list(probs.values()), _expected_probs(digits_model, sample),
        atol=1e-5,
    )
    assert picture.dtype == np.uint8 and picture.shape == DIGITS_PICTURE


def test_digits_predict_accepts_a_sketchpad_dict(digits_model, test_digits):
    x, _ = test_digits
    gray = features_to_image(x[0], 8)
    rgba = np.zeros(gray.shape + (4,), dtype="uint8")
    rgba[..., 3] = 255 - gray  # black strokes on a transparent canvas
    expected, _ = t2d.predict(gray, digits_model)
    probs, _ = t2d.predict({"composite": rgba, "layers": []}, digits_model)
    np.testing.assert_allclose(list(probs.values()),
                               list(expected.values()), atol=1e-5)


@pytest.mark.parametrize("image, message", [
    (None, "No picture received"),
    ({"composite": None}, "No picture received"),
    (np.full((64, 64, 3), 255, "uint8"), "blank"),
], ids=["none", "untouched-canvas", "blank"])
def test_digits_predict_errors(digits_model, image, message):
    with pytest.raises(gr.Error, match=message) as info:
        t2d.predict(image, digits_model)
    assert "Expected a picture of one handwritten digit" in str(info.value)


def test_global_kernels_have_one_map_per_block(digits_model,
                                               mnist1d_model):
    for model, shape in ((digits_model, (8, 8)), (mnist1d_model, (40,))):
        kernels = t2d.global_kernels(model)
        assert [k.shape for k in kernels] == [shape] * NUM_BLOCKS
        assert all(np.all(np.isfinite(k)) for k in kernels)


def test_kernel_picture_colours_each_kernel_by_its_peak():
    rng = np.random.default_rng(0)
    kernels = [rng.normal(size=(8, 8)), 10 * rng.normal(size=(8, 8))]
    picture = t2d.kernel_picture(kernels, cell=(1, 1), gap=0)
    assert picture.shape == (8, 16, 3)
    for i, values in enumerate(kernels):
        expected = colormaps["RdBu_r"](
            (values / np.abs(values).max() + 1) / 2
        )[..., :3]
        np.testing.assert_allclose(picture[:, 8 * i: 8 * i + 8] / 255,
                                   expected, atol=1 / 255)
    rows = t2d.kernel_picture([np.ones(40), -np.ones(40)], cell=(2, 3),
                              gap=1, columns=1)
    assert rows.shape == (2 * 2 + 3, 40 * 3 + 2, 3)
    assert np.all(rows[0] == 230)  # the gap is gray
    with pytest.raises(ValueError, match="one shape"):
        t2d.kernel_picture([np.ones(8), np.ones(9)])
    with pytest.raises(ValueError, match="non-empty"):
        t2d.kernel_picture([])


def test_classify_sample_rejects_a_wrong_label_count(digits_model):
    with pytest.raises(ValueError, match="3 labels"):
        components.classify_sample(digits_model, np.zeros((8, 8, 1)),
                                   ("a", "b", "c"))


# ----------------------------------------------------------------------
# MNIST-1D tab
# ----------------------------------------------------------------------
def test_mnist1d_predict_classifies_the_sample_alone(mnist1d_model):
    x, y = load_mnist1d("test")
    assert not hasattr(t1d, "context_sequences")
    summary, probs, signal, kernels = t1d.predict(7, mnist1d_model)
    _assert_probabilities(probs)
    np.testing.assert_allclose(
        list(probs.values()), _expected_probs(mnist1d_model, x[7, :, None]),
        atol=1e-5,
    )
    assert f"true label **{y[7]}**" in summary and "#7" in summary
    best = max(probs, key=probs.get)
    assert f"predicted **{best}**" in summary
    assert signal.dtype == np.uint8 and signal.shape == (240, 640, 3)
    assert kernels.dtype == np.uint8 and kernels.shape == MNIST1D_KERNELS
    # UI components may send the index as a float or a string.
    for same in (7.0, "7", np.int64(7)):
        assert t1d.predict(same, mnist1d_model)[0] == summary


@pytest.mark.parametrize("index", [1000, -1, 2.5, "seven", None, True,
                                   float("nan")])
def test_mnist1d_predict_index_errors(mnist1d_model, index):
    with pytest.raises(gr.Error, match=r"`index` must be a whole number "
                                       r"in \[0, 999\]"):
        t1d.predict(index, mnist1d_model)


# ----------------------------------------------------------------------
# demos and hub
# ----------------------------------------------------------------------
def test_standalone_demos_endpoints(digits_model, mnist1d_model):
    demo = t2d.build_demo(digits_model)
    assert api_names(demo) == ["classify", "classify_drawing"]
    assert api_names(demo, "undocumented") == ["load_example"]
    assert demo._queue.max_size == components.QUEUE_MAX_SIZE
    assert api_names(t1d.build_demo(mnist1d_model)) == ["classify"]


def test_demos_reject_the_other_model(digits_model, mnist1d_model):
    with pytest.raises(ValueError, match=r"spatial_shape=\(8, 8\)"):
        t2d.build_demo(mnist1d_model)
    with pytest.raises(ValueError, match=r"spatial_shape=\(40,\)"):
        t1d.build_demo(digits_model)


def test_hub_tabs_and_endpoint_names(digits_model, mnist1d_model):
    assert hub_module.get_tab("terminator_digits").preset == (
        "terminator_2d_digits")
    assert hub_module.get_tab("terminator_mnist1d").preset == (
        "terminator_1d_mnist1d")
    hub = hub_module.build_hub({"terminator_digits": digits_model,
                                "terminator_mnist1d": mnist1d_model})
    assert [(t.elem_id, t.label) for t in hub_tabs(hub)] == [
        ("tab-terminator_digits", t2d.TITLE),
        ("tab-terminator_mnist1d", t1d.TITLE),
    ]
    assert api_names(hub) == [
        "terminator_digits_classify", "terminator_digits_classify_drawing",
        "terminator_mnist1d_classify",
    ]


def test_header_reads_preset_metadata(digits_model, monkeypatch):
    monkeypatch.setattr(
        components, "read_metadata",
        lambda name: {"metrics": {"accuracy": 0.9833}},
    )
    header = components.terminator_header(
        t2d.TITLE, "", digits_model, "terminator_2d_digits",
        "540 test digits")
    assert "test accuracy **98.3%**" in header
    assert "classified alone (a batch of one)" in header
    assert "not available" in components.terminator_header(
        t2d.TITLE, "", digits_model, None, "540 test digits")


@pytest.mark.demo
def test_hub_client_terminator_endpoints(digits_model, mnist1d_model,
                                         test_digits, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError
    from PIL import Image

    x, _ = test_digits
    png = str(tmp_path / "four.png")
    Image.fromarray(features_to_image(x[1], 16)).save(png)
    hub = hub_module.build_hub({"terminator_digits": digits_model,
                                "terminator_mnist1d": mnist1d_model})
    with serve(hub) as client:
        label, kernels = client.predict(
            handle_file(png), api_name="/terminator_digits_classify")
        assert label["label"] in DIGITS_CLASS_NAMES
        assert np.asarray(Image.open(kernels)).shape == DIGITS_PICTURE
        summary, label, _, _ = client.predict(
            3, api_name="/terminator_mnist1d_classify")
        assert "Test sample **#3**" in summary
        with pytest.raises(AppError, match=r"`index` must be a whole "
                           r"number in \[0, 999\]"):
            client.predict(1000, api_name="/terminator_mnist1d_classify")
