"""Gradio demo of NeuMeta: build a digits CNN of any width, live.

Pick a hidden width with the slider (1 to the preset's `max_width`;
widths the weight field never saw in training included) and the number
of noisy coordinate samples averaged. The tab samples every weight of
an ordinary Keras CNN of that width from the bundled
`neumeta_cnn_digits` weight field, reports its accuracy on the 540 test
digits and its parameter count, and pictures its weights: the first
convolution's 3x3 filters and the second convolution's kernel laid out
as an `(in x 3) x (out x 3)` matrix. Endpoint `"build"`
(`"<tab>_build"` in the hub).

A hub tab: the module contract is in `demos/hub.py`.
"""

import keras
import numpy as np

from demos.components import check_whole_number
from demos.components import header_markdown
from demos.components import heatmap_tiles
from demos.components import output_picture
from demos.components import preset_metrics
from demos.components import run_controls
from demos.components import standalone_builder
from demos.components import unchecked
from demos.components import user_error
from demos.components import wire
from zoo.data import load_digits
from zoo.neumeta.neumeta_cnn import num_cnn_params

TITLE = "NeuMeta any width"
SUMMARY = ("Sample a digits CNN of any width from one weight field "
           "(Neural Metamorphosis) and test it live.")
MAX_SAMPLES = 50
PICTURE_SIDE = 320


def _backbone(model):
    return getattr(model, "backbone", model)


def build_network(model, width, num_samples=1, seed=0):
    """The plain Keras CNN of one width, weights sampled from the field.

    Args:
        model: `zoo.NeuMetaClassifier` (or its backbone).
        width: int in `[1, max_width]`.
        num_samples: int. Noisy coordinate samples averaged.
        seed: int. Seed of the noisy samples.

    Returns:
        A compiled `keras.Model` (flat 64 features -> 10 logits).

    Example:

    ```python
    net = demos.neumeta.build_network(zoo.load("neumeta_cnn_digits"), 6)
    ```
    """
    return _backbone(model).sample_network(width, num_samples, seed)


def network_accuracy(net, split="test"):
    """Accuracy of a sampled digits CNN on a digits split.

    Args:
        net: a Keras model returning logits for `(N, 64)` features.
        split: str. Digits split.

    Returns:
        float in `[0, 1]`.

    Example:

    ```python
    demos.neumeta.network_accuracy(net)  # 0.93
    ```
    """
    x, y = load_digits(split=split)
    logits = keras.ops.convert_to_numpy(net(x, training=False))
    return float((np.asarray(logits).argmax(-1) == y).mean())


def weights_picture(weights, side=PICTURE_SIDE, gap=4):
    """Pictures a sampled CNN's convolution kernels.

    Left tile: the first convolution's `width` 3x3 filters side by side
    (a `3 x (3 * width)` strip); right tile: the second convolution's
    kernel as a `(3 * in) x (3 * out)` matrix (block `(i, o)` is the 3x3
    filter from channel `i` to channel `o`). `RdBu_r` colours, each tile
    scaled to its own largest absolute value.

    Args:
        weights: list of 6 arrays (`neumeta_cnn.cnn_shapes` order).
        side: int. About the picture's side in pixels.
        gap: int. Gray pixels between and around the tiles.

    Returns:
        uint8 array `(H, W, 3)`.

    Example:

    ```python
    picture = weights_picture(net.get_weights())
    ```
    """
    k0 = np.asarray(weights[0], "float64")[:, :, 0, :]  # (3, 3, w)
    k1 = np.asarray(weights[2], "float64")  # (3, 3, w, w)
    kh, kw, w_in, w_out = k1.shape
    matrix = np.transpose(k1, (2, 0, 3, 1)).reshape(w_in * kh, w_out * kw)
    strip = np.transpose(k0, (0, 2, 1)).reshape(kh, -1)
    size = max(matrix.shape[0], matrix.shape[1], strip.shape[1])
    canvas = np.zeros((size, size))
    canvas[:strip.shape[0], :strip.shape[1]] = strip / (
        np.abs(strip).max() or 1.0)
    body = matrix / (np.abs(matrix).max() or 1.0)
    canvas[size - matrix.shape[0]:, :matrix.shape[1]] = body
    cell = max(1, side // size)
    return heatmap_tiles([canvas], (cell, cell), gap, 1, peak=1.0)


def predict(width, num_samples, model):
    """Builds the width-`w` network and reports its test accuracy.

    Args:
        width: whole number in `[1, max_width]`.
        num_samples: whole number in `[1, MAX_SAMPLES]`.
        model: `zoo.NeuMetaClassifier`.

    Returns:
        `(summary, picture)`: a Markdown summary (accuracy, parameters,
        seen or unseen in training) and `weights_picture`'s picture.

    Raises:
        gr.Error: a width or sample count out of range.

    Example:

    ```python
    summary, picture = demos.neumeta.predict(8, 20, model)
    ```
    """
    backbone = _backbone(model)
    top = backbone.max_width
    width = check_whole_number(width, "width", top + 1)
    if width < 1:
        raise user_error(f"`width` must be in [1, {top}]. Received: 0")
    num_samples = check_whole_number(num_samples, "num_samples",
                                     MAX_SAMPLES + 1)
    if num_samples < 1:
        raise user_error(f"`num_samples` must be in [1, {MAX_SAMPLES}]. "
                         "Received: 0")
    net = build_network(model, width, num_samples)
    acc = network_accuracy(net)
    params = num_cnn_params(width, backbone.num_channels,
                            backbone.num_classes, backbone.kernel_size)
    full = num_cnn_params(top, backbone.num_channels, backbone.num_classes,
                          backbone.kernel_size)
    seen = (backbone.min_width <= width <= top and (
        width - backbone.min_width) % backbone.width_step == 0)
    summary = (
        f"**Width {width}** ({100 * (1 - width / top):.0f} % of the "
        f"channels removed, {params} parameters = "
        f"{100 * params / full:.1f} % of width {top}); "
        f"{'seen' if seen else 'unseen'} in training. "
        f"NeuMeta test accuracy: **{100 * acc:.1f} %** on 540 digits "
        f"({num_samples} averaged sample(s))."
    )
    return summary, weights_picture(net.get_weights())


def _check_model(model):
    backbone = _backbone(model)
    if not hasattr(backbone, "sample_network") or getattr(
            backbone, "image_size", None) != 8:
        raise ValueError(
            "The NeuMeta demo needs a NeuMetaClassifier on 8x8 digits. "
            f"Received: {type(model).__name__}"
        )


def _header(model, preset):
    metrics = preset_metrics(preset)
    line = ""
    acc = metrics.get("accuracy_at_compression")
    if acc:
        line = "Preset test accuracy by compression: " + ", ".join(
            f"{c} %: {100 * a:.1f} %" for c, a in acc.items()) + "."
    return header_markdown(
        TITLE,
        "One weight field (an INR over weight coordinates) writes every "
        "weight of a CNN conv3x3(w) - conv3x3(w) - pool - dense(10) for "
        "any width w (Yang & Wang, ECCV 2024). Move the slider and "
        "build: the network of that width is sampled and tested live.",
        line,
    )


def render(model, api_prefix="", preset=None):
    """Adds the NeuMeta tab to the open Blocks (see `demos/hub.py`).

    Endpoint: `f"{api_prefix}build"` (width, num_samples).

    Args:
        model: a `zoo.NeuMetaClassifier` on 8x8 digits.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.neumeta.render(model, api_prefix="neumeta_")
    ```
    """
    import gradio as gr

    _check_model(model)
    top = _backbone(model).max_width

    def build(width, num_samples):
        return predict(width, num_samples, model)

    gr.Markdown(_header(model, preset))
    with gr.Row():
        with gr.Column():
            width = unchecked(gr.Slider(
                1, top, value=max(1, top // 4), step=1,
                label="Hidden width", elem_id=f"{api_prefix}width"))
            samples = unchecked(gr.Slider(
                1, MAX_SAMPLES, value=20, step=1,
                label="Noisy samples averaged (K)",
                elem_id=f"{api_prefix}samples"))
            button, status, summary = run_controls(
                "Build network", api_prefix, "build-button")
        with gr.Column():
            picture = output_picture(
                "Sampled weights: conv 1 filters (top), conv 2 kernel",
                f"{api_prefix}weights")
    wire(button.click, build, [width, samples], [summary, picture],
         f"{api_prefix}build", status)
    return {"width": width, "samples": samples, "button": button,
            "status": status, "summary": summary, "weights": picture}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=True, epochs=20, seed=0):
    """A small NeuMeta digits classifier (widths 2 to 8), for tests.

    Args:
        train: bool. Train it briefly on 1024 digits (Adam 1e-2, batch
            128, no reconstruction target), else random weights.
        epochs: int. Training epochs.
        seed: int. Seed of the initialisers and the training.

    Returns:
        A compiled `zoo.NeuMetaClassifier`.

    Example:

    ```python
    model = demos.neumeta.build_tiny_model()
    ```
    """
    from zoo.neumeta import NeuMetaBackbone
    from zoo.neumeta import NeuMetaClassifier

    keras.utils.set_random_seed(seed)
    backbone = NeuMetaBackbone(min_width=2, max_width=8, width_step=2,
                               num_frequencies=3, hidden_units=16,
                               num_blocks=1, coordinate_noise=0.02,
                               seed=seed)
    model = NeuMetaClassifier(backbone)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    if train:
        x, y = load_digits(split="train")
        model.fit(x[:1024], y[:1024], epochs=epochs, batch_size=128,
                  verbose=0)
    return model
