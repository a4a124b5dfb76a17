"""Gradio demo of the `digits_cnn_hesso` preset: a CNN pruned by HESSO.

HESSO (Chen et al., 2024) zeroes whole channels of a dense digits CNN
(filters 128 and 256, trained by the preset's recipe) while it
fine-tunes, and `zoo.pruning.build_subnet` rebuilds the network without
them (the bundled preset keeps filters 28 and 68). The tab classifies a
digit with the compact model (inputs as in the other digit tabs:
`demos.components.digit_inputs`, upload, draw or a test-split example;
endpoints `"classify"` and `"classify_drawing"`, `"<tab>_classify"` and
`"<tab>_classify_drawing"` inside the hub) and shows the layer widths
and parameter counts before and after pruning, as a table and as bars,
with the dense and compact test accuracy.

Where the "before" widths come from (`dense_reference`): the
`dense_filters` argument of `render` if given, else the preset's
metadata (`dense_filters`, `dense_accuracy`, and `dense_preset` when
the dense network is a bundled preset), else the model's own
`dense_filters` attribute (the tiny model of `build_tiny_model` carries
`TINY_DENSE_FILTERS`, a tiny dense reference); with none of these they
are shown as "unknown". Parameter counts are computed from the widths
(`layer_rows`). The accuracies come from the preset's metadata
(measured on the 540 test digits when the preset was trained), never
measured by the tab.

A hub tab: the module contract is in `demos/hub.py`.
"""

import gradio as gr
import keras
import numpy as np

from demos.components import classify_sample
from demos.components import connect_digit_inputs
from demos.components import digit_features
from demos.components import digit_inputs
from demos.components import figure_axes
from demos.components import figure_to_picture
from demos.components import header_markdown
from demos.components import output_picture
from demos.components import preset_label_names
from demos.components import standalone_builder
from demos.components import status_line
from demos.components import top_classes
from demos.components import top_classes_label
from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data import DIGITS_CLASS_NAMES
from zoo.preset_utils import PresetError
from zoo.preset_utils import read_metadata

TITLE = "HESSO (structured pruning)"
SUMMARY = ("A digits CNN with whole channels removed by HESSO: layer "
           "widths before and after; upload or draw a digit.")
IMAGE_SHAPE = (8, 8, 1)
KERNEL_SIZE = 3  # the 3x3 convolutions of `zoo.DigitsCNNBackbone`
TINY_FILTERS = (3, 4)
TINY_DENSE_FILTERS = (4, 6)
TEST_SET = "540 test digits"
UNKNOWN = "unknown"


def layer_rows(filters, channels=1, num_classes=10):
    """Width and parameter count of every layer of a digits CNN.

    A block `i` is `conv_i` (a bias-free `KERNEL_SIZE` x `KERNEL_SIZE`
    convolution) and `bn_i` (4 parameters per channel, moving statistics
    included, as `keras.Model.count_params` counts them); the head
    `predictions` is a dense layer on the last block's channels (its
    input width).

    Args:
        filters: sequence of int. Filters of each block.
        channels: int. Input channels.
        num_classes: int. Width of the head.

    Returns:
        A list of dicts `{"layer", "width", "parameters"}`: one per block
        (`"conv_0"`, ...) and a last one, `"dense input"`, whose width is
        the head's input width; the parameters sum to `count_params()`
        of the `zoo.DigitsCNNClassifier`.

    Example:

    ```python
    demos.hesso.layer_rows((28, 68))
    # [{'layer': 'conv_0', 'width': 28, 'parameters': 364}, ...]
    ```
    """
    rows, inputs = [], int(channels)
    for i, width in enumerate(int(f) for f in filters):
        rows.append({"layer": f"conv_{i}", "width": width,
                     "parameters": (KERNEL_SIZE ** 2 * inputs + 4) * width})
        inputs = width
    rows.append({"layer": "dense input", "width": inputs,
                 "parameters": (inputs + 1) * num_classes})
    return rows


def _check_filters(filters, source):
    try:
        ok = len(filters) > 0 and all(
            int(f) == f and f > 0 and not isinstance(f, bool)
            for f in filters)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"The dense filters ({source}) must be a non-empty sequence of "
            f"positive ints, e.g. (32, 64). Received: {filters!r}"
        )
    return tuple(int(f) for f in filters)


def _metadata(preset):
    if not preset:
        return {}
    try:
        return read_metadata(preset) or {}
    except (PresetError, OSError, ValueError):
        return {}


def dense_reference(model, preset=None, dense_filters=None):
    """What the tab shows as "before": the dense network and its accuracy.

    The dense filters are `dense_filters` if given, else the preset's
    metadata `dense_filters`, else the model's `dense_filters` attribute
    (set by `build_tiny_model`), else unknown.

    Args:
        model: the compact `zoo.DigitsCNNClassifier`.
        preset: str or `None`. Preset the model came from.
        dense_filters: sequence of int or `None`. Filters of the dense
            network, overriding the other sources.

    Returns:
        A dict: `"filters"` (tuple of int, or `None` when unknown),
        `"source"` (str, where they come from), `"dense_accuracy"` and
        `"accuracy"` (floats from the preset's metadata, or `None`) and
        `"dense_preset"` (str, or `None` when the dense network is no
        bundled preset).

    Raises:
        ValueError: the filters found are not positive ints.

    Example:

    ```python
    demos.hesso.dense_reference(model, "digits_cnn_hesso")["filters"]
    # (128, 256)
    ```
    """
    metadata = _metadata(preset)
    candidates = (
        (dense_filters, "the `dense_filters` argument"),
        (metadata.get("dense_filters"), f"the metadata of `{preset}`"),
        (getattr(model, "dense_filters", None),
         "the model's `dense_filters` (tiny dense reference)"),
    )
    filters, source = None, "no preset metadata"
    for value, where in candidates:
        if value is not None:
            filters, source = _check_filters(value, where), where
            break
    return {
        "filters": filters, "source": source,
        "dense_accuracy": metadata.get("dense_accuracy"),
        "accuracy": (metadata.get("metrics") or {}).get("accuracy"),
        "dense_preset": metadata.get("dense_preset"),
    }


def _percent(value):
    return UNKNOWN if value is None else f"{100 * value:.1f}%"


def widths_table(before, after):
    """The Markdown table of widths and parameters, before -> after.

    Args:
        before: the `layer_rows` of the dense network, or `None`
            (unknown).
        after: the `layer_rows` of the compact network.

    Returns:
        A Markdown str: one row per layer of `after`, a `total` row
        (unknown values read `"unknown"`) and a note on the counts.

    Example:

    ```python
    demos.hesso.widths_table(demos.hesso.layer_rows((128, 256)),
                             demos.hesso.layer_rows((28, 68)))
    ```
    """
    lines = ["| layer | width before -> after | parameters before -> "
             "after |", "|---|---|---|"]
    by_layer = {r["layer"]: r for r in before or ()}
    for row in after:
        old = by_layer.get(row["layer"])
        width, count = ((old["width"], f"{old['parameters']:,}") if old
                        else (UNKNOWN, UNKNOWN))
        lines.append(f"| `{row['layer']}` | {width} -> {row['width']} | "
                     f"{count} -> {row['parameters']:,} |")
    total = sum(r["parameters"] for r in after)
    dense = sum(r["parameters"] for r in before or ())
    kept = f" ({100 * total / dense:.1f}% kept)" if dense else ""
    lines.append(f"| **total** | | **{f'{dense:,}' if dense else UNKNOWN}"
                 f" -> {total:,}**{kept} |")
    return "\n".join(lines) + (
        "\n\nA block's parameters include its BatchNormalization (4 per "
        "channel); `dense input` is the width the dense head reads.")


def widths_bars(before, after, dpi=100):
    """Bars of every layer's width, before (gray) and after (blue).

    Args:
        before: the `layer_rows` of the dense network, or `None`
            (unknown: only the "after" bars, and a note).
        after: the `layer_rows` of the compact network.
        dpi: int. Pixels per inch (figure 6.4 x 2.8 inches).

    Returns:
        uint8 array `(280, 640, 3)` with the default `dpi`.

    Example:

    ```python
    demos.hesso.widths_bars(demos.hesso.layer_rows((128, 256)),
                            demos.hesso.layer_rows((28, 68)))
    ```
    """
    fig, ax = figure_axes(6.4, 2.8, dpi)
    names = [r["layer"] for r in after]
    x = np.arange(len(names))
    by_layer = {r["layer"]: r["width"] for r in before or ()}
    old = [by_layer.get(name, 0) for name in names]
    new = [r["width"] for r in after]
    if before:
        bars = ax.bar(x - 0.2, old, 0.4, color="#bdbdbd", label="before")
        ax.bar_label(bars, fontsize=8)
    else:
        ax.set_title(f"before pruning: {UNKNOWN}", fontsize=9)
    bars = ax.bar(x + (0.2 if before else 0.0), new, 0.4,
                  color="#08519c", label="after")
    ax.bar_label(bars, fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.3 * max(old + new + [1]))
    ax.set_ylabel("channels")
    ax.legend(loc="upper left", ncols=2, fontsize=8)
    return figure_to_picture(fig)


def predict(image, model, label_names=DIGITS_CLASS_NAMES):
    """The three most probable classes of a digit, by the compact model.

    The picture is read and classified alone as in
    `demos.terminator_digits.predict` (64 features, as `(8, 8, 1)`).

    Args:
        image: a picture or a Sketchpad value, as
            `demos.components.digit_features` reads it.
        model: the compact `zoo.DigitsCNNClassifier` (logits out).
        label_names: sequence of str. Class names, in logit order.

    Returns:
        A dict `{label: probability}`, most probable first.

    Raises:
        gr.Error: no picture, or one that is not a digit (see
            `demos.components.digit_features`).

    Example:

    ```python
    demos.hesso.predict(np.asarray(PIL.Image.open("digit.png")),
                        zoo.load("digits_cnn_hesso"))
    ```
    """
    sample = digit_features(image, "image").reshape(IMAGE_SHAPE)
    probs = classify_sample(model, sample, label_names)
    return top_classes(list(probs.values()), label_names)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    shape = tuple(getattr(backbone, "image_shape", ()) or ())
    if not isinstance(model, keras.Model) or shape != IMAGE_SHAPE or \
            not isinstance(backbone, DigitsCNNBackbone):
        raise ValueError(
            "The HESSO demo needs a zoo.DigitsCNNClassifier on (N, 8, 8, 1) "
            f"digits. Received: {type(model).__name__} with backbone "
            f"{type(backbone).__name__} and image_shape {shape or None}."
        )


def _dense_name(reference):
    if reference["dense_preset"]:
        return f"`{reference['dense_preset']}` "
    if reference["filters"]:
        return f"(filters {', '.join(map(str, reference['filters']))}) "
    return ""


def _header(reference, preset):
    accuracy = (
        f"Test accuracy ({TEST_SET}, from the preset's metadata, measured "
        "when it was trained): dense "
        f"{_dense_name(reference)}"
        f"**{_percent(reference['dense_accuracy'])}**, compact "
        f"`{preset}` **{_percent(reference['accuracy'])}**."
        if preset and reference["accuracy"] is not None else
        "Test accuracy: not available (model not loaded from a preset)."
    )
    return header_markdown(
        TITLE,
        "HESSO (Chen et al., 2024) zeroes whole conv channels of a dense "
        "digits CNN while it fine-tunes; the network is then rebuilt "
        "without them (`zoo.pruning.build_subnet`). Upload or draw a "
        "digit: the compact model classifies it. The table and the bars "
        "compare the layer widths before and after pruning ("
        f"\"before\" from {reference['source']}).",
        accuracy,
    )


def render(model, api_prefix="", preset=None, dense_filters=None):
    """Adds the HESSO tab to the open Blocks (see `demos/hub.py`).

    Endpoints of `demos.components.connect_digit_inputs`:
    `f"{api_prefix}classify"` (picture) and
    `f"{api_prefix}classify_drawing"` (Sketchpad).

    Args:
        model: the compact `zoo.DigitsCNNClassifier` on `(N, 8, 8, 1)`.
        api_prefix, preset: see the module contract in `demos/hub.py`;
            the preset's metadata gives the dense filters and both test
            accuracies.
        dense_filters: sequence of int or `None`. Filters of the dense
            network ("before"); see `dense_reference`.

    Returns:
        A dict of the created components: those of
        `demos.components.digit_inputs`, `label`, `status`, `table`,
        `widths`.

    Raises:
        ValueError: the model does not fit the demo, or bad dense
            filters.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.hesso.render(zoo.load("digits_cnn_hesso"),
                           api_prefix="hesso_",
                           preset="digits_cnn_hesso")
    ```
    """
    _check_model(model)
    reference = dense_reference(model, preset, dense_filters)
    label_names = preset_label_names(preset)
    channels, num_classes = IMAGE_SHAPE[-1], model.num_classes
    after = layer_rows(model.backbone.filters, channels, num_classes)
    before = (layer_rows(reference["filters"], channels, num_classes)
              if reference["filters"] else None)

    def classify(image):
        return predict(image, model, label_names)

    gr.Markdown(_header(reference, preset))
    with gr.Row():
        with gr.Column():
            inputs = digit_inputs(api_prefix, "{label} (test #{index})")
        with gr.Column():
            status = status_line(f"{api_prefix}status")
            label = top_classes_label(api_prefix)
            table = gr.Markdown(widths_table(before, after),
                                elem_id=f"{api_prefix}widths-table")
            widths = output_picture(
                "Layer widths before and after pruning",
                f"{api_prefix}widths", value=widths_bars(before, after))
    connect_digit_inputs(classify, inputs, [label], api_prefix,
                         status=status)
    return {**inputs, "label": label, "status": status, "table": table,
            "widths": widths}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(seed=0):
    """A tiny untrained digits CNN (filters 3 and 4), for tests.

    It stands for a compact model pruned from a tiny dense reference
    with filters `TINY_DENSE_FILTERS` (4 and 6), which it carries as its
    `dense_filters` attribute (the "before" of the tab without preset).

    Args:
        seed: int. Seed of the initialisers.

    Returns:
        A compiled `zoo.DigitsCNNClassifier` on `(N, 8, 8, 1)`.

    Example:

    ```python
    model = demos.hesso.build_tiny_model()
    model.dense_filters  # (4, 6)
    ```
    """
    keras.utils.set_random_seed(seed)
    model = DigitsCNNClassifier(
        DigitsCNNBackbone(filters=TINY_FILTERS, seed=seed), num_classes=10)
    model.compile()
    model.dense_filters = TINY_DENSE_FILTERS
    return model
