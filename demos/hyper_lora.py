"""Gradio demo of HyperLoRA: personalise a digit classifier to a writer.

Pick an unseen procedural writer (a number: the writer's style, with
rotation, slant, stroke width, elastic distortion, contrast and
sometimes inverted ink) and a test drawing. The tab shows the writer's
5 labelled examples, the hypernetwork turns them into LoRA adapters of
the frozen base ViT in one forward pass, and the base and personalised
predictions are compared on the chosen drawing and on all of the
writer's other test digits. Endpoint `"personalize"`
(`"<tab>_personalize"` in the hub).

A hub tab: the module contract is in `demos/hub.py`.
"""

import time

import gradio as gr
import keras
import numpy as np

from demos.components import check_number
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

TITLE = "HyperLoRA writers"
SUMMARY = ("Five digits of an unseen writer -> a generated LoRA adapter "
           "for a ViT in one forward pass; base vs personalised.")
MAX_WRITER = 2**31 - 1 - 1_000_000


def _as_int(value, name, low, high):
    number = check_number(value, name, low, high)
    if float(number) != int(number):
        raise user_error(f"`{name}` must be a whole number. Received: "
                         f"{name}={value!r}")
    return int(number)


def writer_episode(model, writer, split="test"):
    """The support set and test digits of an unseen writer.

    Args:
        model: a `zoo.HyperLoRAClassifier` (its image size is checked).
        writer: int >= 0. Writer number (seed `1000000 + writer`, never
            used in training).
        split: str. Digits split.

    Returns:
        dict from `zoo.hyper_lora.hyper_lora_data.subject_episode`.

    Example:

    ```python
    episode = writer_episode(model, 3)
    ```
    """
    from zoo.hyper_lora.hyper_lora_data import TEST_SEED_OFFSET
    from zoo.hyper_lora.hyper_lora_data import subject_episode

    writer = _as_int(writer, "writer", 0, MAX_WRITER)
    size = model.backbone.image_size
    episode = subject_episode(TEST_SEED_OFFSET + writer, split,
                              model.backbone.support_size)
    if size != episode["query_images"].shape[1]:
        episode = {k: _resize(v, size) if v.ndim == 4 else v
                   for k, v in episode.items()}
    return episode


def _resize(images, size):
    step = images.shape[1] // size
    return images[:, ::step, ::step][:, :size, :size]


def personalize_writer(model, writer, drawing=0):
    """Base vs personalised predictions for one writer.

    Args:
        model: a trained `zoo.HyperLoRAClassifier`.
        writer: int in [0, 2^31 - 1000001). Unseen writer number.
        drawing: int. Index of the test drawing among the writer's
            test digits.

    Returns:
        `(summary, rows, picture)`: a Markdown summary, `[model,
        prediction on the drawing, accuracy % on the writer's digits]`
        rows and a uint8 picture of the 5 examples and the drawing.

    Raises:
        gr.Error: a bad writer or drawing number.

    Example:

    ```python
    summary, rows, picture = demos.hyper_lora.personalize_writer(
        zoo.load("hyper_lora_digits_writers"), 3, drawing=0)
    ```
    """
    episode = writer_episode(model, writer)
    qx, qy = episode["query_images"], episode["query_labels"]
    drawing = _as_int(drawing, "drawing", 0, len(qx) - 1)
    sx, sy = episode["support_images"], episode["support_labels"]
    with model_lock(model):
        base = np.asarray(keras.ops.convert_to_numpy(
            model.base.predict_on_batch(qx)))
        start = time.perf_counter()
        personal_model = model.personalize(sx, sy)
        seconds = time.perf_counter() - start
    personal = np.asarray(keras.ops.convert_to_numpy(
        personal_model(qx, training=False)))
    rows = []
    for name, logits in (("base ViT", base), ("HyperLoRA", personal)):
        rows.append([name, int(logits[drawing].argmax()),
                     round(100 * float((logits.argmax(-1) == qy).mean()),
                           1)])
    summary = (
        f"Writer **{int(writer)}** (true digit of the drawing: "
        f"**{int(qy[drawing])}**): base says {rows[0][1]}, personalised "
        f"says **{rows[1][1]}**. On the writer's {len(qy)} test digits: "
        f"base {rows[0][2]}%, HyperLoRA **{rows[1][2]}%** (adapter "
        f"generated and merged in {1000 * seconds:.0f} ms).")
    return summary, rows, _picture(sx, sy, qx[drawing])


def _picture(support, labels, drawing):
    from matplotlib.figure import Figure

    n = len(support)
    fig = Figure(figsize=(6.4, 1.6), dpi=100)
    for i in range(n + 1):
        ax = fig.add_subplot(1, n + 1, i + 1)
        img = support[i] if i < n else drawing
        ax.imshow(img[..., 0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"example: {int(labels[i])}" if i < n
                     else "test drawing", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    return figure_to_picture(fig)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    if not hasattr(model, "personalize") or getattr(
            backbone, "num_classes", None) != 10:
        raise ValueError(
            "The HyperLoRA demo needs a HyperLoRAClassifier for the 10 "
            f"digits. Received: {type(model).__name__}.")


def _header(preset):
    metrics = preset_metrics(preset)
    if "hyper_acc" in metrics:
        line = (
            f"Preset `{preset}` on {metrics.get('num_subjects', 30):.0f} "
            f"unseen writers: base **{100 * metrics['base_acc']:.1f}%**, "
            f"HyperLoRA **{100 * metrics['hyper_acc']:.1f}%**, per-writer "
            f"LoRA fine-tuning {100 * metrics['tuned_acc']:.1f}% (from "
            "the preset's metadata).")
    else:
        line = "Unseen-writer accuracy: not available (not a preset)."
    return header_markdown(
        TITLE,
        "A set encoder reads 5 labelled digits of a writer and a "
        "hypernetwork emits LoRA factors for the frozen base ViT's "
        "attention, MLP and head (finetuning-free personalisation, "
        "HyperDreamBooth style). Writers are procedural styles never "
        "seen in training.", line)


def render(model, api_prefix="", preset=None):
    """Adds the HyperLoRA tab to the open Blocks (see `demos/hub.py`).

    Endpoint: `f"{api_prefix}personalize"` (writer, drawing).

    Args:
        model: a trained `zoo.HyperLoRAClassifier`.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.hyper_lora.render(model, api_prefix="hyper_lora_")
    ```
    """
    _check_model(model)

    def run(writer, drawing):
        return personalize_writer(model, writer, drawing)

    gr.Markdown(_header(preset))
    with gr.Row():
        with gr.Column():
            writer = unchecked(gr.Number(
                value=0, precision=0, label="Unseen writer number",
                elem_id=f"{api_prefix}writer"))
            drawing = unchecked(gr.Number(
                value=0, precision=0, label="Test drawing number",
                elem_id=f"{api_prefix}drawing"))
            button, status, summary = run_controls(
                "Personalise", api_prefix, "personalize-button")
        with gr.Column():
            table = gr.Dataframe(
                headers=["model", "prediction", "writer accuracy %"],
                interactive=False, elem_id=f"{api_prefix}table")
            picture = output_picture("The writer's 5 examples and the "
                                     "drawing", f"{api_prefix}picture")
    wire(button.click, run, [writer, drawing], [summary, table, picture],
         f"{api_prefix}personalize", status)
    return {"writer": writer, "drawing": drawing, "button": button,
            "summary": summary, "table": table, "picture": picture}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=False, seed=0):
    """A small HyperLoRA classifier for 16x16 digits, for tests.

    Untrained by default (random hypernetwork and base), so that the
    hub's `--tiny-test-model` start-up stays short.

    Args:
        train: bool. Train the hypernetwork for 5 steps (base untrained).
        seed: int. Seed.

    Returns:
        A compiled `zoo.HyperLoRAClassifier`.

    Example:

    ```python
    model = demos.hyper_lora.build_tiny_model()
    ```
    """
    from zoo.hyper_lora.hyper_lora_training import WriterEpisodes
    from zoo.hyper_lora.hyper_lora_training import build_hyper_lora_classifier

    keras.utils.set_random_seed(seed)
    model = build_hyper_lora_classifier(
        seed=seed, num_layers=1, hidden_dim=8, mlp_dim=8, rank=2,
        hyper_units=(8,), set_units=8, condition_dim=8, zero_init=False)
    if train:
        model.fit(WriterEpisodes(5, seed, batch_size=8,
                                 subjects_per_batch=2), epochs=1,
                  verbose=0)
    return model
