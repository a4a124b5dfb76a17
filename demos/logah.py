"""Gradio demo of LoGAH: initialise an unseen MLP with predicted weights.

Pick an MLP architecture for MNIST-1D (hidden widths, e.g. `48, 40`;
the held-out architectures of the preset are offered, any other up to
the preset's limits may be typed), the number of fine-tuning steps and
a seed. The tab builds the MLP twice: once with every weight predicted
by the bundled `logah_mnist1d` graph hypernetwork from the MLP's layer
graph, once with He-normal random init; fine-tunes both with Adam on
the same batches and shows the test accuracy before/after and the
curves. Endpoint `"compare"` (`"<tab>_compare"` in the hub).

A hub tab: the module contract is in `demos/hub.py`.
"""

import gradio as gr
import keras

from demos.components import check_number
from demos.components import figure_axes
from demos.components import figure_to_picture
from demos.components import header_markdown
from demos.components import model_lock
from demos.components import output_picture
from demos.components import preset_metrics
from demos.components import run_controls
from demos.components import standalone_builder
from demos.components import unchecked
from demos.components import user_error
from demos.components import wire
from zoo.logah.logah_graph import HELD_OUT_ARCHITECTURES
from zoo.logah.logah_graph import arch_name

TITLE = "LoGAH init"
SUMMARY = ("Predict every weight of an unseen MLP with a low-rank graph "
           "hypernetwork, then fine-tune it against random init.")
MAX_STEPS = 400
RANDOM_INIT = "he_normal"
CHOICES = [", ".join(str(w) for w in a) for a in HELD_OUT_ARCHITECTURES]


def parse_architecture(text, model):
    """Hidden widths from text like `"48, 40"`, checked against the GHN.

    Args:
        text: str. Comma- or space-separated positive widths.
        model: a `zoo.LogahClassifier` (its limits: `max_ck` per width,
            `max_nodes - 2` hidden layers).

    Returns:
        A tuple of int.

    Raises:
        gr.Error: not whole numbers, empty, a width above `max_ck` or
            below 1, or too many layers.

    Example:

    ```python
    parse_architecture("48, 40", zoo.load("logah_mnist1d"))  # (48, 40)
    ```
    """
    backbone = model.backbone
    parts = str(text or "").replace(",", " ").split()
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        widths = ()
    if not widths:
        raise user_error(
            "Give the hidden widths as whole numbers, e.g. `48, 40`. "
            f"Received: {text!r}")
    if min(widths) < 1 or max(widths) > backbone.max_ck:
        raise user_error(
            f"Widths must be in [1, {backbone.max_ck}] (the decoder's "
            f"max_ck; LoGAH slices, never tiles). Received: {widths}")
    if len(widths) > backbone.max_nodes - 2:
        raise user_error(
            f"At most {backbone.max_nodes - 2} hidden layers. Received: "
            f"{len(widths)} ({widths})")
    return widths


def compare_inits(model, architecture, steps=100, seed=0):
    """Fine-tunes an MLP from LoGAH and from random init; compares them.

    Args:
        model: a trained `zoo.LogahClassifier` (MNIST-1D, 40 -> 10).
        architecture: str. Hidden widths, e.g. `"48, 40"`.
        steps: int in [0, 400]. Fine-tuning steps (Adam 1e-3, batch 64).
        seed: int in [0, 2^31). Random init and data order.

    Returns:
        `(summary, rows, picture)`: a Markdown summary, `[init,
        accuracy % before, accuracy % after]` rows and a uint8 picture
        of test accuracy against the steps.

    Raises:
        gr.Error: a bad architecture, steps or seed.

    Example:

    ```python
    summary, rows, picture = demos.logah.compare_inits(
        zoo.load("logah_mnist1d"), "48, 40", steps=100)
    ```
    """
    from zoo.logah.logah_eval import fine_tune_curve
    from zoo.logah.logah_eval import initial_model

    widths = parse_architecture(architecture, model)
    steps = _as_int(steps, "steps", 0, MAX_STEPS)
    seed = _as_int(seed, "seed", 0, 2**31 - 1)
    every = max(1, steps // 10)
    curves = {}
    for name, init in (("LoGAH predicted", "logah"),
                       ("He random init", RANDOM_INIT)):
        keras.utils.set_random_seed(seed)
        with model_lock(model):
            mlp = initial_model(model, widths, init, seed)
        curves[name] = fine_tune_curve(mlp, max_steps=steps,
                                       eval_every=every, seed=seed)
    rows = [[name, round(100 * c["accuracy"][0], 1),
             round(100 * c["accuracy"][-1], 1)]
            for name, c in curves.items()]
    fig, ax = figure_axes(height=2.8)
    for name, c in curves.items():
        ax.plot(c["steps"], [100 * a for a in c["accuracy"]], marker="o",
                label=name)
    ax.set_xlabel("fine-tuning steps")
    ax.set_ylabel("test accuracy %")
    ax.legend()
    ax.grid(alpha=0.3)
    held = widths in HELD_OUT_ARCHITECTURES
    seen = "held out of the GHN's training" if held else "custom"
    p, r = curves["LoGAH predicted"], curves["He random init"]
    summary = (
        f"**{arch_name(widths)}** ({seen}), {steps} steps: LoGAH "
        f"**{100 * p['accuracy'][0]:.1f}% -> {100 * p['accuracy'][-1]:.1f}"
        f"%**, random init {100 * r['accuracy'][0]:.1f}% -> "
        f"{100 * r['accuracy'][-1]:.1f}%.")
    return summary, rows, figure_to_picture(fig)


def _as_int(value, name, low, high):
    number = check_number(value, name, low, high)
    if float(number) != int(number):
        raise user_error(f"`{name}` must be a whole number. Received: "
                         f"{name}={value!r}")
    return int(number)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    if (getattr(backbone, "input_dim", None) != 40
            or getattr(backbone, "num_classes", None) != 10
            or not hasattr(model, "predicted_model")):
        raise ValueError(
            "The LoGAH demo needs a LogahClassifier for MNIST-1D "
            f"(input_dim=40, num_classes=10). Received: "
            f"{type(model).__name__}.")


def _header(preset):
    metrics = preset_metrics(preset)
    if "logah_acc_k0" in metrics:
        line = (
            f"Preset `{preset}` on its held-out architectures (mean): "
            f"LoGAH init **{100 * metrics['logah_acc_k0']:.1f}%** at 0 "
            f"steps, {100 * metrics['logah_acc_k100']:.1f}% after 100; "
            f"random init {100 * metrics['random_acc_k100']:.1f}% after "
            f"100, {100 * metrics['random_acc_k400']:.1f}% after 400 "
            "(from the preset's metadata).")
    else:
        line = "Held-out accuracy: not available (not a preset)."
    return header_markdown(
        TITLE,
        "LoGAH (Zhou et al., 2024) is a graph hypernetwork whose decoder "
        "predicts each kernel as a low-rank product A @ B sliced to the "
        "layer's size. It reads an MLP's layer graph (a GatedGNN over "
        "one node per layer) and writes all its weights. Pick an "
        "architecture it never saw in training.", line)


def render(model, api_prefix="", preset=None):
    """Adds the LoGAH tab to the open Blocks (see `demos/hub.py`).

    Endpoint: `f"{api_prefix}compare"` (architecture, steps, seed).

    Args:
        model: a trained `zoo.LogahClassifier` for MNIST-1D.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.logah.render(model, api_prefix="logah_")
    ```
    """
    _check_model(model)

    def compare(architecture, steps, seed):
        return compare_inits(model, architecture, steps, seed)

    gr.Markdown(_header(preset))
    with gr.Row():
        with gr.Column():
            architecture = unchecked(gr.Dropdown(
                CHOICES, value=CHOICES[1], allow_custom_value=True,
                label="Hidden widths (held out, or type your own)",
                elem_id=f"{api_prefix}architecture"))
            steps = unchecked(gr.Slider(0, MAX_STEPS, value=100, step=5,
                                        label="Fine-tuning steps",
                                        elem_id=f"{api_prefix}steps"))
            seed = unchecked(gr.Number(value=0, precision=0, label="Seed",
                                       elem_id=f"{api_prefix}seed"))
            button, status, summary = run_controls(
                "Compare inits", api_prefix, "compare-button")
        with gr.Column():
            table = gr.Dataframe(
                headers=["init", "accuracy % before", "accuracy % after"],
                interactive=False, elem_id=f"{api_prefix}table")
            curve = output_picture("Test accuracy vs fine-tuning steps",
                                   f"{api_prefix}curve")
    wire(button.click, compare, [architecture, steps, seed],
         [summary, table, curve], f"{api_prefix}compare", status)
    return {"architecture": architecture, "steps": steps, "seed": seed,
            "button": button, "summary": summary, "table": table,
            "curve": curve}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=False, seed=0):
    """A small LoGAH GHN for MNIST-1D, for tests (untrained by default).

    Untrained by default, so that the hub's `--tiny-test-model` start-up
    stays short (the tab works the same with random GHN weights).

    Args:
        train: bool. Train it for 20 steps of batch 32 (else random
            weights).
        seed: int. Seed.

    Returns:
        A compiled `zoo.LogahClassifier` (max_ck 64, 6 nodes).

    Example:

    ```python
    model = demos.logah.build_tiny_model(train=False)
    ```
    """
    from zoo.data.mnist_1d import load_mnist1d
    from zoo.logah.logah_training import ArchitectureBatches
    from zoo.logah.logah_training import build_logah_classifier

    keras.utils.set_random_seed(seed)
    model = build_logah_classifier(seed=seed, hidden_dim=8, rank=2,
                                   decoder_units=(8,))
    if train:
        x, y = load_mnist1d("train")
        model.fit(ArchitectureBatches(x, y, 20, 32, seed, 64, 6, 10),
                  epochs=1, verbose=0)
    return model
