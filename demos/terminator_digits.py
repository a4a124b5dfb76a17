"""Gradio demo of the `terminator_2d_digits` preset (HyperZ·Z·W).

The tab classifies a digit drawn or uploaded by the user and shows the
global hyper-kernel of every Terminator block: the 8x8 map a slow network
generates, which multiplies the block's feature maps (Zhang, 2024).

Inputs work as in the `hyper_mlp_digits` tab (both use
`demos.components.digit_inputs`): `gr.Image` (upload, clipboard,
examples) with endpoint
`"classify"` and `gr.Sketchpad` with endpoint `"classify_drawing"`
(`"<tab>_classify"` and `"<tab>_classify_drawing"` inside the hub). A
picture becomes 64 features in `[0, 1]` with
`zoo.hyper_mlp.digit_image_to_features`, reshaped to `(8, 8, 1)`.

A picture is classified alone, as a batch of one
(`demos.components.classify_sample`).

This module also holds the helpers shared with the
`terminator_mnist1d` tab (`global_kernels`, `kernel_picture`,
`tiny_terminator` and `tiny_model_builder`, which makes both tabs'
`build_tiny_model`); the model check and the header of
both tabs are `demos.components.check_terminator_model` and
`demos.components.terminator_header`. A hub tab: the module contract
is in `demos/hub.py`.
"""

import gradio as gr
import keras
import numpy as np

from demos.components import check_terminator_model
from demos.components import classify_sample
from demos.components import connect_digit_inputs
from demos.components import digit_features
from demos.components import digit_inputs
from demos.components import heatmap_tiles
from demos.components import output_picture
from demos.components import preset_label_names
from demos.components import standalone_builder
from demos.components import status_line
from demos.components import terminator_header
from demos.components import to_numpy
from demos.components import top_classes_label
from zoo.data import DIGITS_CLASS_NAMES

TITLE = "Terminator digits (HyperZ·Z·W)"
SUMMARY = ("A residual-free network of hyper-kernels; upload or draw a "
           "digit.")
SPATIAL_SHAPE = (8, 8)
KERNEL_CELL = (24, 24)


def global_kernels(model):
    """The channel-summed global hyper-kernel of every block, as numpy.

    Args:
        model: a `zoo.TerminatorClassifier` (or its backbone).

    Returns:
        A list of float64 arrays of shape `spatial_shape`, one per block.

    Example:

    ```python
    kernels = demos.terminator_digits.global_kernels(model)
    [k.shape for k in kernels]  # [(8, 8), (8, 8), (8, 8)]
    ```
    """
    backbone = getattr(model, "backbone", model)
    return [to_numpy(k).astype("float64")
            for k in backbone.global_kernels()]


def kernel_picture(kernels, cell=KERNEL_CELL, gap=4, columns=None):
    """Draws kernels as heatmap tiles on a light gray grid.

    Each kernel is scaled by its own largest absolute value and coloured
    with the diverging `RdBu_r` colormap (red positive, blue negative,
    white zero). A 1-D kernel becomes a one-row tile. Tiles fill rows of
    `columns` tiles, in order.

    Args:
        kernels: sequence of 1-D or 2-D float arrays, all the same shape.
        cell: tuple `(height, width)`. Screen pixels per kernel value.
        gap: int. Pixels of gray (230) around and between tiles.
        columns: int or `None`. Tiles per row; `None` puts all in one row.

    Returns:
        uint8 array `(H, W, 3)`; for `n` 8x8 kernels in one row with the
        defaults, `(200, 196 * n + 4, 3)`.

    Raises:
        ValueError: no kernels, kernels of different shapes, or a kernel
            of rank other than 1 or 2.

    Example:

    ```python
    picture = demos.terminator_digits.kernel_picture(
        demos.terminator_digits.global_kernels(model))
    ```
    """
    tiles = [np.atleast_2d(np.asarray(k, dtype="float64")) for k in kernels]
    if not tiles or any(t.ndim != 2 or t.shape != tiles[0].shape
                        for t in tiles):
        raise ValueError(
            "`kernels` must be a non-empty list of 1-D or 2-D arrays of "
            f"one shape. Received shapes: {[t.shape for t in tiles]}"
        )
    return heatmap_tiles(tiles, cell, gap, columns or len(tiles))


def predict(image, model, label_names=DIGITS_CLASS_NAMES):
    """Classifies a digit picture and pictures the global hyper-kernels.

    The picture becomes 64 features with
    `zoo.hyper_mlp.digit_image_to_features`, reshaped to `(8, 8, 1)`,
    and is classified alone (`demos.components.classify_sample`).

    Args:
        image: the picture (an array, a file path, ...) or the
            Sketchpad value: what `demos.components.digit_features`
            reads.
        model: a `zoo.TerminatorClassifier` on `(N, 8, 8, 1)` digits.
        label_names: sequence of str. Class names, in logit order.

    Returns:
        `(probs, kernels)`: `probs` a dict `{label: probability}` over
        all classes (sums to 1) and `kernels` the uint8 `(H, W, 3)`
        picture of `kernel_picture`, one 8x8 tile per block.

    Raises:
        gr.Error: no picture (an untouched canvas), or a picture that
            cannot be read as a digit; the message says what was
            expected.

    Example:

    ```python
    probs, kernels = demos.terminator_digits.predict(
        np.asarray(PIL.Image.open("digit.png")),
        zoo.load("terminator_2d_digits"),
    )
    ```
    """
    sample = digit_features(image, "image").reshape(SPATIAL_SHAPE + (1,))
    probs = classify_sample(model, sample, label_names)
    return probs, kernel_picture(global_kernels(model))


def render(model, api_prefix="", preset=None):
    """Adds the Terminator digits tab to the open Blocks (`demos/hub.py`).

    The inputs and their endpoints are those of
    `demos.hyper_mlp_digits.render`.

    Args:
        model: a `zoo.TerminatorClassifier` on `(N, 8, 8, 1)` digits.
        api_prefix, preset: see the module contract in `demos/hub.py`;
            the preset's metadata gives the test accuracy.

    Returns:
        A dict of the created components: those of
        `demos.components.digit_inputs`, `label`, `kernels`, `status`.

    Raises:
        ValueError: see `demos.components.check_terminator_model`.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.terminator_digits.render(model, api_prefix="t2d_")
    ```
    """
    check_terminator_model(model, SPATIAL_SHAPE)
    label_names = preset_label_names(preset)

    def classify(image):
        return predict(image, model, label_names)

    gr.Markdown(terminator_header(
        TITLE,
        "Upload or draw a digit; on the right, each block's 8x8 "
        "hyper-kernel, left to right (red positive, blue negative, each "
        "scaled to its own peak).",
        model, preset, "540 test digits",
    ))
    with gr.Row():
        with gr.Column():
            inputs = digit_inputs(api_prefix, "test #{index} (digit {label})")
        with gr.Column():
            status = status_line(f"{api_prefix}status")
            label = top_classes_label(api_prefix)
            gr.Markdown("**Global hyper-kernel of each block** (8x8, "
                        "block 0 on the left)")
            kernels = output_picture("Global hyper-kernels",
                                     f"{api_prefix}kernels",
                                     show_label=False)
    connect_digit_inputs(classify, inputs, [label, kernels], api_prefix,
                         status=status)
    return {**inputs, "label": label, "kernels": kernels, "status": status}


build_demo = standalone_builder(render, TITLE)


def tiny_terminator(spatial_shape, seed=0):
    """A small untrained Terminator classifier (10 classes), compiled.

    Two blocks of width 4, built in well under a second; for the tests
    and `python -m demos --tiny-test-model` of both Terminator tabs.

    Args:
        spatial_shape: tuple. `(8, 8)` for digits, `(40,)` for MNIST-1D.
        seed: int. Seed of the initialisers (`keras.utils.
            set_random_seed(seed)` as well).

    Returns:
        A compiled `zoo.TerminatorClassifier`.

    Example:

    ```python
    model = demos.terminator_digits.tiny_terminator((40,))
    ```
    """
    from zoo.terminator import TerminatorBackbone
    from zoo.terminator import TerminatorClassifier

    keras.utils.set_random_seed(seed)
    backbone = TerminatorBackbone(
        spatial_shape=spatial_shape, hidden_dims=(4, 4),
        local_kernel_sizes=(3,), slow_hidden_dim=4, slow_num_layers=1,
        local_hidden_dim=3, interact_hidden_dim=3, num_groups=2, seed=seed,
    )
    model = TerminatorClassifier(backbone, num_classes=10)
    model.compile()
    return model


_TINY_MODEL_DOC = """A tiny untrained Terminator on {inputs}, for tests.

    `demos.terminator_digits.tiny_terminator({spatial_shape})`.

    Args:
        seed: int. Seed of the initialisers.

    Returns:
        A compiled `zoo.TerminatorClassifier` on `(N, {dims}, 1)`.

    Example:

    ```python
    model = {module}.build_tiny_model()
    ```
    """


def tiny_model_builder(spatial_shape, inputs, module):
    """The `build_tiny_model(seed=0)` function of a Terminator tab.

    Both Terminator tabs define `build_tiny_model` with it: the function
    is documented and named as the module's own.

    Args:
        spatial_shape: tuple. The tab's spatial shape (see
            `tiny_terminator`).
        inputs: str. What the model reads, for the docstring (e.g.
            `"8x8 digits"`).
        module: str. Name of the tab's module (its `__name__`).

    Returns:
        A function `build_tiny_model(seed=0)` that returns
        `tiny_terminator(spatial_shape, seed)`.

    Example:

    ```python
    build_tiny_model = demos.terminator_digits.tiny_model_builder(
        (40,), "MNIST-1D sequences", __name__)
    ```
    """
    def build_tiny_model(seed=0):
        return tiny_terminator(spatial_shape, seed)

    build_tiny_model.__module__ = module
    build_tiny_model.__qualname__ = "build_tiny_model"
    build_tiny_model.__doc__ = _TINY_MODEL_DOC.format(
        inputs=inputs, spatial_shape=tuple(spatial_shape), module=module,
        dims=", ".join(str(d) for d in spatial_shape),
    )
    return build_tiny_model


build_tiny_model = tiny_model_builder(SPATIAL_SHAPE, "8x8 digits", __name__)
