"""Gradio demo of the `token_exit_vlm_digits` preset (DyVTE).

Pick a digit of the scikit-learn test split (540 images, 8x8, shown
upsampled to the model's 16x16 input) and a question; the tiny VLM
answers it with the batch-1 exit path (`prefill_with_exit`): after each
decoder layer a router reads the question's hidden states and, once its
exit probability exceeds the preset's threshold, the 64 image tokens are
removed for the remaining layers. The tab shows the answer, the layer
after which the image tokens left, the share of decoder FLOPs saved
(analytic count; without an early exit the routers are an overhead,
shown as a cost) and the router's exit probability at every layer (on
the full model's states, the threshold dashed). Endpoint `"answer"`
(`"<tab>_answer"` inside the hub).

A hub tab: the module contract is in `demos/hub.py`.
"""

import functools

import gradio as gr
import keras
import numpy as np

from demos.components import check_whole_number
from demos.components import figure_axes
from demos.components import figure_to_picture
from demos.components import header_markdown
from demos.components import index_slider
from demos.components import output_picture
from demos.components import preset_metrics
from demos.components import read_only_arrays
from demos.components import run_controls
from demos.components import standalone_builder
from demos.components import top_classes_label
from demos.components import unchecked
from demos.components import user_error
from demos.components import wire
from zoo.data import digits_vqa as recipes
from zoo.data import load_digits
from zoo.token_exit.token_exit_eval import flops_saved
from zoo.token_exit.token_exit_presets import build_model

TITLE = "Visual-token exit VLM (DyVTE)"
SUMMARY = ("A tiny VLM that drops its image tokens once a router says "
           "the question no longer needs them.")
QUESTIONS = {
    "Which digit is it?": "digit",
    "Is it above four?": "above_four",
    "Is the left half brighter?": "left_brighter",
    "How many bright pixels in row k?": "row_count",
}
PICTURE_SCALE = 24


@functools.lru_cache(maxsize=1)
def digits_test():
    """The digits test split as 8x8 images, cached and read-only.

    Returns:
        `(images, labels)`: float32 `(540, 8, 8)` in `[0, 1]` and int32
        `(540,)`.

    Example:

    ```python
    images, labels = demos.token_exit.digits_test()
    ```
    """
    x, y = load_digits("test", layout="image")
    return read_only_arrays(x[..., 0], y)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    ok = (
        hasattr(backbone, "prefill_with_exit")
        and getattr(backbone, "image_size", None) == recipes.IMAGE_SIZE
        and getattr(backbone, "num_text_tokens", None) == 5
        and getattr(backbone, "num_prefix_tokens", None) == 1
        and getattr(model, "num_answers", None) == len(recipes.ANSWERS)
    )
    if not ok:
        raise ValueError(
            "This demo needs a zoo.TokenExitVLM on 16x16 images with 1 "
            "prefix + 5 question tokens and "
            f"{len(recipes.ANSWERS)} answers. Received: "
            f"{type(model).__name__}."
        )


def _check_question(question, row):
    if not isinstance(question, str) or question not in QUESTIONS:
        raise user_error(
            f"`question` must be one of {list(QUESTIONS)}. Received: "
            f"question={question!r}"
        )
    return QUESTIONS[question], check_whole_number(row, "row", 8)


def digit_picture(image8, scale=PICTURE_SCALE):
    """An 8x8 digit as a grey uint8 RGB picture (ink dark).

    Args:
        image8: float array `(8, 8)` in `[0, 1]`.
        scale: int. Pixels per digit pixel.

    Returns:
        uint8 array `(8 * scale, 8 * scale, 3)`.

    Example:

    ```python
    picture = demos.token_exit.digit_picture(digits_test()[0][0])
    ```
    """
    grey = np.clip(1.0 - np.asarray(image8, "float64"), 0, 1)
    big = np.kron(grey, np.ones((scale, scale)))
    return np.repeat((255 * big).astype("uint8")[..., None], 3, axis=-1)


def exit_plot(probs, threshold, exit_layer, width=6.4, height=2.8,
              dpi=100):
    """Router exit probability per layer, as an RGB picture.

    Args:
        probs: float array `(num_layers,)`.
        threshold: float. Drawn dashed.
        exit_layer: int. Marked (the last layer = no exit).
        width, height, dpi: the figure's size in inches and its pixels
            per inch (see `demos.components.figure_axes`).

    Returns:
        The uint8 picture of `demos.components.figure_to_picture`,
        `(280, 640, 3)` with the defaults.

    Example:

    ```python
    picture = demos.token_exit.exit_plot([0.1, 0.9], 0.5, 1)
    ```
    """
    probs = np.asarray(probs, "float64").reshape(-1)
    fig, ax = figure_axes(width, height, dpi)
    layers_ = np.arange(len(probs))
    ax.bar(layers_, probs, color="#6baed6", label="p(exit) after layer")
    ax.axhline(threshold, color="#cb181d", linestyle="--",
               label=f"threshold {threshold:g}")
    if exit_layer < len(probs) - 1:
        ax.bar([exit_layer], [probs[exit_layer]], color="#08519c",
               label=f"exit after layer {exit_layer}")
    ax.set_ylim(0, 1)
    ax.set_xticks(layers_)
    ax.set_xlabel("decoder layer")
    ax.set_ylabel("router p(exit)")
    ax.legend(loc="upper left", fontsize=8)
    return figure_to_picture(fig)


def flops_change_text(saved):
    """The decoder-FLOPs sentence of a question, as a saving or a cost.

    `saved` is `zoo.token_exit.token_exit_eval.flops_saved` for one
    question: the share of the full decoder's FLOPs (no routers) that
    the exit saved, routers charged. Without an early enough exit the
    routers are pure overhead and `saved` is negative: that is written
    as a cost, not as a negative saving.

    Args:
        saved: float. Share saved, negative for an overhead.

    Returns:
        A Markdown str.

    Example:

    ```python
    demos.token_exit.flops_change_text(-0.004)
    # 'decoder FLOPs: **+0.4% more** than the model without routers ...'
    ```
    """
    if saved >= 0:
        return (f"decoder FLOPs saved: **{100 * saved:.1f}%** of the "
                "model without routers (analytic, router cost included).")
    cost = 100 * -saved
    amount = f"{cost:.1f}%" if cost >= 0.05 else "<0.1%"
    return (f"decoder FLOPs: **+{amount} more** than the model without "
            "routers: the router cost, with no exit early enough to pay "
            "for it (analytic).")


def predict(index, question, row, model):
    """Answers a question about a test digit with visual-token exit.

    Args:
        index: int in `[0, 540)` (an integral float or a string of digits
            is accepted, as UI components send).
        question: str. A key of `QUESTIONS`.
        row: int in `[0, 7]`: the row of the row question (ignored
            otherwise).
        model: a `zoo.TokenExitVLM` shaped like the preset.

    Returns:
        `(summary, answers, picture, plot)`: a Markdown paragraph (true
        answer, exit layer, FLOPs saved or router cost, see
        `flops_change_text`), a dict `{answer: probability}`
        over `ANSWERS` (sums to 1), the uint8 digit picture and the uint8
        exit-probability plot.

    Raises:
        gr.Error: a bad `index`, `question` or `row`; the message names
            the argument.

    Example:

    ```python
    summary, answers, picture, plot = demos.token_exit.predict(
        3, "Which digit is it?", 0, zoo.load("token_exit_vlm_digits"))
    ```
    """
    images, labels = digits_test()
    index = check_whole_number(index, "index", len(images),
                               "an image of the digits test split")
    qtype, row = _check_question(question, row)
    image8 = images[index]
    x = {"images": recipes.upsample(image8[None, :, :, None]),
         "token_ids": recipes.encode_question(qtype, row)[None]}
    backbone = model.backbone
    threshold = model.exit_threshold
    out = backbone.prefill_with_exit(x, threshold)
    logits = model.answer_head(out["hidden_states"][:, -1])
    probs = keras.ops.convert_to_numpy(
        keras.ops.softmax(keras.ops.cast(logits, "float32")))[0]
    _, gates = model.answer_logits(x, return_gates=True)
    gates = keras.ops.convert_to_numpy(gates)[0].astype("float64")
    layer_probs = 1.0 / (1.0 + np.exp(gates[:, 0] - gates[:, 1]))
    k = out["exit_layer"]
    last = backbone.num_layers - 1
    saved = flops_saved(backbone, [k])
    change = flops_change_text(saved)
    truth = recipes.ANSWERS[recipes.answer(image8, int(labels[index]),
                                           qtype, row)]
    best = recipes.ANSWERS[int(np.argmax(probs))]
    verdict = "correct" if best == truth else "wrong"
    where = (f"after layer **{k}** of {backbone.num_layers} (layers "
             f"{k + 1}-{last} ran on {len(out['position_ids'])} text "
             "tokens)" if k < last else "never (all layers saw the image)")
    question_text = question.replace("row k", f"row {row}")
    summary = (
        f"Test image **#{index}** (digit {int(labels[index])}), "
        f"*{question_text}* Answer **{best}** "
        f"({100 * probs.max():.1f}%, true **{truth}**, {verdict}). "
        f"Image tokens exited {where}; {change}"
    )
    answers = {a: float(p) for a, p in zip(recipes.ANSWERS, probs)}
    return (summary, answers, digit_picture(image8),
            exit_plot(layer_probs, threshold, k))


def _header(model, preset):
    b = model.backbone
    intro = (
        f"A {b.num_layers}-layer decoder-only VLM (d={b.hidden_dim}) reads "
        f"1 prefix token, {b.num_image_tokens} image tokens (2x2 patches of "
        "the digit upsampled to 16x16) and a 5-token question. After each "
        "layer a DyVTE router (Li et al., 2024) reads the question's hidden "
        "states and may drop every image token for the remaining layers "
        f"(exit threshold {model.exit_threshold:g})."
    )
    return header_markdown(TITLE, intro, preset_accuracy_line(preset))


def preset_accuracy_line(preset):
    """The header line with a DyVTE preset's stored test metrics.

    Args:
        preset: str or `None`. The preset the tab's model came from.

    Returns:
        A Markdown sentence (accuracy full / with exits, FLOPs saved), or
        a note that no preset metrics are available.
    """
    m = preset_metrics(preset)
    if "accuracy_full" not in m:
        return ("Accuracy: not available (model not loaded from a "
                "preset).")
    return (
        f"Preset `{preset}` on the test questions: accuracy "
        f"**{100 * m['accuracy_full']:.1f}%** full, "
        f"**{100 * m['accuracy_exit']:.1f}%** with exits, "
        f"**{100 * m['flops_saved']:.1f}%** FLOPs saved (from the "
        "preset's metadata)."
    )


def render(model, api_prefix="", preset=None):
    """Adds the DyVTE tab to the open Blocks (see `demos/hub.py`).

    Endpoint `f"{api_prefix}answer"` (index, question, row).

    Args:
        model: a `zoo.TokenExitVLM` shaped like the preset.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components: `index`, `question`, `row`,
        `button`, `summary`, `answers`, `image`, `plot`, `status`.

    Raises:
        ValueError: the model does not fit the demo.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.token_exit.render(model, api_prefix="tev_")
    ```
    """
    _check_model(model)
    size = len(digits_test()[0])

    def answer(index, question, row):
        return predict(index, question, row, model)

    gr.Markdown(_header(model, preset))
    with gr.Row():
        with gr.Column():
            index = index_slider(size, "Test image index",
                                 f"{api_prefix}index")
            question = unchecked(gr.Dropdown(
                list(QUESTIONS), value=list(QUESTIONS)[0], label="Question",
                elem_id=f"{api_prefix}question"))
            row = unchecked(gr.Slider(0, 7, value=0, step=1, label="Row k (row "
                            "question only)", elem_id=f"{api_prefix}row"))
            button, status, summary = run_controls(
                "Answer", api_prefix, "answer-button")
            answers = top_classes_label(api_prefix, "Top-3 answers",
                                        "answers")
        with gr.Column():
            image = output_picture("Digit", f"{api_prefix}image")
            plot = output_picture("Router exit probability per layer",
                                  f"{api_prefix}plot")
    wire(button.click, answer, [index, question, row],
         [summary, answers, image, plot], f"{api_prefix}answer", status)
    return {"index": index, "question": question, "row": row,
            "button": button, "summary": summary, "answers": answers,
            "image": image, "plot": plot, "status": status}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(seed=0):
    """A tiny untrained VLM with the preset's inputs, for tests.

    Args:
        seed: int. Seed of the initialisers.

    Returns:
        A compiled `zoo.TokenExitVLM` (2 layers, d=8).

    Example:

    ```python
    model = demos.token_exit.build_tiny_model()
    ```
    """
    return build_model(seed, num_layers=2, num_heads=2,
                               hidden_dim=8, intermediate_dim=16,
                               router_hidden_dim=4)
