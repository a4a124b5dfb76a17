"""Gradio demo of the `hyper_mlp_digits` preset: classify an 8x8 digit.

The tab shows a picture input, the top-3 classes and a picture of the
first hidden layer's weights, which a hypernetwork generated from a
learned embedding.

Inputs (what works in Gradio 6.31):
- `demos.components.DigitImage` (a `gr.Image`, sources upload and
  clipboard): an uploaded or pasted picture (PNG, JPEG, WebP, ...),
  decoded with bounded memory by `demos.components.load_picture`.
  Transparency is kept, so a transparent PNG with black strokes is
  composited on white instead of becoming an all-black RGB image.
  Endpoint `api_name="classify"` (`"<tab>_classify"` inside the hub).
- `gr.Sketchpad(type="numpy")`: draw with the mouse (black brush on a
  blank canvas; the brush is picked when the Draw tab opens). Its value
  is an `ImageEditor` dict whose `"composite"` is classified; an
  untouched canvas sends `None`. Endpoint
  `"classify_drawing"` (`"<tab>_classify_drawing"` inside the hub).

Examples are ten test-split digits (one per class), rendered with
`zoo.hyper_mlp.features_to_image` as PNGs into a cache folder under the
Gradio temp dir (`GRADIO_TEMP_DIR`, default `<tmp>/gradio`) when the demo
is built (`demos.components.write_digit_examples`); no binary file is
committed. The input column is `demos.components.digit_inputs`, shared
with the other digit tabs.

A hub tab: the module contract is in `demos/hub.py`.
"""

import gradio as gr
import keras
import numpy as np

from demos.components import accuracy_line
from demos.components import classify_sample
from demos.components import connect_digit_inputs
from demos.components import digit_features
from demos.components import digit_inputs
from demos.components import header_markdown
from demos.components import heatmap_tiles
from demos.components import mlp_widths
from demos.components import output_picture
from demos.components import preset_label_names
from demos.components import preset_metrics
from demos.components import standalone_builder
from demos.components import status_line
from demos.components import to_numpy
from demos.components import top_classes
from demos.components import top_classes_label
from zoo.data import DIGITS_CLASS_NAMES
from zoo.data import load_digits

TITLE = "HyperMLP digits"
SUMMARY = ("An MLP whose weights a hypernetwork generates; upload or "
           "draw a digit.")
WEIGHTS_LAYER = "hyper_dense_0"
DIGITS_SIDE = 8
NUM_FEATURES = DIGITS_SIDE * DIGITS_SIDE


def weights_picture(model, layer_name=WEIGHTS_LAYER, num_units=16,
                    columns=4, scale=9, gap=4):
    """Pictures the generated 64-weight columns of a HyperDense layer.

    `layer.generate_weights()` gives the kernel `(64, units)` that the
    hypernetwork produced from its learned embedding. Column `j` holds
    the weights from the 8x8 input pixels to hidden unit `j`, so it is
    drawn as an 8x8 tile (row-major, like the features). The first
    `num_units` tiles are laid out in a grid of `columns` columns and
    coloured with the diverging `RdBu_r` colormap, symmetric around 0
    (red positive, blue negative, white zero; one scale for all tiles).

    Args:
        model: `zoo.HyperMLPClassifier` (or `zoo.HyperMLPBackbone`) with
            64 input features.
        layer_name: str. Name of the HyperDense layer in the backbone.
        num_units: int. How many hidden units to draw (at most).
        columns: int. Tiles per row.
        scale: int. Screen pixels per weight.
        gap: int. Pixels of light gray between tiles.

    Returns:
        uint8 array `(H, W, 3)`; 308x308 for 16 units with the defaults.

    Raises:
        ValueError: the layer is missing, is not conditioned on a learned
            embedding, or does not take 64 inputs.

    Example:

    ```python
    picture = demos.hyper_mlp_digits.weights_picture(zoo.load(
        "hyper_mlp_digits"))
    picture.shape  # (308, 308, 3)
    ```
    """
    backbone = getattr(model, "backbone", model)
    try:
        layer = backbone.get_layer(layer_name)
    except ValueError as exc:
        raise ValueError(
            f"The model has no layer {layer_name!r} to picture: expected a "
            "HyperMLP model whose first hidden layer is a HyperDense "
            f"layer named {layer_name!r}."
        ) from exc
    conditioning = getattr(layer, "conditioning", None)
    if conditioning != "embedding":
        raise ValueError(
            f"Layer {layer_name!r} has conditioning={conditioning!r}; the "
            "weights picture needs conditioning='embedding' (one weight "
            "set generated from a learned embedding, no condition input)."
        )
    kernel, _ = layer.generate_weights()
    kernel = to_numpy(kernel).astype("float64")
    if kernel.ndim != 2 or kernel.shape[0] != NUM_FEATURES:
        raise ValueError(
            f"Layer {layer_name!r} generates a kernel of shape "
            f"{kernel.shape}; expected ({NUM_FEATURES}, units) for 8x8 "
            "digits."
        )
    count = min(num_units, kernel.shape[1])
    peak = float(np.abs(kernel[:, :count]).max()) or 1.0
    tiles = [kernel[:, unit].reshape(DIGITS_SIDE, DIGITS_SIDE)
             for unit in range(count)]
    return heatmap_tiles(tiles, (scale, scale), gap, columns, peak=peak)


def predict(image, model, label_names=DIGITS_CLASS_NAMES):
    """Classifies a picture of a digit and pictures the generated weights.

    The picture goes through `zoo.hyper_mlp.digit_image_to_features`
    (grayscale, ink polarity, crop, 8x8 resize) and the model's logits
    through a softmax.

    Args:
        image: the picture (an array, a file path, ...) or the
            Sketchpad value: what `demos.components.digit_features`
            reads.
        model: a HyperMLP digits classifier: `(N, 64)` float features to
            `(N, len(label_names))` logits (or probabilities when its
            `activation` is `"softmax"`).
        label_names: sequence of str. Class names, in logit order.

    Returns:
        `(top3, picture)`: `top3` a dict `{label: probability}` of the
        three most probable classes (values in `[0, 1]`, sum <= 1), and
        `picture` the uint8 `(H, W, 3)` picture of `weights_picture`.

    Raises:
        gr.Error: empty input, a picture smaller than 8x8, a blank
            picture, or something that is not an image (wrong rank,
            channel count or dtype, a file that is not a readable
            picture); the message says what was expected.

    Example:

    ```python
    top3, picture = demos.hyper_mlp_digits.predict(
        np.asarray(PIL.Image.open("digit.png")), zoo.load("hyper_mlp_digits")
    )
    top3  # {'3': 0.97, '8': 0.02, '5': 0.004}
    ```
    """
    features = digit_features(image, "image")
    probs = classify_sample(model, features, label_names)
    top3 = top_classes(list(probs.values()), label_names)
    return top3, weights_picture(model)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    input_dim = getattr(backbone, "input_dim", None)
    if input_dim != NUM_FEATURES:
        raise ValueError(
            "The digits demo needs a HyperMLP classifier on 8x8 digits "
            f"(backbone input_dim={NUM_FEATURES}). Received: "
            f"{type(model).__name__} with input_dim={input_dim!r}."
        )
    weights_picture(model)


def _header(model, preset):
    metrics = preset_metrics(preset)
    accuracy = metrics.get("accuracy", metrics.get("test_accuracy"))
    return header_markdown(
        TITLE,
        f"An MLP {mlp_widths(model.backbone, model.num_classes)} on 8x8 "
        "digits whose hidden layers' weights are generated by a "
        "hypernetwork from a learned embedding (Ha et al., 2017). "
        "Upload or draw a digit; the "
        "picture on the right shows the generated weights of the first "
        "16 hidden units (8x8 each; red positive, blue negative).",
        accuracy_line(preset, accuracy, "540 test digits"),
    )


def render(model, api_prefix="", preset=None):
    """Adds the HyperMLP digits tab to the open Blocks (`demos/hub.py`).

    Endpoints of `demos.components.connect_digit_inputs`:
    `f"{api_prefix}classify"` (picture) and
    `f"{api_prefix}classify_drawing"` (Sketchpad).

    Args:
        model: a HyperMLP digits classifier (see `predict`).
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Its metadata gives the test accuracy and
            the label names.

    Returns:
        A dict of the created components: those of
        `demos.components.digit_inputs`, `label`, `weights`, `status`.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.hyper_mlp_digits.render(model, api_prefix="digits_")
    ```
    """
    _check_model(model)
    label_names = preset_label_names(preset)

    def classify(image):
        return predict(image, model, label_names)

    gr.Markdown(_header(model, preset))
    with gr.Row():
        with gr.Column():
            inputs = digit_inputs(api_prefix, "{label} (test #{index})",
                                  size=280)
        with gr.Column():
            status = status_line(f"{api_prefix}status")
            label = top_classes_label(api_prefix)
            weights = output_picture(
                "Generated weights of hyper_dense_0 (16 units)",
                f"{api_prefix}weights", height=340,
            )
    connect_digit_inputs(classify, inputs, [label, weights], api_prefix,
                         status=status)
    return {**inputs, "label": label, "weights": weights, "status": status}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=True, epochs=15, seed=0):
    """A tiny digits HyperMLP (64-8-10), optionally trained, for tests.

    Trains on the first 1024 images of `load_digits("train")` (a whole
    number of batches, so JAX compiles a single train step) with
    Adam(2e-2), batch 128, seeded with `keras.utils.set_random_seed(seed)`:
    3-5 s on a 2-core CPU, about 85-92% test accuracy. Used by the tests
    and by `python -m demos --tiny-test-model`.

    Args:
        train: bool. Train it (else random weights).
        epochs: int. Training epochs.
        seed: int. Seed of the initialisers and of the training.

    Returns:
        A compiled `zoo.HyperMLPClassifier`.

    Example:

    ```python
    model = demos.hyper_mlp_digits.build_tiny_model()
    ```
    """
    from zoo.hyper_mlp import HyperMLPBackbone
    from zoo.hyper_mlp import HyperMLPClassifier

    keras.utils.set_random_seed(seed)
    backbone = HyperMLPBackbone(
        input_dim=NUM_FEATURES,
        hidden_dims=(8,),
        embedding_dim=4,
        hyper_units=(8,),
        seed=seed,
    )
    model = HyperMLPClassifier(backbone, num_classes=10)
    model.compile(optimizer=keras.optimizers.Adam(2e-2))
    if train:
        x, y = load_digits(split="train")
        model.fit(x[:1024], y[:1024], epochs=epochs, batch_size=128,
                  verbose=0)
    return model
