"""Gradio demo of one-shot magnitude pruning (`zoo.pruning`).

Pick a method (Global MP, Global MP with Gupta et al.'s minimum threshold
(MT), or uniform per-layer MP, as tfmot prunes) and a target sparsity
(0-99 %): a copy of the tab's model is pruned once by weight magnitude
(`zoo.pruning.prune_once` on a clone compiled with
`zoo.pruning.PruningOptimizer`, no fine-tuning) and evaluated on the 540
test digits. The tab shows the test accuracy, the sparsity measured from
the weights, the sparsity of every pruned kernel (bars) and the
histogram of the weight magnitudes, kept and pruned. The tab's model is
never modified. Endpoint `"prune"` (`"<tab>_prune"` inside the hub).

The model is a `zoo.DigitsCNNClassifier` on `(N, 8, 8, 1)` digits (in
the hub, the `cafa_digits_encoder` preset). A hub tab: the module
contract is in `demos/hub.py`.
"""

import functools

import gradio as gr
import keras
import numpy as np

from demos.components import accuracy_line
from demos.components import check_choice
from demos.components import check_number
from demos.components import figure_axes
from demos.components import figure_to_picture
from demos.components import header_markdown
from demos.components import output_picture
from demos.components import preset_metrics
from demos.components import read_only_arrays
from demos.components import run_controls
from demos.components import standalone_builder
from demos.components import to_numpy
from demos.components import unchecked
from demos.components import wire
from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data import load_digits
from zoo.pruning import PruningOptimizer
from zoo.pruning import is_prunable
from zoo.pruning import prune_once
from zoo.pruning import sparsity_report

TITLE = "Pruning (Global MP)"
SUMMARY = ("One-shot magnitude pruning of a digits CNN: global, global "
           "with a minimum per layer, or uniform per layer.")
IMAGE_SHAPE = (8, 8, 1)
MAX_SPARSITY = 99
# Method name: (`scope` of `prune_once`, whether MT is on).
METHODS = {
    "Global MP": ("global", False),
    "Global MP + MT": ("global", True),
    "Uniform per-layer MP": ("layer", False),
}
DESCRIPTION = (
    "One-shot magnitude pruning of the conv and dense kernels of a "
    "digits CNN (`zoo.pruning.prune_once`, no fine-tuning) on a copy "
    "of the model. Global MP ranks all weights together (Gupta et "
    "al., 2022); MT keeps a minimum per layer against layer "
    "collapse; uniform per-layer MP prunes every kernel to the same "
    "sparsity, as tfmot does.")
# Gupta et al.'s default MT: every layer keeps at least 0.05 % of all
# prunable weights (and at least one).
MT_FRACTION = 0.0005


@functools.lru_cache(maxsize=1)
def digits_test():
    """The digits test split as `(N, 8, 8, 1)` images, cached read-only.

    Returns:
        `(x, y)`: float32 `(540, 8, 8, 1)` in `[0, 1]` and int32
        `(540,)`.

    Example:

    ```python
    x, y = demos.pruning.digits_test()
    ```
    """
    return read_only_arrays(*load_digits("test", layout="image"))


def mt_min_weights(num_weights, fraction=MT_FRACTION):
    """The MT minimum of kept weights per layer (Gupta et al.).

    Args:
        num_weights: int. Prunable weights of the whole model.
        fraction: float. MT as a fraction of them (default 0.05 %).

    Returns:
        `max(1, int(num_weights * fraction))`.

    Example:

    ```python
    demos.pruning.mt_min_weights(19360)  # 9
    ```
    """
    return max(1, int(num_weights * fraction))


def _check_model(model):
    shape = tuple(getattr(model, "input_shape", (None,))[1:])
    if not isinstance(model, keras.Model) or shape != IMAGE_SHAPE \
            or not any(is_prunable(v) for v in model.trainable_variables):
        raise ValueError(
            "The pruning demo needs a built keras.Model on (N, 8, 8, 1) "
            "digits with prunable kernels (e.g. zoo.DigitsCNNClassifier). "
            f"Received: {type(model).__name__} with input shape {shape}."
        )


def _accuracy(model, x, y):
    logits = to_numpy(model(np.asarray(x, "float32"), training=False))
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(y)))


def _prunable_weights(model):
    return [np.asarray(keras.ops.convert_to_numpy(v))
            for v in model.trainable_variables if is_prunable(v)]


def prune_and_evaluate(model, method, sparsity, x, y):
    """Prunes a copy of `model` once and measures it on `(x, y)`.

    The copy (`from_config` + `set_weights`) is compiled with a
    `zoo.pruning.PruningOptimizer` and pruned by
    `zoo.pruning.prune_once`; `model` itself is not modified.

    Args:
        model: a `keras.Model` on `(N, 8, 8, 1)` digits (logits out).
        method: str. A key of `METHODS`.
        sparsity: float in `[0, 99]`. Target sparsity in percent (an int
            or a numeric string is accepted, as API clients send).
        x: float array `(N, 8, 8, 1)`.
        y: int array `(N,)`.

    Returns:
        A dict: `"method"`, `"target"` (fraction), `"min_weights"` (MT
        minimum, 0 without MT), `"accuracy"` and `"dense_accuracy"` (of
        the pruned copy and of `model` on `(x, y)`), `"sparsity"` (zero
        fraction of the prunable weights, measured), `"prunable"` and
        `"zeros"` (their counts), `"layers"` (one row per pruned kernel:
        `{"path", "shape", "weights", "kept", "sparsity"}`),
        `"kept_magnitudes"` and `"pruned_magnitudes"` (float64 `|w|` of
        the original prunable weights that were kept / zeroed).

    Raises:
        gr.Error: unknown `method` or `sparsity` not in `[0, 99]`; the
            message names the argument and what was expected.

    Example:

    ```python
    x, y = demos.pruning.digits_test()
    result = demos.pruning.prune_and_evaluate(
        zoo.load("cafa_digits_encoder"), "Global MP", 50, x, y)
    result["accuracy"], result["sparsity"]
    ```
    """
    scope, mt = METHODS[check_choice(method, "method", METHODS)]
    target = check_number(sparsity, "sparsity", 0, MAX_SPARSITY) / 100
    original = _prunable_weights(model)
    total = sum(w.size for w in original)
    min_weights = mt_min_weights(total) if mt else 0
    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    clone.compile(optimizer=PruningOptimizer(keras.optimizers.SGD()))
    masks = prune_once(clone, target, scope, min_weights)
    report = sparsity_report(clone)
    magnitudes = np.concatenate([np.abs(w).ravel() for w in original])
    kept = np.concatenate([m.ravel() for m in masks]).astype(bool)
    rows = [{"path": r["path"], "shape": r["shape"],
             "weights": int(np.prod(r["shape"])),
             "kept": int(np.count_nonzero(m)), "sparsity": r["sparsity"]}
            for r, m in zip(report["layers"], masks)]
    return {
        "method": method, "target": target, "min_weights": min_weights,
        "accuracy": _accuracy(clone, x, y),
        "dense_accuracy": _accuracy(model, x, y),
        "sparsity": report["sparsity"],
        "prunable": report["prunable_parameters"],
        "zeros": report["zero_parameters"], "layers": rows,
        "kept_magnitudes": magnitudes[kept].astype("float64"),
        "pruned_magnitudes": magnitudes[~kept].astype("float64"),
    }


def _layer_name(path):
    """`"backbone/conv_0/kernel"` -> `"conv_0"`."""
    parts = path.split("/")
    return parts[-2] if len(parts) > 1 else path


def sparsity_bars(rows, target, dpi=100):
    """The sparsity of every pruned kernel, as bars, with the target.

    Args:
        rows: the `"layers"` of `prune_and_evaluate`.
        target: float. Target sparsity (fraction), drawn dashed.
        dpi: int. Pixels per inch (figure 6.4 x 2.8 inches).

    Returns:
        uint8 array `(280, 640, 3)` with the default `dpi`.

    Example:

    ```python
    demos.pruning.sparsity_bars(result["layers"], result["target"])
    ```
    """
    fig, ax = figure_axes(6.4, 2.8, dpi)
    names = [_layer_name(r["path"]) for r in rows]
    values = [100 * r["sparsity"] for r in rows]
    ax.bar(names, values, color="#6baed6")
    for i, row in enumerate(rows):
        ax.text(i, min(values[i], 92) + 2, f"{row['kept']}/{row['weights']}"
                " kept", ha="center", fontsize=8)
    ax.axhline(100 * target, color="#cb181d", ls="--", lw=1,
               label=f"target {100 * target:g}%")
    ax.set_ylim(0, 105)
    ax.set_ylabel("zero weights (%)")
    ax.legend(loc="lower right", fontsize=8)
    return figure_to_picture(fig)


def magnitude_histogram(kept, pruned, bins=40, dpi=100):
    """Histogram of the original `|w|`, kept and pruned weights stacked.

    Args:
        kept: float array. Magnitudes of the kept weights.
        pruned: float array. Magnitudes of the pruned weights.
        bins: int. Number of bins over `[0, max |w|]`.
        dpi: int. Pixels per inch (figure 6.4 x 2.8 inches).

    Returns:
        uint8 array `(280, 640, 3)` with the default `dpi`.

    Example:

    ```python
    demos.pruning.magnitude_histogram(result["kept_magnitudes"],
                                      result["pruned_magnitudes"])
    ```
    """
    fig, ax = figure_axes(6.4, 2.8, dpi)
    top = max([float(np.max(a)) for a in (kept, pruned) if len(a)] + [1e-6])
    edges = np.linspace(0.0, top, bins + 1)
    ax.hist([pruned, kept], bins=edges, stacked=True,
            color=["#bdbdbd", "#08519c"],
            label=[f"pruned ({len(pruned)})", f"kept ({len(kept)})"])
    ax.set_yscale("log")
    ax.set_xlabel("|w| before pruning (all prunable kernels)")
    ax.set_ylabel("weights")
    ax.legend(loc="upper right", fontsize=8)
    return figure_to_picture(fig)


def predict(method, sparsity, model):
    """Prunes a copy of `model` on the digits test split, for the tab.

    Args:
        method: str. A key of `METHODS`.
        sparsity: float in `[0, 99]`. Target sparsity in percent.
        model: see `prune_and_evaluate`.

    Returns:
        `(summary, bars, histogram)`: a Markdown paragraph with the test
        accuracy and the measured sparsity, the uint8 pictures of
        `sparsity_bars` and `magnitude_histogram`.

    Raises:
        gr.Error: see `prune_and_evaluate`.

    Example:

    ```python
    summary, bars, histogram = demos.pruning.predict(
        "Global MP + MT", 90, zoo.load("cafa_digits_encoder"))
    ```
    """
    x, y = digits_test()
    r = prune_and_evaluate(model, method, sparsity, x, y)
    mt = (f" (MT: at least {r['min_weights']} kept per layer)"
          if r["min_weights"] else "")
    summary = (
        f"**{r['method']}**{mt} at target {100 * r['target']:g}%: "
        f"measured sparsity **{100 * r['sparsity']:.2f}%** "
        f"({r['zeros']} of {r['prunable']} kernel weights zero; biases "
        "and BatchNorm stay dense). Test accuracy "
        f"**{100 * r['accuracy']:.1f}%** on {len(y)} test digits (dense "
        f"model {100 * r['dense_accuracy']:.1f}%), one-shot, without "
        "fine-tuning."
    )
    return (summary, sparsity_bars(r["layers"], r["target"]),
            magnitude_histogram(r["kept_magnitudes"],
                                r["pruned_magnitudes"]))


def render(model, api_prefix="", preset=None, title=TITLE,
           description=DESCRIPTION):
    """Adds the pruning tab to the open Blocks (see `demos/hub.py`).

    Endpoint `f"{api_prefix}prune"` (method, sparsity in percent).

    Args:
        model: a `keras.Model` on `(N, 8, 8, 1)` digits, e.g. a
            `zoo.DigitsCNNClassifier`; it is never modified.
        api_prefix, preset: see the module contract in `demos/hub.py`;
            the preset's metadata gives the dense test accuracy.
        title, description: str. The tab's heading and its paragraph
            (other tabs reuse this one for other models, e.g.
            `demos.pruning_terminator`).

    Returns:
        A dict of the created components: `method`, `sparsity`,
        `button`, `summary`, `bars`, `histogram`, `status`.

    Raises:
        ValueError: the model does not fit the demo.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.pruning.render(zoo.load("cafa_digits_encoder"),
                             api_prefix="pruning_")
    ```
    """
    _check_model(model)

    def prune(method, sparsity):
        return predict(method, sparsity, model)

    gr.Markdown(header_markdown(
        title, description,
        accuracy_line(preset, preset_metrics(preset).get("accuracy"),
                      "540 test digits"),
    ))
    with gr.Row():
        with gr.Column(scale=1):
            method = unchecked(gr.Radio(
                list(METHODS), value="Global MP", label="Method",
                elem_id=f"{api_prefix}method"))
            sparsity = unchecked(gr.Slider(
                0, MAX_SPARSITY, value=50, step=1,
                label="Target sparsity (%)",
                elem_id=f"{api_prefix}sparsity"))
            button, status, summary = run_controls(
                "Prune", api_prefix, "prune-button")
        with gr.Column(scale=2):
            bars = output_picture("Sparsity per layer",
                                  f"{api_prefix}bars")
            histogram = output_picture("Weight magnitudes",
                                       f"{api_prefix}histogram")
    wire(button.click, prune, [method, sparsity],
         [summary, bars, histogram], f"{api_prefix}prune", status)
    return {"method": method, "sparsity": sparsity, "button": button,
            "summary": summary, "bars": bars, "histogram": histogram,
            "status": status}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(seed=0):
    """A tiny untrained digits CNN (filters 4 and 6), for tests.

    Args:
        seed: int. Seed of the initialisers.

    Returns:
        A compiled `zoo.DigitsCNNClassifier` on `(N, 8, 8, 1)` with
        312 prunable kernel weights (36 + 216 + 60).

    Example:

    ```python
    model = demos.pruning.build_tiny_model()
    ```
    """
    keras.utils.set_random_seed(seed)
    model = DigitsCNNClassifier(
        DigitsCNNBackbone(filters=(4, 6), seed=seed), num_classes=10)
    model.compile()
    return model
