"""Pieces shared by the demo tabs: errors, digit input, pictures, headers.

Every demo module of the hub (see `demos/hub.py`) builds its tab from
these functions instead of its own copy or another tab's private helper:

- Errors and checks: `user_error`, `check_whole_number`,
  `digit_features` (a picture or Sketchpad value to 64 digit features).
- Scores: `to_numpy`, `softmax`, `scores_to_probabilities`,
  `top_classes`.
- Layout: `digit_inputs` and `connect_digit_inputs` (the Upload/Draw
  column of the digit tabs, with its test-split examples from
  `write_digit_examples`), `output_picture` (a read-only picture).
- Pictures: `figure_to_picture` (a matplotlib figure to RGB) and
  `heatmap_tiles` (arrays as `RdBu_r` tiles on a gray grid).
- Headers: `preset_metrics`, `preset_label_names`, `header_markdown`,
  `accuracy_line`, and for both Terminator tabs
  `check_terminator_model` and `terminator_header`.
- Apps: `standalone_demo` and `set_queue` (the queue of the hub and of
  every standalone demo).

Element ids and endpoint names are built from the `api_prefix` a tab's
`render` receives, exactly as the tabs did before they shared them.
"""

import os
import tempfile

import gradio as gr
import keras
import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from zoo.data import DIGITS_CLASS_NAMES
from zoo.data import load_digits
from zoo.hyper_mlp import digit_image_to_features
from zoo.hyper_mlp import features_to_image
from zoo.preset_utils import PresetError
from zoo.preset_utils import read_metadata

QUEUE_MAX_SIZE = 16
DEFAULT_CONCURRENCY_LIMIT = 2
EXPECTED_INPUT = (
    "Expected a picture of one handwritten digit (PNG, JPEG or WebP; "
    "grayscale, RGB or RGBA; at least 8x8 pixels), dark ink on a light "
    "background or light ink on a dark one."
)
TERMINATOR_CONTEXT_SIZE = 99
TERMINATOR_BATCH_SENTENCE = (
    "The blocks standardise with the statistics of the current batch, so "
    "your input is classified inside a fixed batch with the first "
    f"{TERMINATOR_CONTEXT_SIZE} test samples, as in the evaluation."
)


# ----------------------------------------------------------------------
# Errors, checks and scores
# ----------------------------------------------------------------------
def user_error(message):
    """A `gr.Error` for an expected user mistake (no server traceback).

    The message is shown in the UI and to API clients; the exception is
    not printed as a server-side traceback.

    Args:
        message: str. What was wrong and what was expected.

    Returns:
        A `gr.Error` with `print_exception=False`, to raise.

    Example:

    ```python
    raise demos.components.user_error("No picture received.")
    ```
    """
    return gr.Error(message, print_exception=False)


def check_whole_number(value, name, size, description=None):
    """Returns `value` as an int in `[0, size)` or raises `user_error`.

    Accepts what UI components and API clients send: an int, an integral
    float or a string of digits; a bool is refused.

    Args:
        value: the value to check.
        name: str. Argument name, quoted in the message.
        size: int. Exclusive upper bound.
        description: str or `None`. What the number selects, put in
            parentheses after the range (e.g. `"a test initial
            condition"`).

    Returns:
        The int.

    Raises:
        gr.Error: `value` is not a whole number in `[0, size)`; the
            message names the argument and the valid range.

    Example:

    ```python
    demos.components.check_whole_number("3", "index", 10)  # 3
    ```
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number.is_integer() \
            or not 0 <= number < size:
        about = f" ({description})" if description else ""
        raise user_error(
            f"`{name}` must be a whole number in [0, {size - 1}]{about}. "
            f"Received: {name}={value!r}"
        )
    return int(number)


def to_numpy(x):
    """Converts a backend tensor (or array-like) to a numpy array.

    Args:
        x: a tensor of the current Keras backend, or an array-like.

    Returns:
        A numpy array.

    Example:

    ```python
    demos.components.to_numpy(keras.ops.ones((2,)))  # array([1., 1.])
    ```
    """
    return np.asarray(keras.ops.convert_to_numpy(x))


def softmax(logits):
    """Softmax of a vector of logits, in float64.

    Args:
        logits: 1-D array-like of floats.

    Returns:
        float64 array of the same shape, summing to 1.

    Example:

    ```python
    demos.components.softmax([0.0, 0.0])  # array([0.5, 0.5])
    ```
    """
    logits = np.asarray(logits, dtype="float64")
    logits = logits - logits.max()
    exp = np.exp(logits)
    return exp / exp.sum()


def scores_to_probabilities(model, scores):
    """Class probabilities from a model's scores for one sample.

    Scores go through `softmax` unless the model's `activation` is
    `"softmax"` (then they are probabilities already).

    Args:
        model: the model that produced the scores.
        scores: 1-D array-like, one score per class.

    Returns:
        float64 array of probabilities, summing to 1.

    Example:

    ```python
    probs = demos.components.scores_to_probabilities(model, logits[0])
    ```
    """
    if getattr(model, "activation", None) == "softmax":
        return np.asarray(scores, dtype="float64")
    return softmax(scores)


def top_classes(probs, label_names, k=3):
    """The `k` most probable classes, for a `gr.Label`.

    Ties keep the class order (stable sort).

    Args:
        probs: 1-D array of probabilities, in class order.
        label_names: sequence of str. Class names, in class order.
        k: int. How many classes.

    Returns:
        A dict `{label: probability}`, most probable first.

    Example:

    ```python
    demos.components.top_classes([0.1, 0.7, 0.2], "abc", k=2)
    # {'b': 0.7, 'c': 0.2}
    ```
    """
    top = np.argsort(-np.asarray(probs), kind="stable")[:k]
    return {str(label_names[i]): float(probs[i]) for i in top}


# ----------------------------------------------------------------------
# Digit pictures: input, features, examples
# ----------------------------------------------------------------------
def _image_array(image):
    """Unwraps a Sketchpad/ImageEditor dict to its composite picture."""
    if isinstance(image, dict):
        if "composite" not in image:
            raise user_error(
                "Received a dict without a 'composite' picture. "
                + EXPECTED_INPUT
            )
        image = image["composite"]
    return image


def digit_features(image, argument=None):
    """The 64 features of a digit picture, or a `user_error`.

    The picture (or the Sketchpad's composite) goes through
    `zoo.hyper_mlp.digit_image_to_features` (grayscale, ink polarity,
    crop, 8x8 resize).

    Args:
        image: a numpy array `(H, W)`, `(H, W, 1)`, `(H, W, 3)` or
            `(H, W, 4)` (uint8 0-255 or float 0-1), or a
            Sketchpad/ImageEditor dict with a `"composite"` picture.
        argument: str or `None`. Argument name for the messages (e.g.
            `"image"`); `None` leaves it out.

    Returns:
        float32 array `(64,)` in `[0, 1]`.

    Raises:
        gr.Error: no picture, or one that cannot be read as a digit;
            the message ends with `EXPECTED_INPUT`.

    Example:

    ```python
    features = demos.components.digit_features(
        np.asarray(PIL.Image.open("digit.png")))
    ```
    """
    received = f" for `{argument}`" if argument else ""
    source = f" from `{argument}`" if argument else ""
    image = _image_array(image)
    if image is None:
        raise user_error(f"No picture received{received}. " + EXPECTED_INPUT)
    try:
        return digit_image_to_features(image)
    except ValueError as exc:
        raise user_error(
            f"Could not read a digit{source}: {exc} {EXPECTED_INPUT}"
        ) from exc


def _examples_dir():
    root = os.environ.get("GRADIO_TEMP_DIR") or os.path.join(
        tempfile.gettempdir(), "gradio"
    )
    return os.path.join(root, "hyperzoo", "hyper_mlp_digits_examples")


def write_digit_examples(directory=None, scale=16):
    """Writes one test-split digit per class as a PNG, once.

    The first test image of each class (`zoo.data.load_digits("test")`)
    is rendered with `zoo.hyper_mlp.features_to_image` (dark ink on
    white). Existing files are reused; new ones are written atomically.

    Args:
        directory: str or `None`. Target folder; default
            `<GRADIO_TEMP_DIR or tmp/gradio>/hyperzoo/
            hyper_mlp_digits_examples`.
        scale: int. Screen pixels per digit pixel (128x128 PNGs).

    Returns:
        A list of `(path, label, test_index)`, sorted by label.

    Example:

    ```python
    for path, label, index in demos.components.write_digit_examples():
        print(path, label)
    ```
    """
    directory = directory or _examples_dir()
    os.makedirs(directory, exist_ok=True)
    x_test, y_test = load_digits(split="test")
    examples = []
    for label in range(len(DIGITS_CLASS_NAMES)):
        index = int(np.flatnonzero(y_test == label)[0])
        path = os.path.join(
            directory, f"digit_{label}_test_{index}_x{scale}.png"
        )
        if not os.path.isfile(path):
            fd, tmp = tempfile.mkstemp(suffix=".png", dir=directory)
            os.close(fd)
            Image.fromarray(features_to_image(x_test[index], scale)).save(
                tmp
            )
            os.replace(tmp, path)
        examples.append((path, DIGITS_CLASS_NAMES[label], index))
    return examples


def digit_inputs(api_prefix, example_label, image_label="Digit picture",
                 size=240):
    """Adds the Upload and Draw tabs of a digit classifier.

    Call it inside an open `gr.Column`. The Upload tab holds a
    `gr.Image` (upload, clipboard; RGBA keeps transparency), a
    "Classify" button and `gr.Examples` of `write_digit_examples` (with
    Gradio's undocumented endpoint `f"{api_prefix}load_example"`); the
    Draw tab holds a `gr.Sketchpad` and a "Classify drawing" button.
    Element ids: `f"{api_prefix}digit-image"`,
    `f"{api_prefix}classify-button"`, `f"{api_prefix}digit-sketch"`,
    `f"{api_prefix}classify-drawing-button"`. Wire the buttons with
    `connect_digit_inputs`.

    Args:
        api_prefix: str. Prefix of the element ids and endpoint names.
        example_label: str. Format of an example's label, with the
            fields `{label}` and `{index}` (test-split index), e.g.
            `"{label} (test #{index})"`.
        image_label: str. Label of the picture input.
        size: int. Height of the picture input and side of the canvas,
            in pixels.

    Returns:
        A dict of the created components: `image`, `button`, `sketch`,
        `draw_button`.

    Example:

    ```python
    with gr.Blocks():
        with gr.Column():
            inputs = demos.components.digit_inputs(
                "digits_", "{label} (test #{index})")
    ```
    """
    examples = write_digit_examples()
    with gr.Tab("Upload"):
        image = gr.Image(
            type="numpy",
            image_mode="RGBA",
            sources=["upload", "clipboard"],
            label=image_label,
            height=size,
            elem_id=f"{api_prefix}digit-image",
        )
        button = gr.Button(
            "Classify", variant="primary",
            elem_id=f"{api_prefix}classify-button",
        )
        gr.Examples(
            examples=[[path] for path, _, _ in examples],
            inputs=[image],
            example_labels=[
                example_label.format(label=label, index=index)
                for _, label, index in examples
            ],
            cache_examples=False,
            label="Test-split digits",
            api_name=f"{api_prefix}load_example",
        )
    with gr.Tab("Draw"):
        sketch = gr.Sketchpad(
            type="numpy",
            label="Draw a digit (pick the brush on the left)",
            canvas_size=(size, size),
            elem_id=f"{api_prefix}digit-sketch",
        )
        draw_button = gr.Button(
            "Classify drawing", variant="primary",
            elem_id=f"{api_prefix}classify-drawing-button",
        )
    return {"image": image, "button": button, "sketch": sketch,
            "draw_button": draw_button}


def connect_digit_inputs(fn, inputs, outputs, api_prefix, extra=()):
    """Wires the buttons of `digit_inputs` to a classify function.

    The "Classify" button sends the picture, the "Classify drawing"
    button the Sketchpad value, each followed by the `extra` inputs.
    Endpoints: `f"{api_prefix}classify"` and
    `f"{api_prefix}classify_drawing"`, in that order.

    Args:
        fn: callable. Takes the picture (or Sketchpad value) and one
            value per `extra` component; returns one value per output.
        inputs: dict returned by `digit_inputs`.
        outputs: list of output components.
        api_prefix: str. Prefix of the endpoint names.
        extra: sequence of further input components (e.g. a task id).

    Returns:
        `None`.

    Example:

    ```python
    demos.components.connect_digit_inputs(
        classify, inputs, [label, weights], "digits_")
    ```
    """
    for button, source, verb in (
        (inputs["button"], inputs["image"], "classify"),
        (inputs["draw_button"], inputs["sketch"], "classify_drawing"),
    ):
        button.click(
            fn,
            inputs=[source, *extra],
            outputs=outputs,
            api_name=f"{api_prefix}{verb}",
        )


def output_picture(label, elem_id, **kwargs):
    """A read-only numpy picture output, sent to the browser as PNG.

    Args:
        label: str. Label of the component.
        elem_id: str. Element id.
        **kwargs: further `gr.Image` arguments (e.g. `height`, `value`,
            `show_label`).

    Returns:
        A `gr.Image(type="numpy", format="png", interactive=False)`.

    Example:

    ```python
    plot = demos.components.output_picture("NRMSE", "fc_curve")
    ```
    """
    return gr.Image(type="numpy", format="png", interactive=False,
                    label=label, elem_id=elem_id, **kwargs)


# ----------------------------------------------------------------------
# Pictures
# ----------------------------------------------------------------------
def figure_to_picture(fig):
    """Renders a matplotlib figure to an RGB picture (no pyplot state).

    The figure gets an Agg canvas, a `tight_layout` and is drawn.

    Args:
        fig: a `matplotlib.figure.Figure`.

    Returns:
        uint8 array `(height * dpi, width * dpi, 3)`.

    Example:

    ```python
    fig = matplotlib.figure.Figure(figsize=(6.4, 2.4), dpi=100)
    fig.add_subplot().plot([0, 1])
    demos.components.figure_to_picture(fig).shape  # (240, 640, 3)
    ```
    """
    canvas = FigureCanvasAgg(fig)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def heatmap_tiles(tiles, cell, gap, columns, peak=None):
    """Draws 2-D arrays as `RdBu_r` heatmap tiles on a light gray grid.

    Values are divided by `peak` (or each tile by its own largest
    absolute value) and coloured with the diverging `RdBu_r` colormap
    (red positive, blue negative, white zero). Tiles fill rows of
    `columns` tiles, in order, with `gap` pixels of gray (230) around
    and between them.

    Args:
        tiles: non-empty sequence of 2-D float arrays of one shape.
        cell: tuple `(height, width)`. Screen pixels per value.
        gap: int. Pixels of gray between tiles.
        columns: int. Tiles per row.
        peak: float or `None`. One scale for all tiles, or `None` for
            each tile's own peak (a zero peak counts as 1).

    Returns:
        uint8 array `(rows * (tile_h + gap) + gap,
        columns * (tile_w + gap) + gap, 3)`.

    Example:

    ```python
    demos.components.heatmap_tiles([np.eye(8)], (24, 24), 4, 1).shape
    # (200, 200, 3)
    ```
    """
    rows = -(-len(tiles) // columns)
    tile_h = tiles[0].shape[0] * cell[0]
    tile_w = tiles[0].shape[1] * cell[1]
    picture = np.full(
        (rows * (tile_h + gap) + gap, columns * (tile_w + gap) + gap, 3),
        230, dtype="uint8",
    )
    colours = colormaps["RdBu_r"]
    for i, values in enumerate(tiles):
        scale = peak if peak is not None else (
            float(np.abs(values).max()) or 1.0
        )
        rgb = np.round(255 * colours((values / scale + 1) / 2)[..., :3])
        rgb = np.repeat(np.repeat(rgb.astype("uint8"), cell[0], axis=0),
                        cell[1], axis=1)
        row, col = divmod(i, columns)
        top = gap + row * (tile_h + gap)
        left = gap + col * (tile_w + gap)
        picture[top: top + tile_h, left: left + tile_w] = rgb
    return picture


# ----------------------------------------------------------------------
# Preset metadata and headers
# ----------------------------------------------------------------------
def preset_metrics(preset):
    """The `metrics` of a preset's metadata, or `{}`.

    Args:
        preset: str or `None`. Preset name.

    Returns:
        A dict; empty when `preset` is `None` or its metadata cannot be
        read (a header must not break the tab).

    Example:

    ```python
    demos.components.preset_metrics("hyper_mlp_digits")["accuracy"]
    ```
    """
    if not preset:
        return {}
    try:
        return read_metadata(preset).get("metrics", {}) or {}
    except (PresetError, OSError, ValueError):
        return {}


def preset_label_names(preset, default=DIGITS_CLASS_NAMES):
    """The class names stored in a preset's metadata, or `default`.

    Args:
        preset: str or `None`. Preset name.
        default: sequence of str. Names when the preset has none.

    Returns:
        A tuple of str.

    Example:

    ```python
    demos.components.preset_label_names("hyper_mlp_digits")  # ('0', ...)
    ```
    """
    if preset is None:
        return default
    try:
        names = read_metadata(preset).get("label_names")
    except (PresetError, OSError, ValueError):
        names = None
    return tuple(names) if names else default


def header_markdown(title, *paragraphs):
    """The Markdown header of a tab: a `###` title and paragraphs.

    Args:
        title: str. The tab's title.
        *paragraphs: str. Paragraphs, in order.

    Returns:
        A Markdown str (blocks separated by blank lines).

    Example:

    ```python
    demos.components.header_markdown("HyperMLP digits", "An MLP ...")
    ```
    """
    return "\n\n".join([f"### {title}", *paragraphs])


def accuracy_line(preset, accuracy, test_set):
    """The header line with a preset's test accuracy, or why there is none.

    Args:
        preset: str or `None`. Preset name.
        accuracy: float in `[0, 1]` or `None`.
        test_set: str. What the accuracy was measured on (e.g. `"540
            test digits"`).

    Returns:
        A Markdown str.

    Example:

    ```python
    demos.components.accuracy_line("hyper_mlp_digits", 0.967,
                                   "540 test digits")
    ```
    """
    if accuracy is None:
        return ("Test accuracy: not available (model not loaded from a "
                "preset).")
    return (
        f"Preset `{preset}`: test accuracy **{100 * accuracy:.1f}%** "
        f"({test_set}, from the preset's metadata)."
    )


def check_terminator_model(model, spatial_shape, num_classes=10):
    """Checks that a model fits a Terminator tab (one input channel).

    Args:
        model: the model to check.
        spatial_shape: tuple. Expected `backbone.spatial_shape`.
        num_classes: int. Expected `num_classes`.

    Returns:
        `None`.

    Raises:
        ValueError: not a `zoo.TerminatorClassifier` with that spatial
            shape, 1 input channel and that class count; the message
            lists what was expected and what was found.

    Example:

    ```python
    demos.components.check_terminator_model(model, (8, 8))
    ```
    """
    backbone = getattr(model, "backbone", None)
    found = {
        "spatial_shape": getattr(backbone, "spatial_shape", None),
        "input_channels": getattr(backbone, "input_channels", None),
        "num_classes": getattr(model, "num_classes", None),
    }
    expected = {"spatial_shape": tuple(spatial_shape), "input_channels": 1,
                "num_classes": num_classes}
    if found != expected or not hasattr(backbone, "global_kernels"):
        raise ValueError(
            "This demo needs a zoo.TerminatorClassifier with "
            + ", ".join(f"{k}={v!r}" for k, v in expected.items())
            + f". Received: {type(model).__name__} with "
            + ", ".join(f"{k}={v!r}" for k, v in found.items()) + "."
        )


def terminator_header(title, intro, model, preset, test_set):
    """The Markdown header of a Terminator tab.

    Args:
        title: str. The tab's title.
        intro: str. What the tab does, appended to the model summary.
        model: a `zoo.TerminatorClassifier`.
        preset: str or `None`. Preset the model came from; its metadata
            gives the test accuracy.
        test_set: str. What the accuracy was measured on.

    Returns:
        A Markdown str.

    Example:

    ```python
    demos.components.terminator_header(
        "Terminator digits", "Upload a digit.", model,
        "terminator_2d_digits", "540 test digits")
    ```
    """
    widths = "-".join(str(w) for w in model.backbone.hidden_dims)
    return header_markdown(
        title,
        f"A Terminator (Zhang, 2024) with {len(model.backbone.hidden_dims)}"
        f" HyperZ·Z·W blocks (widths {widths}) and no residual sums. "
        "In every block a slow network generates a global hyper-kernel "
        "that multiplies the feature maps (full-context interaction). "
        + intro,
        TERMINATOR_BATCH_SENTENCE,
        accuracy_line(preset, preset_metrics(preset).get("accuracy"),
                      test_set),
    )


# ----------------------------------------------------------------------
# Apps
# ----------------------------------------------------------------------
def set_queue(blocks):
    """Sets the demos' queue on an app and returns it.

    `queue(max_size=16, default_concurrency_limit=2)`, as in the hub.

    Args:
        blocks: a `gr.Blocks`.

    Returns:
        `blocks`.

    Example:

    ```python
    demos.components.set_queue(demo).launch()
    ```
    """
    blocks.queue(
        max_size=QUEUE_MAX_SIZE,
        default_concurrency_limit=DEFAULT_CONCURRENCY_LIMIT,
    )
    return blocks


def standalone_demo(render, model, preset, title):
    """Builds a standalone app of one tab, queued as in the hub.

    The app is titled `f"hyperzoo: {title}"`; `render` runs without an
    `api_prefix`, so the endpoints carry the bare verbs (`/classify`).

    Args:
        render: a demo module's `render(model, api_prefix, preset)`.
        model: the model (or models) `render` takes.
        preset: str or `None`. Preset the model came from.
        title: str. The tab's title.

    Returns:
        A `gr.Blocks`, not launched.

    Example:

    ```python
    demo = demos.components.standalone_demo(
        demos.hyper_mlp_digits.render, model, None, "HyperMLP digits")
    ```
    """
    with gr.Blocks(title=f"hyperzoo: {title}") as demo:
        render(model, preset=preset)
    return set_queue(demo)
