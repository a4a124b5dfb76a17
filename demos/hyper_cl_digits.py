"""Gradio demo of `hyper_cl_permuted_digits`: continual learning.

A task-conditioned hypernetwork (von Oswald et al., 2020) was trained on
a stream of permuted-digits tasks: task 0 is the plain 8x8 digits, task
`t` shuffles the 64 pixels with `zoo.hyper_cl.continual.
task_permutation(t)`. For every task the hypernetwork generates all the
weights of the target MLP.

The tab takes a digit picture (upload, examples or Sketchpad) and a task
id. The picture becomes 64 features with
`zoo.hyper_mlp.digit_image_to_features` (same handling as the
`hyper_mlp_digits` tab), is permuted with the chosen task's permutation
and classified with the weights generated for that task. It also shows
the permuted input as the target network sees it, the task the model
would pick without being told (class-incremental: lowest predictive
entropy, `HyperCLClassifier.infer_task`) and a bar chart of the test
accuracy per task, with the weights generated now and with the weights
stored right after each task was learned (how much was forgotten).

Endpoints: `f"{api_prefix}classify"` (picture, task id) and
`f"{api_prefix}classify_drawing"` (Sketchpad value, task id); inside the
hub `api_prefix` is `"hyper_cl_permuted_digits_"`.

A hub tab: the module contract is in `demos/hub.py`.
"""

import numbers

import gradio as gr
import numpy as np

from demos.components import check_scores
from demos.components import connect_digit_inputs
from demos.components import digit_features
from demos.components import digit_inputs
from demos.components import figure_axes
from demos.components import figure_to_picture
from demos.components import header_markdown
from demos.components import mlp_widths
from demos.components import output_picture
from demos.components import preset_label_names
from demos.components import preset_metrics
from demos.components import softmax
from demos.components import standalone_builder
from demos.components import status_line
from demos.components import top_classes
from demos.components import top_classes_label
from demos.components import unchecked
from demos.components import user_error
from zoo.data import DIGITS_CLASS_NAMES
from zoo.data.continual_digits import make_tasks
from zoo.data.continual_digits import permute_features
from zoo.hyper_mlp import features_to_image

TITLE = "HyperCL: continual learning"
SUMMARY = ("One hypernetwork, five tasks of permuted digits, little "
           "forgetting.")
NUM_FEATURES = 64
NUM_CLASSES = 10
PERMUTED_SCALE = 16


def _num_tasks(model):
    return int(model.backbone.num_tasks)


def _check_task_id(task_id, num_tasks):
    """Returns `task_id` as an int in [0, num_tasks) or raises gr.Error."""
    expected = (
        f"Expected `task_id` to be an integer task id in "
        f"[0, {num_tasks - 1}] (the {num_tasks} tasks the model learned)."
    )
    value = None
    if isinstance(task_id, str):
        try:
            value = int(task_id.strip())
        except ValueError:
            value = None
    elif isinstance(task_id, numbers.Real) and not isinstance(
        task_id, bool
    ):
        if float(task_id).is_integer():
            value = int(task_id)
    if value is None or not 0 <= value < num_tasks:
        raise user_error(f"{expected} Received: task_id={task_id!r}.")
    return value


def predict(image, task_id, model, label_names=DIGITS_CLASS_NAMES):
    """Classifies a digit under one task's permutation and weights.

    The picture goes through `zoo.hyper_mlp.digit_image_to_features`
    (grayscale, ink polarity, crop, 8x8 resize), then through task
    `task_id`'s pixel permutation
    (`zoo.hyper_cl.continual.permute_features`), and is classified by
    the target MLP with the weights the hypernetwork generates for that
    task (`model.predict_task`). Without the task id, the model picks
    the task whose prediction has the lowest entropy
    (`model.infer_task`); that choice is reported as text.

    Args:
        image: the picture: a numpy array `(H, W)`, `(H, W, 1)`,
            `(H, W, 3)` or `(H, W, 4)` (uint8 0-255 or float 0-1; an 8x8
            array works too), or a Sketchpad/ImageEditor dict with a
            `"composite"` picture.
        task_id: int in `[0, num_tasks)` (an integral float or a string
            of digits is accepted, as UI components send).
        model: a `zoo.HyperCLClassifier` trained on permuted digits (64
            features, 10 classes).
        label_names: sequence of str. Class names, in logit order.

    Returns:
        `(top3, permuted, inferred)`: `top3` a dict `{label:
        probability}` of the three most probable classes, `permuted` the
        uint8 `(128, 128)` picture of the permuted 8x8 input (dark ink
        on white, as the target network sees it) and `inferred` a str
        naming the task and label the model picks without the task id.

    Raises:
        gr.Error: no picture, a picture that cannot be read as a digit,
            or a `task_id` that is not an integer in `[0, num_tasks)`;
            the message names the argument and says what was expected.

    Example:

    ```python
    top3, permuted, inferred = demos.hyper_cl_digits.predict(
        np.asarray(PIL.Image.open("digit.png")), 3,
        zoo.load("hyper_cl_permuted_digits"),
    )
    top3  # {'3': 0.95, '8': 0.03, '5': 0.01}
    ```
    """
    num_tasks = _num_tasks(model)
    task = _check_task_id(task_id, num_tasks)
    features = digit_features(image, "image")
    permuted = permute_features(features[None], task)
    logits = check_scores(model.predict_task(permuted, task)[0],
                          label_names)
    top3 = top_classes(softmax(logits), label_names)
    task_ids, labels = model.infer_task(permuted)
    inferred_task = int(task_ids[0])
    inferred_label = str(label_names[int(labels[0])])
    verdict = (
        "same as" if inferred_task == task else "not"
    ) + f" the chosen task {task}"
    inferred = (
        f"Without the task id (class-incremental, lowest entropy over "
        f"{num_tasks} tasks): task {inferred_task} ({verdict}), "
        f"label {inferred_label}."
    )
    picture = features_to_image(permuted[0], PERMUTED_SCALE)
    return top3, picture, inferred


def task_accuracies(model, split="test"):
    """Accuracy per task, now and right after each task was learned.

    Every task `t` is evaluated on `make_tasks("permuted", split)[t]`
    with the weights generated now and, where stored
    (`model.regularizer.stored_tasks()`), with the weights stored when
    the next task began (`model.stored_weights(t)`).

    Args:
        model: a `zoo.HyperCLClassifier` trained on permuted digits.
        split: str. A `zoo.data.load_digits` split.

    Returns:
        A dict with `now` (list of floats, one per task) and `stored`
        (list with a float per task, `None` where nothing is stored).

    Example:

    ```python
    accs = demos.hyper_cl_digits.task_accuracies(model)
    accs["now"][0], accs["stored"][0]
    ```
    """
    num_tasks = _num_tasks(model)
    stored_tasks = set(model.regularizer.stored_tasks())
    now, stored = [], []
    for t, (x, y) in enumerate(make_tasks("permuted", split, num_tasks)):
        pred = model.predict_task(x, t).argmax(1)
        now.append(float(np.mean(pred == y)))
        if t in stored_tasks:
            weights = model.stored_weights(t)
            pred = model.predict_task(x, t, weights=weights).argmax(1)
            stored.append(float(np.mean(pred == y)))
        else:
            stored.append(None)
    return {"now": now, "stored": stored}


def accuracy_figure(model, accuracies=None, width=6.4, height=3.2,
                    dpi=100):
    """Bar chart of the test accuracy per task, as an RGB picture.

    Two bars per task: the accuracy right after the task was learned
    (stored weights; missing for the last task, whose weights were
    never stored) and the accuracy with the weights the hypernetwork
    generates now. The gap is what the model forgot.

    Args:
        model: a `zoo.HyperCLClassifier` trained on permuted digits.
        accuracies: `None` to compute them on the test split with
            `task_accuracies`, or a dict as it returns.
        width, height, dpi: the figure's size in inches and its pixels
            per inch (see `demos.components.figure_axes`).

    Returns:
        The uint8 picture of `demos.components.figure_to_picture`,
        `(320, 640, 3)` with the defaults.

    Example:

    ```python
    picture = demos.hyper_cl_digits.accuracy_figure(model)
    picture.shape  # (320, 640, 3)
    ```
    """
    if accuracies is None:
        accuracies = task_accuracies(model)
    now = np.asarray(accuracies["now"], dtype="float64")
    stored = np.asarray(
        [np.nan if a is None else a for a in accuracies["stored"]],
        dtype="float64",
    )
    tasks = np.arange(len(now))
    fig, ax = figure_axes(width, height, dpi)
    bar = 0.4
    ax.bar(tasks - bar / 2, 100 * np.nan_to_num(stored), bar,
           color="#9ecae1", label="right after learning the task")
    ax.bar(tasks + bar / 2, 100 * now, bar, color="#08519c",
           label="now (after all tasks)")
    ax.set_xticks(tasks)
    ax.set_xlabel("task")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 125)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title(
        f"Test accuracy per task: mean now {100 * now.mean():.1f}%"
    )
    ax.legend(loc="upper center", ncols=2, fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return figure_to_picture(fig)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    ok = (
        backbone is not None
        and hasattr(model, "predict_task")
        and hasattr(model, "infer_task")
        and getattr(backbone, "input_dim", None) == NUM_FEATURES
        and getattr(backbone, "num_classes", None) == NUM_CLASSES
        and getattr(model, "task_labels", None) is None
    )
    if not ok:
        raise ValueError(
            "The continual-learning demo needs a zoo.HyperCLClassifier "
            f"trained on permuted digits (input_dim={NUM_FEATURES}, "
            f"num_classes={NUM_CLASSES}, task_labels=None). Received: "
            f"{type(model).__name__} with input_dim="
            f"{getattr(backbone, 'input_dim', None)!r}, num_classes="
            f"{getattr(backbone, 'num_classes', None)!r}."
        )


def _header(model, preset):
    widths = mlp_widths(model.backbone, model.backbone.num_classes)
    num_tasks = _num_tasks(model)
    intro = (
        f"One hypernetwork generates every weight of an MLP {widths} "
        f"for each of {num_tasks} tasks learned one after the other "
        "(von Oswald et al., 2020). Task 0 is the "
        "plain 8x8 digits; task t shuffles the 64 pixels with a fixed "
        "permutation. Pick a task, upload or draw a plain digit: it is "
        "permuted for that task and classified with that task's "
        "weights. The model also guesses the task on its own (lowest "
        "predictive entropy)."
    )
    metrics = preset_metrics(preset)
    parts = []
    for key, name in (
        ("average_accuracy", "average test accuracy"),
        ("forgetting", "forgetting"),
        ("class_incremental_accuracy", "accuracy without task id"),
    ):
        if isinstance(metrics.get(key), numbers.Real):
            parts.append(f"{name} **{100 * metrics[key]:.1f}%**")
    if parts:
        metrics_line = (
            f"Preset `{preset}`: " + ", ".join(parts)
            + " (from the preset's metadata)."
        )
    else:
        metrics_line = ("Preset metrics: not available (model not loaded "
                        "from a preset); the chart below is computed live.")
    return header_markdown(TITLE, intro, metrics_line)


def render(model, api_prefix="", preset=None):
    """Adds the continual-learning tab to the open Blocks (`demos/hub.py`).

    Endpoints of `demos.components.connect_digit_inputs`, each with the
    task id as second input: `f"{api_prefix}classify"` (picture) and
    `f"{api_prefix}classify_drawing"` (Sketchpad). The accuracy chart is
    computed once here (test split, all tasks) and shown as a static
    picture.

    Args:
        model: a `zoo.HyperCLClassifier` trained on permuted digits.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Its metadata gives the header's metrics
            and the label names.

    Returns:
        A dict of the created components: `task`, those of
        `demos.components.digit_inputs`, `label`, `permuted`,
        `inferred`, `accuracy`, `status`.

    Example:

    ```python
    preset = "hyper_cl_permuted_digits"
    with gr.Blocks() as demo:
        demos.hyper_cl_digits.render(zoo.load(preset), api_prefix="cl_",
                                     preset=preset)
    ```
    """
    _check_model(model)
    label_names = preset_label_names(preset)
    num_tasks = _num_tasks(model)
    chart = accuracy_figure(model)

    def classify(image, task_id):
        return predict(image, task_id, model, label_names)

    gr.Markdown(_header(model, preset))
    with gr.Row():
        with gr.Column():
            task = unchecked(gr.Dropdown(
                choices=[
                    (f"task {t}" + (" (plain digits)" if t == 0
                                    else f" (permutation {t})"), t)
                    for t in range(num_tasks)
                ],
                value=0,
                # Custom values reach `predict`, whose error names
                # `task_id` and the valid range (Gradio's own check
                # would only list the choices).
                allow_custom_value=True,
                label="Task id (which permutation and which weights)",
                elem_id=f"{api_prefix}task",
            ))
            inputs = digit_inputs(
                api_prefix, "digit {label}, test #{index}",
                image_label="Digit picture (plain, not permuted)",
            )
        with gr.Column():
            status = status_line(f"{api_prefix}status")
            label = top_classes_label(api_prefix,
                                      "Top-3 classes (task's weights)")
            permuted = output_picture(
                "Permuted input, as the target network sees it",
                f"{api_prefix}permuted", height=160,
            )
            inferred = gr.Textbox(
                label="Task inferred without the task id",
                interactive=False,
                elem_id=f"{api_prefix}inferred",
            )
    accuracy = output_picture(
        "Test accuracy per task (computed when the demo started)",
        f"{api_prefix}accuracy", value=chart,
    )
    connect_digit_inputs(classify, inputs, [label, permuted, inferred],
                         api_prefix, extra=[task], status=status)
    return {"task": task, **inputs, "label": label, "permuted": permuted,
            "inferred": inferred, "accuracy": accuracy, "status": status}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=True, num_tasks=3, epochs=3, seed=0):
    """A tiny permuted-digits HyperCL model, optionally trained.

    A chunked hypernetwork (chunks of 200, hidden 16) generating a
    64-16-10 MLP for `num_tasks` tasks, trained task after task with
    `zoo.hyper_cl.continual.train_hypernet_continual` (about 8 s on a
    2-core CPU for 3 tasks of 3 epochs; weights stored after each task
    but the last). Used by the tests and by
    `python -m demos --tiny-test-model`.

    Args:
        train: bool. Train it (else random weights, nothing stored).
        num_tasks: int. Number of permuted tasks (1 to 10).
        epochs: int. Epochs per task.
        seed: int. Seed of the initialisers and of the training.

    Returns:
        A compiled `zoo.HyperCLClassifier` for `num_tasks` tasks.

    Example:

    ```python
    model = demos.hyper_cl_digits.build_tiny_model(num_tasks=2, epochs=1)
    ```
    """
    from zoo.hyper_cl import continual
    from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier

    model = build_cl_classifier(
        "permuted", "chunked", seed=seed, hidden_dims=(16,),
        chunk_size=200, hidden_units=(16,), num_tasks=num_tasks,
    )
    if train:
        continual.train_hypernet_continual(
            model,
            continual.make_tasks("permuted", "train", num_tasks),
            continual.make_tasks("permuted", "test", num_tasks),
            epochs=epochs, seed=seed,
        )
    return model
