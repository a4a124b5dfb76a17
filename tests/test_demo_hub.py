"""The hub's hardened edges: uploaded pictures, API errors, navigation,
and the hub under load.

Unmarked tests call pure functions or build (not launch) the hub, with
tiny untrained models; they run on every backend. `@pytest.mark.demo`
tests launch the hub on a free loopback port: the API-error test sends
bad values to every endpoint with `gradio_client`, and the load test
holds 10 clients for 20 s on the cheapest tab (the digits classifier)
through the plain HTTP API of `scripts/bench_hub_load.py`.
"""

import io

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from demos import components
from demos import hub as hub_module
from demos import hyper_mlp_digits as digits
from demos import token_exit
from demos import unem_fewshot
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve
from zoo.data import load_digits
from zoo.hyper_mlp import digit_image_to_features
from zoo.hyper_mlp import features_to_image


@pytest.fixture(scope="module")
def tiny_model():
    return digits.build_tiny_model(train=False)


@pytest.fixture(scope="module")
def four():
    """The test-split "4" as a 128x128 uint8 picture (dark ink)."""
    x, _ = load_digits(split="test")
    return features_to_image(x[1], 16)


def _png(image, path, **kwargs):
    image.save(path, **kwargs)
    return str(path)


# ----------------------------------------------------------------------
# load_picture: bounded decoding, modes, broken files
# ----------------------------------------------------------------------
def test_load_picture_refuses_too_many_pixels_before_decoding(tmp_path):
    # A 1-bit 8000x8000 PNG: 8 MB in memory, a few KB on disk.
    path = _png(Image.new("1", (8000, 8000), 1), tmp_path / "huge.png")
    with pytest.raises(gr.Error, match=r"8000x8000 pixels \(64.0 "
                       r"megapixels\); at most 25 megapixels"):
        components.load_picture(path)


def test_load_picture_downscales_large_pictures(tmp_path, four):
    big = Image.fromarray(four).resize((3000, 3000), Image.Resampling.NEAREST)
    array = components.load_picture(_png(big, tmp_path / "big.png"))
    assert array.shape == (1024, 1024)
    # The features are an 8x8 box resize of the ink: unchanged.
    np.testing.assert_allclose(digit_image_to_features(array),
                               digit_image_to_features(four), atol=0.05)
    jpeg = components.load_picture(_png(big.convert("RGB"),
                                        tmp_path / "big.jpg", quality=95))
    assert max(jpeg.shape[:2]) <= 1024


def test_load_picture_keeps_16_bit_range(tmp_path, four):
    # Light ink on dark, 16-bit: clipping to 8 bits would make it blank.
    light = (255 - four.astype("uint16")) * 200
    path = _png(Image.fromarray(light.astype("uint16")), tmp_path / "16.png")
    array = components.load_picture(path)
    assert array.dtype == np.float64 and array.max() <= 1.0
    np.testing.assert_allclose(digit_image_to_features(array),
                               digit_image_to_features(four), atol=0.02)


def test_load_picture_reads_palette_and_transparency(tmp_path, four):
    palette = Image.fromarray(four).convert("P")
    array = components.load_picture(_png(palette, tmp_path / "p.png"))
    np.testing.assert_allclose(digit_image_to_features(array),
                               digit_image_to_features(four), atol=1e-6)
    rgba = np.zeros(four.shape + (4,), "uint8")
    rgba[..., 3] = 255 - four
    array = components.load_picture(
        _png(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"))
    assert array.shape == four.shape + (4,)
    np.testing.assert_allclose(digit_image_to_features(array),
                               digit_image_to_features(four), atol=1e-6)


def test_load_picture_errors(tmp_path, four):
    good = io.BytesIO()
    Image.fromarray(four).save(good, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    cases = {
        str(truncated): "truncated or corrupt",
        str(text): "not a picture in a format Pillow can read",
        b"\x89PNG\r\n": "not a picture|could not be",
        "data:image/png;base64,@@": "not a picture|not valid base64",
    }
    for source, message in cases.items():
        with pytest.raises(gr.Error, match=message) as info:
            components.load_picture(source, "image")
        assert "`image`" in info.value.message or "base64" in message
        assert components.EXPECTED_INPUT in info.value.message


def test_digit_image_preprocess_returns_a_bad_picture(tmp_path):
    from gradio.data_classes import ImageData

    text = tmp_path / "notes.txt"
    text.write_text("hello")
    component = components.digit_image()
    value = component.preprocess(ImageData(path=str(text)))
    assert isinstance(value, components.BadPicture)
    assert "not a picture" in value.message
    assert component.get_block_name() == "image"
    sketch = components.digit_sketchpad()
    assert sketch.get_block_name() == "imageeditor"
    assert sketch.preprocess(None) is None


# ----------------------------------------------------------------------
# API values: types and ranges, checked by the tabs' functions
# ----------------------------------------------------------------------
def test_unchecked_components_leave_checks_to_the_function():
    slider = components.unchecked(gr.Slider(0, 10))
    assert slider is not None and slider.preprocess("abc") == "abc"
    assert components.unchecked(gr.Number()).preprocess([1]) == [1]
    assert components.unchecked(gr.Radio(["a"])).preprocess(3) == 3
    assert components.int_radio([1, 5]).preprocess("5") == "5"
    # Gradio's own check is what they replace.
    with pytest.raises(TypeError):
        gr.Slider(0, 10).preprocess("abc")


def test_shots_is_an_integer_in_the_api_and_accepts_strings():
    radio = components.int_radio([1, 5, 10], value=5)
    assert radio.api_info() == {"type": "integer", "title": "Radio",
                                "enum": [1, 5, 10]}
    assert unem_fewshot._check_shots("5") == 5
    assert unem_fewshot._check_shots(10.0) == 10
    for bad in ("x", 3, True, None, [5]):
        with pytest.raises(gr.Error, match=r"`shots` must be an integer, "
                           r"one of \[1, 5, 10\]"):
            unem_fewshot._check_shots(bad)
    with pytest.raises(gr.Error, match=r"`seed` must be a whole number"):
        unem_fewshot._check_seed("1.5")
    with pytest.raises(gr.Error, match=r"`lam` must be a number in "
                       r"\[0, 150\]"):
        components.check_number("nan", "lam", 0, 150)


def test_check_choice_names_the_argument():
    assert components.check_choice("b", "shift", ("a", "b")) == "b"
    for bad in ("c", ["a"], {"a": 1}, None, True):
        with pytest.raises(gr.Error, match=r"`shift` must be one of "
                           r"\['a', 'b'\]"):
            components.check_choice(bad, "shift", ("a", "b"))


@pytest.mark.parametrize("saved, text", [
    (0.375, "decoder FLOPs saved: **37.5%**"),
    (0.0, "decoder FLOPs saved: **0.0%**"),
    (-0.004, "decoder FLOPs: **+0.4% more** than the model without "
             "routers: the router cost"),
    (-0.0001, "decoder FLOPs: **+<0.1% more**"),
])
def test_flops_are_a_saving_or_a_router_cost(saved, text):
    sentence = token_exit.flops_change_text(saved)
    assert text in sentence
    assert "-0." not in sentence


# ----------------------------------------------------------------------
# navigation and the UI wiring
# ----------------------------------------------------------------------
def test_hub_lists_every_model_with_a_button(tiny_model):
    models = {"hyper_mlp_digits": tiny_model,
              "token_exit": token_exit.build_tiny_model()}
    hub = hub_module.build_hub(models)
    buttons = {b.elem_id: b for b in hub.blocks.values()
               if isinstance(b, gr.Button)
               and (b.elem_id or "").startswith("open-")}
    assert sorted(buttons) == ["open-hyper_mlp_digits", "open-token_exit"]
    assert buttons["open-token_exit"].value == f"Open {token_exit.TITLE}"
    tabs = [b for b in hub.blocks.values() if isinstance(b, gr.Tab)]
    assert tabs[0].elem_id == "hub-models" and tabs[0].label == "All models"
    # Each button selects its tab, outside the queue.
    for name in models:
        fn = next(f for f in hub.fns.values()
                  if f.api_name == f"open_{name}")
        assert fn.queue is False and fn.api_visibility == "private"
        assert fn.fn().selected == name
    for tab in hub_module.tabs():
        module = hub_module.tab_module(tab.name)
        assert module.SUMMARY and tab.heading


def test_ui_events_report_errors_in_the_status_line(tiny_model):
    demo = digits.build_demo(tiny_model)
    ui = next(f for f in demo.fns.values() if f.api_name == "classify_ui")
    assert ui.api_visibility == "private"
    assert ui.outputs[-1].elem_id == "status"
    label, weights, message = ui.fn(None)
    assert label is None and weights is None
    assert message.startswith("**Error:** No picture received")
    top3, picture, message = ui.fn(features_to_image(
        load_digits(split="test")[0][1], 8))
    assert len(top3) == 3 and picture.ndim == 3 and message == ""
    api = next(f for f in demo.fns.values() if f.api_name == "classify")
    assert api.api_visibility == "public" and not api.targets
    with pytest.raises(gr.Error, match="No picture received"):
        api.fn(None)


# ----------------------------------------------------------------------
# over the network (loopback)
# ----------------------------------------------------------------------
@pytest.mark.demo
def test_hub_api_errors_name_the_input(tiny_model, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    good = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), "uint8")
    Image.fromarray(noise).save(good, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    models = {"hyper_mlp_digits": tiny_model,
              "unem_fewshot": unem_fewshot.build_tiny_model(train=False),
              "token_exit": token_exit.build_tiny_model()}
    hub = hub_module.build_hub(models)
    cases = [
        ("/hyper_mlp_digits_classify", [handle_file(str(text))],
         "`image` is not a picture"),
        ("/hyper_mlp_digits_classify", [handle_file(str(truncated))],
         "`image` could not be decoded: the file is truncated"),
        ("/unem_fewshot_sample_episode", ["x", 0, 75], "`shots` must be"),
        ("/unem_fewshot_sample_episode", [5, -1, 75], "`seed` must be"),
        ("/unem_fewshot_sample_episode", [5, 0, 1e9], "`lam` must be"),
        ("/unem_fewshot_cafa", [7], "`shift` must be one of"),
        ("/token_exit_answer", ["abc", "Which digit is it?", 0],
         "`index` must be a whole number"),
        ("/token_exit_answer", [3, 5, 0], "`question` must be one of"),
        ("/token_exit_answer", [3, "Which digit is it?", 2.5],
         "`row` must be a whole number"),
    ]
    with serve(hub) as client:
        api = client.view_api(return_format="dict", print_info=False)
        shots = api["named_endpoints"]["/unem_fewshot_sample_episode"][
            "parameters"][0]
        assert shots["parameter_name"] == "shots"
        assert shots["type"]["type"] == "integer"
        summary, _ = client.predict("5", 0, 75,
                                    api_name="/unem_fewshot_sample_episode")
        assert "5-shot" in summary
        for endpoint, args, message in cases:
            with pytest.raises(AppError, match=message):
                client.predict(*args, api_name=endpoint)


@pytest.mark.demo
def test_hub_holds_10_clients_for_20_s_without_errors(tmp_path):
    from scripts import bench_hub_load

    trained = digits.build_tiny_model(epochs=3)
    hub = hub_module.build_hub({"hyper_mlp_digits": trained})
    picture = bench_hub_load.digit_png(str(tmp_path))
    with serve(hub) as client:
        url = client.src if client.src.endswith("/") else client.src + "/"
        data = bench_hub_load.payload(url, "hyper_mlp_digits_classify",
                                      picture)
        result = bench_hub_load.drive(url, "hyper_mlp_digits_classify",
                                      data, clients=10, duration_s=20,
                                      max_requests=2000)
    assert result["errors"] == 0, result["error_example"]
    # Every client was answered at least once (bounded: 10 x 2000).
    assert 10 <= result["requests"] <= 20_000
    assert len(result["latencies"]) == result["requests"]
