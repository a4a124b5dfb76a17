"""Pieces shared by the demo tabs: errors, digit input, pictures, headers.

Every demo module of the hub (see `demos/hub.py`) builds its tab from
these functions instead of its own copy or another tab's private helper:

- Errors and checks: `user_error`, `check_whole_number`,
  `check_choice`, `digit_features` (a picture or Sketchpad value to 64
  digit features), `load_picture` (bounded decoding of an uploaded file).
- API-facing inputs: `digit_image`, `digit_sketchpad`, `unchecked`,
  `int_radio`: Gradio components whose preprocessing never raises a
  server-side traceback, so that the tab's own function checks the
  value and names the argument.
- Scores: `to_numpy`, `softmax`, `scores_to_probabilities`,
  `top_classes`, `check_scores` and `classify_sample` (one sample
  classified alone); `read_only_arrays` for data cached per process.
- Layout: `digit_inputs` and `connect_digit_inputs` (the Upload/Draw
  column of the digit tabs, with its test-split examples from
  `write_digit_examples`), `index_slider` (pick a sample),
  `run_controls` (an action's button, status line and summary),
  `top_classes_label` (the top-3 output), `output_picture` (a
  read-only picture).
- Pictures: `figure_axes` and `figure_to_picture` (a matplotlib figure
  and its RGB picture) and `heatmap_tiles` (arrays as `RdBu_r` tiles on
  a gray grid).
- Headers: `preset_metrics`, `preset_label_names`, `header_markdown`,
  `mlp_widths`, `accuracy_line`, and for both Terminator tabs
  `check_terminator_model` and `terminator_header`.
- Apps: `standalone_demo`, `standalone_builder` (a module's
  `build_demo`) and `set_queue` (the queue of the hub and of every
  standalone demo), `wire` (an event with the hub's conventions:
  progress in a status line, no empty Error badge in output panels).

Element ids and endpoint names are built from the `api_prefix` a tab's
`render` receives, exactly as the tabs did before they shared them.
"""

import base64
import io
import logging
import os
import tempfile
import threading
import warnings

import gradio as gr
import keras
import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

from zoo.data import DIGITS_CLASS_NAMES
from zoo.data import load_digits
from zoo.hyper_mlp import digit_image_to_features
from zoo.hyper_mlp import features_to_image
from zoo.preset_utils import PresetError
from zoo.preset_utils import read_metadata

logger = logging.getLogger(__name__)

# Queue of the hub and of every standalone demo (see `set_queue`).
QUEUE_MAX_SIZE = 64
DEFAULT_CONCURRENCY_LIMIT = 2
# Uploaded pictures: refused above MAX_PICTURE_PIXELS (checked from the
# header, before decoding), downscaled to MAX_PICTURE_SIDE otherwise.
MAX_PICTURE_PIXELS = 25_000_000
MAX_PICTURE_SIDE = 1024
# Largest file the hub accepts at upload (`launch(max_file_size=...)`).
MAX_UPLOAD_SIZE = "10mb"
EXPECTED_INPUT = (
    "Expected a picture of one handwritten digit (PNG, JPEG or WebP; "
    "grayscale, RGB, RGBA, palette or 16-bit; at least 8x8 pixels and at "
    f"most {MAX_PICTURE_PIXELS // 1_000_000} megapixels), dark ink on a "
    "light background or light ink on a dark one."
)
TERMINATOR_BATCH_SENTENCE = (
    "Your input is classified alone (a batch of one): the prediction does "
    "not depend on other samples."
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


def check_choice(value, name, choices):
    """Returns `value` if it is one of `choices`, else raises `user_error`.

    Args:
        value: the value to check.
        name: str. Argument name, quoted in the message.
        choices: sequence of the accepted values.

    Returns:
        `value`.

    Raises:
        gr.Error: `value` is not one of `choices` (compared with `==`
            on hashable values only); the message names the argument and
            lists the choices.

    Example:

    ```python
    demos.components.check_choice("noise", "shift", ("noise", "blur"))
    ```
    """
    try:
        ok = value in list(choices) and not isinstance(value, bool)
    except TypeError:
        ok = False
    if not ok:
        raise user_error(
            f"`{name}` must be one of {list(choices)}. Received: "
            f"{name}={value!r}"
        )
    return value


def check_number(value, name, low, high):
    """Returns `value` as a float in `[low, high]` or raises `user_error`.

    Accepts an int, a float or a numeric string; a bool, NaN or infinity
    is refused.

    Args:
        value: the value to check.
        name: str. Argument name, quoted in the message.
        low: float. Smallest accepted value.
        high: float. Largest accepted value.

    Returns:
        The float.

    Raises:
        gr.Error: `value` is not a finite number in `[low, high]`; the
            message names the argument and the range.

    Example:

    ```python
    demos.components.check_number("75", "lam", 0, 150)  # 75.0
    ```
    """
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = float("nan")
    if isinstance(value, bool) or not low <= number <= high:
        raise user_error(
            f"`{name}` must be a number in [{low:g}, {high:g}]. Received: "
            f"{name}={value!r}"
        )
    return number


_MODEL_LOCKS = {}
_MODEL_LOCKS_GUARD = threading.Lock()


def model_lock(model):
    """A lock per model, for calls that are not thread-safe.

    With the JAX backend, Keras' `predict` / `predict_on_batch` on one
    model from two threads at once fails ("Buffer has been deleted or
    donated": the predict step donates the model's state buffers), and
    the hub runs two requests at once (`DEFAULT_CONCURRENCY_LIMIT`).
    Tabs that go through `predict` hold this lock; direct calls
    (`model(x, training=False)`) do not need it.

    Args:
        model: any object (the lock is keyed by its `id`, and kept for
            the life of the process, as the hub's models are).

    Returns:
        A `threading.Lock`, the same for the same model.

    Example:

    ```python
    with demos.components.model_lock(model):
        y = model.predict_on_batch(x)
    ```
    """
    with _MODEL_LOCKS_GUARD:
        return _MODEL_LOCKS.setdefault(id(model), threading.Lock())


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


def check_scores(scores, label_names):
    """Returns a model's scores for one sample if there is one per label.

    Args:
        scores: array-like, the model's output for one sample.
        label_names: sequence of str. Class names, in score order.

    Returns:
        `scores`.

    Raises:
        ValueError: `scores` is not of shape `(len(label_names),)`; the
            message gives the shape and the labels.

    Example:

    ```python
    demos.components.check_scores(np.zeros(3), ("a", "b", "c"))
    ```
    """
    if np.shape(scores) != (len(label_names),):
        raise ValueError(
            f"The model returned {np.shape(scores)} scores for "
            f"{len(label_names)} labels: {tuple(label_names)}."
        )
    return scores


def classify_sample(model, sample, label_names):
    """Class probabilities of one sample, classified alone.

    The model sees a batch of one (`sample[None]` in float32,
    `training=False`): the prediction does not depend on any other
    sample. Its scores are checked with `check_scores` and go through
    `scores_to_probabilities`.

    Args:
        model: a classifier mapping `(N, *sample.shape)` to
            `(N, len(label_names))` scores.
        sample: array-like, one input without the batch axis.
        label_names: sequence of str. Class names, in score order.

    Returns:
        A dict `{label: probability}` over all classes, in class order
        (sums to 1).

    Raises:
        ValueError: the model returns a score count other than
            `len(label_names)`.

    Example:

    ```python
    probs = demos.components.classify_sample(
        model, features, zoo.data.DIGITS_CLASS_NAMES)
    ```
    """
    sample = np.asarray(sample, dtype="float32")
    scores = to_numpy(model(sample[None], training=False))[0]
    probs = scores_to_probabilities(model, check_scores(scores, label_names))
    return {str(name): float(p) for name, p in zip(label_names, probs)}


def read_only_arrays(*arrays):
    """Read-only numpy copies of arrays (for data cached per process).

    Args:
        *arrays: array-likes.

    Returns:
        A tuple of numpy arrays, one per argument, with `writeable`
        unset.

    Example:

    ```python
    x, y = demos.components.read_only_arrays(*zoo.data.load_digits())
    ```
    """
    arrays = tuple(np.array(a) for a in arrays)
    for array in arrays:
        array.setflags(write=False)
    return arrays


# ----------------------------------------------------------------------
# API-facing input components
# ----------------------------------------------------------------------
class BadPicture:
    """A picture that could not be read: the message, not an exception.

    `digit_image` and `digit_sketchpad` hand it to the tab's function
    instead of raising during Gradio's preprocessing, so that the tab
    shows the message in its status line (and an API client gets it as
    the endpoint's error) with no server-side traceback.

    Args:
        message: str. What was wrong and what was expected.

    Example:

    ```python
    demos.components.digit_features(BadPicture("Not a picture."))
    # raises gr.Error("Not a picture.")
    ```
    """

    def __init__(self, message):
        self.message = message

    def __repr__(self):
        return f"BadPicture({self.message!r})"


def _read_upload(source):
    """`load_picture(source)`, or a `BadPicture` with its message."""
    try:
        return load_picture(source, "image")
    except gr.Error as exc:
        return BadPicture(exc.message)


def _file_source(file):
    """A path or bytes from a Gradio `FileData` / data URL / bytes."""
    if file is None or isinstance(file, (bytes, bytearray, memoryview)):
        return file
    url = getattr(file, "url", None)
    if url and url.startswith("data:"):
        return url
    return getattr(file, "path", None)


# The components below are Gradio's own, with their `preprocess` (and
# for `int_radio` its `api_info`) replaced on the instance: a subclass of
# a Gradio component would make Gradio write a `.pyi` stub next to this
# module at import time.
def digit_image(**kwargs):
    """A `gr.Image` that decodes uploads with bounded memory.

    Same component in the browser and the API (`image` of type
    `ImageData`), but its preprocessing is `load_picture` instead of
    Gradio's full decode: the pixel count is checked from the header
    before decoding, large pictures are downscaled, 16-bit and palette
    pictures are handled, and a file that is not a readable picture
    becomes a `BadPicture` (the tab's function raises its message)
    instead of a server traceback. The function receives a numpy array
    (see `load_picture`), a `BadPicture` or `None`.

    Args:
        **kwargs: `gr.Image` arguments.

    Returns:
        The `gr.Image`.

    Example:

    ```python
    image = demos.components.digit_image(label="Digit picture")
    ```
    """
    image = gr.Image(**kwargs)

    def preprocess(payload):
        if payload is None:
            return None
        source = _file_source(payload)
        if source is None:
            return BadPicture("The picture has no file. " + EXPECTED_INPUT)
        return _read_upload(source)

    image.preprocess = preprocess
    return image


def digit_sketchpad(**kwargs):
    """A `gr.Sketchpad` whose composite is read like `digit_image`.

    The function receives `{"composite": array or BadPicture or None,
    "layers": [], "background": None}`, or `None` for no drawing.

    Args:
        **kwargs: `gr.Sketchpad` arguments.

    Returns:
        The `gr.Sketchpad`.

    Example:

    ```python
    sketch = demos.components.digit_sketchpad(canvas_size=(240, 240))
    ```
    """
    sketch = gr.Sketchpad(**kwargs)

    def preprocess(payload):
        if payload is None:
            return None
        composite = getattr(payload, "composite", None)
        if getattr(payload, "id", None) is not None:
            cached = sketch.blob_storage.get(payload.id)
            composite = cached.composite if cached else None
        source = _file_source(composite)
        return {"composite": None if source is None
                else _read_upload(source),
                "layers": [], "background": None}

    sketch.preprocess = preprocess
    return sketch


def _passthrough(payload):
    return payload


def unchecked(component):
    """Lets a component's API value reach the function unchecked.

    Gradio's own checks (a slider's bounds, a radio's or dropdown's
    choices) raise messages without the argument's name, and a value of
    a wrong type a server traceback; the tab's function checks the value
    instead (`check_whole_number`, `check_number`, `check_choice`) and
    names the argument.

    Args:
        component: a `gr.Slider`, `gr.Number`, `gr.Radio` or
            `gr.Dropdown` (any input component).

    Returns:
        `component`, with a `preprocess` that returns the value as sent.

    Example:

    ```python
    index = demos.components.unchecked(gr.Slider(0, 539, step=1))
    ```
    """
    component.preprocess = _passthrough
    return component


def int_radio(choices, **kwargs):
    """An unchecked `gr.Radio` of whole numbers, an integer in the API.

    Gradio documents every `gr.Radio` as a string; this one's API info
    is `{"type": "integer", "enum": choices}`. The value reaches the
    function unchecked (an API client may send `5` or `"5"`).

    Args:
        choices: list of int.
        **kwargs: `gr.Radio` arguments.

    Returns:
        The `gr.Radio`.

    Example:

    ```python
    shots = demos.components.int_radio([1, 5, 10], value=5)
    ```
    """
    radio = unchecked(gr.Radio(list(choices), **kwargs))
    info = {"type": "integer", "title": "Radio",
            "enum": [int(c) for c in choices]}
    radio.api_info = lambda: dict(info)
    return radio


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


def _picture_source(source):
    """A path or a binary file for PIL, from what a client may send."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, str) and source.startswith("data:"):
        try:
            return io.BytesIO(base64.b64decode(source.split(",", 1)[1]))
        except (IndexError, ValueError) as exc:
            raise user_error(
                "The picture's data URL is not valid base64. "
                + EXPECTED_INPUT
            ) from exc
    return source


def _picture_to_array(img):
    """A loaded PIL picture as a numpy array `digit_image_to_features`
    reads: 16-bit and float modes become floats in `[0, 1]`, pictures
    with transparency RGBA, all others 8-bit grayscale."""
    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.asarray(img.convert("I"), dtype="float64")
        top = max(65535.0, float(values.max()))
        return np.clip(values, 0, None) / top
    if img.mode == "F":
        values = np.asarray(img, dtype="float64")
        top = float(np.nanmax(values)) if values.size else 1.0
        return values / top if top > 1.0 else values
    if "A" in img.getbands() or "transparency" in img.info:
        return np.asarray(img.convert("RGBA"))
    return np.asarray(img.convert("L"))


def load_picture(source, argument="image",
                 max_pixels=MAX_PICTURE_PIXELS, max_side=MAX_PICTURE_SIDE):
    """Opens a picture with bounded memory, as a numpy array.

    The size is read from the file's header and checked before any
    pixel is decoded: a picture of more than `max_pixels` pixels is
    refused (an 8000x8000 PNG of 100 KB would otherwise take gigabytes).
    A larger side than `max_side` is reduced while decoding (JPEG
    `draft`) and then with a box filter (`thumbnail`), which keeps the
    digit features: they are an 8x8 box resize of the ink's bounding
    box. EXIF orientation is applied. 16-bit pictures keep their full
    range (scaled to `[0, 1]`, not clipped to 8 bits); palette pictures
    are converted with their transparency.

    Args:
        source: a file path, an open binary file, bytes, a `data:` URL,
            or a `PIL.Image.Image`.
        argument: str. Argument name for the messages.
        max_pixels: int. Largest accepted width x height.
        max_side: int. Larger sides are downscaled to this.

    Returns:
        A numpy array: uint8 `(H, W)` (grayscale) or `(H, W, 4)` (with
        transparency), or float64 `(H, W)` in `[0, 1]` (16-bit or float
        pictures); `max(H, W) <= max_side`.

    Raises:
        gr.Error: not a picture, a truncated or corrupt file, or too
            many pixels; the message names the argument and ends with
            `EXPECTED_INPUT`.

    Example:

    ```python
    demos.components.load_picture("digit.png").shape  # (128, 128)
    ```
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = (source if isinstance(source, Image.Image)
                   else Image.open(_picture_source(source)))
    except Image.DecompressionBombError as exc:
        raise user_error(
            f"`{argument}` has too many pixels to be decoded safely "
            f"(at most {max_pixels // 1_000_000} megapixels are accepted). "
            + EXPECTED_INPUT
        ) from exc
    except UnidentifiedImageError as exc:
        raise user_error(
            f"`{argument}` is not a picture in a format Pillow can read. "
            + EXPECTED_INPUT
        ) from exc
    except (OSError, ValueError, TypeError) as exc:
        raise user_error(
            f"`{argument}` could not be opened as a picture ({exc}). "
            + EXPECTED_INPUT
        ) from exc
    width, height = img.size
    if width * height > max_pixels:
        raise user_error(
            f"`{argument}` is {width}x{height} pixels "
            f"({width * height / 1e6:.1f} megapixels); at most "
            f"{max_pixels / 1e6:.0f} megapixels are accepted. Downscale "
            "it first. " + EXPECTED_INPUT
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if max(width, height) > max_side:
                img.draft(None, (max_side, max_side))
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode.startswith("I;16"):
                img = img.convert("I")
            elif img.mode in ("P", "PA", "1", "CMYK", "YCbCr", "LAB",
                              "HSV", "RGBa", "La"):
                has_alpha = ("transparency" in img.info
                             or "A" in img.getbands())
                img = img.convert("RGBA" if has_alpha else "RGB")
            if max(img.size) > max_side:
                img.thumbnail((max_side, max_side), Image.Resampling.BOX)
            return _picture_to_array(img)
    except (OSError, ValueError, SyntaxError) as exc:
        raise user_error(
            f"`{argument}` could not be decoded: the file is truncated or "
            f"corrupt ({exc}). " + EXPECTED_INPUT
        ) from exc


def digit_features(image, argument=None):
    """The 64 features of a digit picture, or a `user_error`.

    The picture (or the Sketchpad's composite) goes through
    `zoo.hyper_mlp.digit_image_to_features` (grayscale, ink polarity,
    crop, 8x8 resize).

    Args:
        image: a numpy array `(H, W)`, `(H, W, 1)`, `(H, W, 3)` or
            `(H, W, 4)` (uint8 0-255 or float 0-1), a file path, bytes
            or `PIL.Image.Image` (read with `load_picture`), a
            `BadPicture` (from `digit_image`), or a Sketchpad/ImageEditor
            dict with one of these as `"composite"`.
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
    if isinstance(image, BadPicture):
        raise user_error(image.message)
    if image is None:
        raise user_error(f"No picture received{received}. " + EXPECTED_INPUT)
    if isinstance(image, (str, os.PathLike, bytes, Image.Image)):
        image = load_picture(image, argument or "image")
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
        image = digit_image(
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
    with gr.Tab("Draw") as draw_tab:
        sketch = digit_sketchpad(
            type="numpy",
            label="Draw a digit with the mouse",
            canvas_size=(size, size),
            elem_id=f"{api_prefix}digit-sketch",
        )
        draw_button = gr.Button(
            "Classify drawing", variant="primary",
            elem_id=f"{api_prefix}classify-drawing-button",
        )
    # Gradio's Sketchpad starts with no tool picked; pick its brush when
    # the Draw tab opens (in the browser, no server call).
    draw_tab.select(None, js=_PICK_BRUSH_JS % f"{api_prefix}digit-sketch")
    return {"image": image, "button": button, "sketch": sketch,
            "draw_button": draw_button}


# Clicks the Brush button of the sketchpad `%s` once it is rendered,
# unless a tool is already picked (polls for up to 5 s).
_PICK_BRUSH_JS = """() => {
  const start = Date.now();
  const pick = () => {
    const root = document.getElementById("%s");
    const brush = root && root.querySelector("button[aria-label='Brush']");
    if (!brush || !brush.offsetParent) {
      if (Date.now() - start < 5000) setTimeout(pick, 100);
      return;
    }
    if (!brush.classList.contains("highlight")) brush.click();
  };
  pick();
}"""


def status_line(elem_id):
    """The status line of a tab: progress and error messages.

    Events wired with `wire` write their error message here (and leave
    the output panels empty, without Gradio's empty "Error" badges).

    Args:
        elem_id: str. Element id.

    Returns:
        A `gr.Markdown`.

    Example:

    ```python
    status = demos.components.status_line("digits_status")
    ```
    """
    return gr.Markdown("", elem_id=elem_id, elem_classes=["hz-status"])


def wire(trigger, fn, inputs, outputs, api_name, status,
         progress_text=None):
    """Connects a tab's function to the UI and to the API.

    Two events share `fn`:

    - UI: `trigger` (e.g. `button.click`) runs `fn` as a private
      endpoint. A `gr.Error` (or any exception, logged with its
      traceback) empties the outputs and writes the message in `status`
      (and a warning toast), so no output panel is left with Gradio's
      empty red "Error" badge. With `progress_text`, that text is shown
      in the output panels while `fn` runs (e.g. a first run that
      trains or compiles).
    - API: the public endpoint `api_name`, with no UI trigger; a
      `gr.Error` reaches the client as the endpoint's error message,
      with no server-side traceback (`user_error`).

    Args:
        trigger: an event listener method, e.g. `button.click`.
        fn: callable. Takes one value per input; returns one value per
            output (a tuple for several).
        inputs: list of input components.
        outputs: list of output components.
        api_name: str. Name of the public endpoint.
        status: the `status_line` of the tab.
        progress_text: str or `None`. Shown while `fn` runs.

    Returns:
        `None`.

    Example:

    ```python
    demos.components.wire(button.click, classify, [image], [label],
                          "digits_classify", status)
    ```
    """
    outputs = list(outputs)

    def run_for_ui(*args, progress=gr.Progress()):
        if progress_text:
            progress(0, desc=progress_text)
        try:
            result = fn(*args)
        except Exception as exc:  # shown in the tab, never a badge
            if isinstance(exc, gr.Error):
                message = exc.message
            else:
                logger.exception("demo function %s failed", api_name)
                message = f"Internal error ({type(exc).__name__}: {exc})."
            gr.Warning(message)
            return (*[None] * len(outputs), f"**Error:** {message}")
        if len(outputs) == 1:
            result = (result,)
        return (*result, "")

    trigger(run_for_ui, inputs=inputs, outputs=[*outputs, status],
            api_visibility="private", show_progress_on=outputs,
            api_name=f"{api_name}_ui")
    gr.on(triggers=[], fn=fn, inputs=inputs, outputs=outputs,
          api_name=api_name)


def connect_digit_inputs(fn, inputs, outputs, api_prefix, extra=(),
                         status=None):
    """Wires the buttons of `digit_inputs` to a classify function.

    The "Classify" button sends the picture, the "Classify drawing"
    button the Sketchpad value, each followed by the `extra` inputs.
    Endpoints: `f"{api_prefix}classify"` and
    `f"{api_prefix}classify_drawing"`, in that order; both are wired
    with `wire`.

    Args:
        fn: callable. Takes the picture (or Sketchpad value) and one
            value per `extra` component; returns one value per output.
        inputs: dict returned by `digit_inputs`.
        outputs: list of output components.
        api_prefix: str. Prefix of the endpoint names.
        extra: sequence of further input components (e.g. a task id).
        status: the tab's `status_line`, or `None` to add one here
            (element id `f"{api_prefix}status"`).

    Returns:
        The status line.

    Example:

    ```python
    demos.components.connect_digit_inputs(
        classify, inputs, [label, weights], "digits_")
    ```
    """
    if status is None:
        status = status_line(f"{api_prefix}status")
    for button, source, verb in (
        (inputs["button"], inputs["image"], "classify"),
        (inputs["draw_button"], inputs["sketch"], "classify_drawing"),
    ):
        wire(button.click, fn, [source, *extra], outputs,
             f"{api_prefix}{verb}", status)
    return status


def index_slider(size, label, elem_id):
    """A slider that picks one of `size` samples by index (from 0).

    Wrapped in `unchecked`, so an API value that is not a valid index
    reaches the tab's function, which names the argument in its error.

    Args:
        size: int. Number of samples; the slider spans `[0, size - 1]`.
        label: str. Label of the slider.
        elem_id: str. Element id.

    Returns:
        A `gr.Slider` (step 1, value 0).

    Example:

    ```python
    index = demos.components.index_slider(540, "Test image index",
                                          "tev_index")
    ```
    """
    return unchecked(gr.Slider(0, size - 1, value=0, step=1, label=label,
                               elem_id=elem_id))


def run_controls(label, api_prefix, button_id, part=""):
    """The primary button of a tab's action, its status and summary.

    Element ids: `f"{api_prefix}{button_id}"` for the button, then
    `f"{api_prefix}{part}-status"` and `f"{api_prefix}{part}-summary"`
    (`f"{api_prefix}status"` and `f"{api_prefix}summary"` when `part` is
    empty), created in that order.

    Args:
        label: str. The button's text.
        api_prefix: str. Prefix of the element ids.
        button_id: str. The button's element id, after `api_prefix`.
        part: str. Which action of the tab, for a tab with several.

    Returns:
        `(button, status, summary)`: a `gr.Button`, its `status_line`
        and an empty `gr.Markdown`.

    Example:

    ```python
    button, status, summary = demos.components.run_controls(
        "Forecast", "fc_", "forecast-button")
    ```
    """
    prefix = f"{api_prefix}{part}-" if part else api_prefix
    button = gr.Button(label, variant="primary",
                       elem_id=f"{api_prefix}{button_id}")
    status = status_line(f"{prefix}status")
    summary = gr.Markdown(elem_id=f"{prefix}summary")
    return button, status, summary


def top_classes_label(api_prefix, label="Top-3 classes", name="label"):
    """The `gr.Label` that shows a tab's three most probable classes.

    Args:
        api_prefix: str. Prefix of the element id.
        label: str. Label of the component.
        name: str. The element id, after `api_prefix`.

    Returns:
        A `gr.Label(num_top_classes=3)` with element id
        `f"{api_prefix}{name}"`.

    Example:

    ```python
    answers = demos.components.top_classes_label(
        "tev_", "Top-3 answers", "answers")
    ```
    """
    return gr.Label(num_top_classes=3, label=label,
                    elem_id=f"{api_prefix}{name}")


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


def figure_axes(width=6.4, height=2.4, dpi=100):
    """A matplotlib figure with one axes, for `figure_to_picture`.

    The plots of the tabs draw on these axes and return
    `figure_to_picture(fig)`, a uint8 array `(height * dpi, width * dpi,
    3)`.

    Args:
        width: float. Figure width in inches.
        height: float. Figure height in inches.
        dpi: int. Pixels per inch.

    Returns:
        `(fig, ax)`: a `matplotlib.figure.Figure` (no pyplot state) and
        its axes.

    Example:

    ```python
    fig, ax = demos.components.figure_axes(height=3.2)
    ax.bar([0, 1], [0.9, 0.7])
    picture = demos.components.figure_to_picture(fig)  # (320, 640, 3)
    ```
    """
    fig = Figure(figsize=(width, height), dpi=dpi)
    return fig, fig.add_subplot()


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


def mlp_widths(backbone, num_classes):
    """The layer widths of an MLP, as `"64-16-10"`.

    Args:
        backbone: a backbone with `input_dim` and `hidden_dims`.
        num_classes: int. Width of the output layer.

    Returns:
        A str: input, hidden and output widths joined by `-`.

    Example:

    ```python
    demos.components.mlp_widths(model.backbone, model.num_classes)
    ```
    """
    widths = (backbone.input_dim, *backbone.hidden_dims, num_classes)
    return "-".join(str(w) for w in widths)


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

    `queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=
    DEFAULT_CONCURRENCY_LIMIT)`: at most 64 requests waiting and 2
    running at once per event, as in the hub. Measured with
    `scripts/bench_hub_load.py` (bundled presets, JAX, 2-core AMD EPYC
    shared with the load clients and other work; 20 s per row,
    `scripts/results/benchmark-hub-load.csv`):

    - Queue size 64. With 16 (the previous value), 20 clients on the
      digits tab already got "Queue is full" (1240 of 1535 requests
      refused) and 40 clients most of theirs; with 64, 40 clients got
      every answer (0 errors, p50 3.0 s, p99 4.5 s). Forecasting (0.9 s
      alone) with 40 clients also had 0 errors, but p50 31 s: the
      queue bounds how long a request may wait, and 64 keeps that under
      about a minute on the most expensive tab instead of holding
      hundreds of requests.
    - Concurrency 2 = the machine's cores. Every tab is CPU-bound (Keras
      on the CPU, matplotlib); more threads share the same two cores.
      Calls through Keras' `predict` (forecasting rollouts, CAFA) are
      serialised per model anyway (`model_lock`). Other values were not
      measured.

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


_BUILD_DEMO_DOC = """Builds the standalone app of the tab "{title}".

    `{module}.render` without an `api_prefix` (the endpoints are its
    bare verbs, e.g. `/classify`), in a `gr.Blocks` queued as in the
    hub: `demos.components.standalone_demo`.

    Args:
        model: the model (or models) that `{module}.render` takes.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A `gr.Blocks`, not launched.

    Example:

    ```python
    {module}.build_demo({module}.build_tiny_model()).launch()
    ```
    """


def standalone_builder(render, title):
    """The `build_demo(model, preset=None)` function of a demo module.

    A demo module defines `build_demo = standalone_builder(render,
    TITLE)`: the function is documented and named as the module's own
    (`__module__` is `render`'s module).

    Args:
        render: the module's `render(model, api_prefix, preset)`.
        title: str. The tab's title.

    Returns:
        A function `build_demo(model, preset=None)` that returns
        `standalone_demo(render, model, preset, title)`.

    Example:

    ```python
    build_demo = demos.components.standalone_builder(render, TITLE)
    ```
    """
    def build_demo(model, preset=None):
        return standalone_demo(render, model, preset, title)

    build_demo.__module__ = render.__module__
    build_demo.__qualname__ = "build_demo"
    build_demo.__doc__ = _BUILD_DEMO_DOC.format(title=title,
                                                module=render.__module__)
    return build_demo
