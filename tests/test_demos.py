"""Tests of the Gradio demo hub (`demos/`).

Unmarked tests call the pure `predict` function and build (not launch)
the hub; they run on every backend. `@pytest.mark.demo` tests launch the
hub on a free loopback port and drive it with `gradio_client`.

Models: `build_tiny_model(train=False)` (64-8-10, random weights) for
structure checks, and a session-scoped `build_tiny_model()` trained for
3-5 s on 1024 training digits for top-1 checks. The golden test images
(test-split index -> label) were checked with that model on jax, torch
and tensorflow: each is classified correctly after the
`features_to_image -> digit_image_to_features` round trip.
"""

import os

import gradio as gr
import keras
import numpy as np
import pytest
from PIL import Image

import zoo
from demos import __main__ as demos_main
from demos import components
from demos import hub as hub_module
from demos import hyper_mlp_digits as digits
from tests.demo_helpers import api_names
from tests.demo_helpers import digits_test_split  # noqa: F401 (fixture)
from tests.demo_helpers import gradio_env  # noqa: F401
from tests.demo_helpers import hub_tabs
from tests.demo_helpers import serve
from zoo.data import DIGITS_CLASS_NAMES
from zoo.hyper_mlp import digit_image_to_features
from zoo.hyper_mlp import features_to_image

# Test-split index -> label; first test image of classes 0, 1, 3, 4, 5,
# 7 and 8 (also the demo's examples for these classes).
GOLDEN = {9: "0", 0: "1", 21: "3", 1: "4", 2: "5", 10: "7", 13: "8"}
E2E_INDEX = 1  # a "4"
EXPECTED = "Expected a picture of one handwritten digit"
HUB_CLASSIFY = "/hyper_mlp_digits_classify"
HUB_DRAWING = "/hyper_mlp_digits_classify_drawing"


@pytest.fixture(scope="session")
def tiny_model():
    return digits.build_tiny_model(train=False)


@pytest.fixture(scope="session")
def trained_model():
    return digits.build_tiny_model()


def _digit_png(path, features, scale=16):
    Image.fromarray(features_to_image(features, scale)).save(path)
    return str(path)


# ----------------------------------------------------------------------
# predict (pure function)
# ----------------------------------------------------------------------
def test_predict_structure_on_example(tiny_model):
    path, label, _ = components.write_digit_examples()[4]
    image = np.asarray(Image.open(path))
    top3, picture = digits.predict(image, tiny_model)
    assert len(top3) == 3
    assert set(top3) <= set(DIGITS_CLASS_NAMES)
    probs = np.array(list(top3.values()))
    assert np.all(probs >= 0) and np.all(probs <= 1)
    assert 0 <= probs.sum() <= 1 + 1e-6
    assert list(probs) == sorted(probs, reverse=True)
    assert picture.dtype == np.uint8
    assert picture.ndim == 3 and picture.shape[-1] == 3


def test_predict_accepts_gray_rgb_rgba_and_sketchpad(tiny_model, test_digits):
    x, _ = test_digits
    gray = features_to_image(x[0], 8)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    # Transparent canvas with black strokes, as the Sketchpad sends it.
    rgba = np.zeros(gray.shape + (4,), dtype="uint8")
    rgba[..., 3] = 255 - gray
    expected, _ = digits.predict(gray, tiny_model)
    for image in (rgb, rgba, {"composite": rgba, "layers": []}):
        top3, _ = digits.predict(image, tiny_model)
        assert list(top3) == list(expected)
        np.testing.assert_allclose(
            list(top3.values()), list(expected.values()), atol=1e-5
        )


@pytest.mark.parametrize(
    "image, message",
    [
        (None, "No picture received"),
        ({"composite": None}, "No picture received"),
        ({"layers": []}, "without a 'composite' picture"),
        (np.zeros((0, 0, 3), "uint8"), "empty"),
        (np.full((64, 64, 3), 255, "uint8"), "blank"),
        (np.zeros((64, 64), "float32"), "blank"),
        (np.full((6, 20, 3), 255, "uint8"), "at least 8x8"),
        (np.zeros((2, 16, 16, 3), "uint8"), r"shape \(H, W\)"),
        (np.zeros((16, 16, 2), "uint8"), r"shape \(H, W\)"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric array"),
        ("no-such-digit.png", "could not be opened as a picture"),
        (components.BadPicture("`image` is not a picture"),
         "is not a picture"),
    ],
    ids=[
        "none", "sketch-none", "sketch-no-composite", "empty", "blank",
        "black", "too-small", "rank-4", "two-channels", "strings",
        "missing-path", "bad-picture",
    ],
)
def test_predict_errors(tiny_model, image, message):
    with pytest.raises(gr.Error, match=message) as info:
        digits.predict(image, tiny_model)
    if not isinstance(image, components.BadPicture):
        assert EXPECTED in str(info.value)


def test_predict_converts_preprocessing_value_error(tiny_model):
    with pytest.raises(gr.Error) as info:
        digits.predict(np.full((32, 32), 255, "uint8"), tiny_model)
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) in info.value.message


def test_predict_top1_after_round_trip(trained_model, test_digits):
    x, y = test_digits
    wrong = {}
    for index, label in GOLDEN.items():
        assert DIGITS_CLASS_NAMES[y[index]] == label
        features = digit_image_to_features(features_to_image(x[index]))
        top3, _ = digits.predict(features_to_image(x[index]), trained_model)
        top1 = next(iter(top3))
        if top1 != label:
            wrong[index] = (label, top3, np.abs(features - x[index]).max())
    assert not wrong, f"golden digits misclassified: {wrong}"


def test_trained_tiny_model_is_accurate(trained_model, test_digits):
    x, y = test_digits
    logits = keras.ops.convert_to_numpy(trained_model(x, training=False))
    assert (logits.argmax(axis=1) == y).mean() > 0.75


# ----------------------------------------------------------------------
# weights picture
# ----------------------------------------------------------------------
def test_weights_picture_16_units_grid():
    backbone = zoo.HyperMLPBackbone(
        input_dim=64, hidden_dims=(20,), embedding_dim=4,
        hyper_units=(8,), seed=0,
    )
    model = zoo.HyperMLPClassifier(backbone, num_classes=10)
    picture = digits.weights_picture(model)
    assert picture.dtype == np.uint8
    assert picture.shape == (308, 308, 3)
    # Every tile is coloured: the gaps are gray (230), tiles are not.
    tile = picture[4: 4 + 72, 4: 4 + 72]
    assert not np.all(tile == 230)
    assert np.all(picture[:4] == 230)


def test_weights_picture_shows_generated_kernel(tiny_model):
    from matplotlib import colormaps

    kernel, _ = tiny_model.backbone.get_layer(
        "hyper_dense_0"
    ).generate_weights()
    kernel = keras.ops.convert_to_numpy(kernel).astype("float64")
    picture = digits.weights_picture(tiny_model, scale=1, gap=0)
    assert picture.shape == (16, 32, 3)  # 8 units: 2 rows of 4 tiles
    peak = np.abs(kernel).max()
    for unit in range(8):
        row, col = divmod(unit, 4)
        tile = picture[8 * row: 8 * row + 8, 8 * col: 8 * col + 8]
        values = kernel[:, unit].reshape(8, 8) / peak
        expected = colormaps["RdBu_r"]((values + 1) / 2)[..., :3]
        np.testing.assert_allclose(tile / 255, expected, atol=1 / 255)
    # The largest |weight| gets an end colour of the diverging map.
    end = np.round(255 * np.array(
        [colormaps["RdBu_r"](v)[:3] for v in (0.0, 1.0)]
    ))
    unit = int(np.abs(kernel).max(axis=0).argmax())
    pixel = int(np.abs(kernel[:, unit]).argmax())
    row, col = divmod(unit, 4)
    rgb = picture[8 * row + pixel // 8, 8 * col + pixel % 8]
    assert any(np.array_equal(rgb, e) for e in end)


def test_weights_picture_rejects_task_conditioning():
    backbone = zoo.HyperMLPBackbone(
        input_dim=64, hidden_dims=(8,), conditioning="task", num_tasks=2,
        embedding_dim=4, hyper_units=(8,), seed=0,
    )
    model = zoo.HyperMLPClassifier(backbone, num_classes=10)
    with pytest.raises(ValueError, match="conditioning='embedding'"):
        digits.weights_picture(model)
    with pytest.raises(ValueError, match="conditioning='embedding'"):
        digits.build_demo(model)


def test_build_demo_rejects_wrong_input_size():
    backbone = zoo.HyperMLPBackbone(
        input_dim=12, hidden_dims=(4,), embedding_dim=4, hyper_units=(8,),
    )
    model = zoo.HyperMLPClassifier(backbone, num_classes=3)
    with pytest.raises(ValueError, match="input_dim=64"):
        digits.build_demo(model)


# ----------------------------------------------------------------------
# examples, demo and hub construction
# ----------------------------------------------------------------------
def test_examples_are_written_once_per_class(tmp_path, test_digits):
    x, y = test_digits
    examples = components.write_digit_examples()
    assert [label for _, label, _ in examples] == list(DIGITS_CLASS_NAMES)
    for path, label, index in examples:
        assert path.startswith(os.environ["GRADIO_TEMP_DIR"])
        assert DIGITS_CLASS_NAMES[y[index]] == label
        np.testing.assert_array_equal(
            np.asarray(Image.open(path)), features_to_image(x[index], 16)
        )
    mtimes = [os.stat(p).st_mtime_ns for p, _, _ in examples]
    assert [p for p, _, _ in components.write_digit_examples()] == [
        p for p, _, _ in examples
    ]
    assert [os.stat(p).st_mtime_ns for p, _, _ in examples] == mtimes


def test_hub_builds_one_tab_per_model(tiny_model):
    hub = hub_module.build_hub({"hyper_mlp_digits": tiny_model})
    tabs = hub_tabs(hub)
    assert [t.elem_id for t in tabs] == ["tab-hyper_mlp_digits"]
    assert [t.label for t in tabs] == [digits.TITLE]
    assert api_names(hub) == [
        "hyper_mlp_digits_classify", "hyper_mlp_digits_classify_drawing"
    ]
    assert api_names(hub, "undocumented") == [
        "hyper_mlp_digits_load_example"
    ]
    assert hub._queue.max_size == components.QUEUE_MAX_SIZE == 64
    assert hub._queue.default_concurrency_limit == 2


@pytest.mark.demo  # loads every bundled preset: once, not per backend
def test_hub_loads_bundled_preset():
    if "hyper_mlp_digits" not in zoo.list_presets():
        pytest.skip("preset hyper_mlp_digits is not bundled yet")
    hub = hub_module.build_hub()
    expected = [f"tab-{t.name}" for t in hub_module.tabs()
                if t.preset in zoo.list_presets()]
    assert "tab-hyper_mlp_digits" in expected
    assert [t.elem_id for t in hub_tabs(hub)] == expected
    headers = [
        b.value for b in hub.blocks.values() if isinstance(b, gr.Markdown)
    ]
    assert any("test accuracy **" in h for h in headers), headers


def test_hub_rejects_unknown_tab(tiny_model):
    with pytest.raises(ValueError, match="Known tabs: hyper_mlp_digits"):
        hub_module.build_hub({"resnet": tiny_model})


def test_hub_without_bundled_presets_says_so(monkeypatch):
    monkeypatch.setattr(hub_module, "list_presets", lambda: [])
    with pytest.raises(RuntimeError, match="--tiny-test-model"):
        hub_module.build_hub()


def test_tabs_follow_the_module_protocol():
    names = [tab.name for tab in hub_module.tabs()]
    assert len(names) == len(set(names))
    for tab in hub_module.tabs():
        module = hub_module.tab_module(tab.name)
        for attr in ("TITLE", "render", "build_demo", "build_tiny_model"):
            assert hasattr(module, attr), (tab.module, attr)


def test_standalone_demo_endpoints(tiny_model):
    demo = digits.build_demo(tiny_model)
    assert api_names(demo) == ["classify", "classify_drawing"]
    assert api_names(demo, "undocumented") == ["load_example"]
    assert demo._queue.max_size == components.QUEUE_MAX_SIZE


def test_header_reads_preset_metadata(tiny_model, monkeypatch):
    monkeypatch.setattr(
        components, "read_metadata",
        lambda name: {"metrics": {"accuracy": 0.9667},
                      "label_names": list(DIGITS_CLASS_NAMES)},
    )
    assert "96.7%" in digits._header(tiny_model, "hyper_mlp_digits")
    assert "not available" in digits._header(tiny_model, None)


def test_main_parses_arguments():
    args = demos_main.parse_args([])
    assert (args.host, args.port, args.tiny_test_model) == (
        "127.0.0.1", 7860, False
    )
    args = demos_main.parse_args(["--port", "7999", "--tiny-test-model"])
    assert (args.port, args.tiny_test_model) == (7999, True)


# ----------------------------------------------------------------------
# end to end with gradio_client
# ----------------------------------------------------------------------
@pytest.mark.demo
def test_hub_client_classify(trained_model, test_digits, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    x, _ = test_digits
    png = _digit_png(tmp_path / "four.png", x[E2E_INDEX])
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64, 3), 255, "uint8")).save(blank)
    transparent = str(tmp_path / "transparent.png")
    rgba = np.zeros((128, 128, 4), "uint8")
    rgba[..., 3] = 255 - features_to_image(x[E2E_INDEX], 16)
    Image.fromarray(rgba, "RGBA").save(transparent)
    hub = hub_module.build_hub({"hyper_mlp_digits": trained_model})
    with serve(hub) as client:
        api = client.view_api(return_format="dict", print_info=False)
        assert {HUB_CLASSIFY, HUB_DRAWING} <= set(api["named_endpoints"])
        label, weights = client.predict(
            handle_file(png), api_name=HUB_CLASSIFY
        )
        assert label["label"] == GOLDEN[E2E_INDEX]
        confidences = label["confidences"]
        assert len(confidences) == 3
        assert confidences[0]["label"] == GOLDEN[E2E_INDEX]
        total = sum(c["confidence"] for c in confidences)
        assert 0 <= total <= 1 + 1e-6
        picture = np.asarray(Image.open(weights))
        assert picture.dtype == np.uint8 and picture.shape[-1] == 3
        # A transparent PNG with black strokes (what drawing apps save).
        label, _ = client.predict(
            handle_file(transparent), api_name=HUB_CLASSIFY
        )
        assert label["label"] == GOLDEN[E2E_INDEX]
        with pytest.raises(AppError, match="blank: no digit strokes"):
            client.predict(handle_file(str(blank)), api_name=HUB_CLASSIFY)
        # Concurrent requests (concurrency limit 2) all get their answer.
        jobs = [
            client.submit(handle_file(png), api_name=HUB_CLASSIFY)
            for _ in range(4)
        ]
        for job in jobs:
            assert job.result(timeout=60)[0]["label"] == GOLDEN[E2E_INDEX]


@pytest.mark.demo
def test_standalone_demo_client_classify(trained_model, test_digits,
                                         tmp_path):
    from gradio_client import handle_file

    x, _ = test_digits
    png = _digit_png(tmp_path / "four.png", x[E2E_INDEX])
    with serve(digits.build_demo(trained_model)) as client:
        api = client.view_api(return_format="dict", print_info=False)
        assert "/classify" in api["named_endpoints"]
        label, _ = client.predict(handle_file(png), api_name="/classify")
        assert label["label"] == GOLDEN[E2E_INDEX]
