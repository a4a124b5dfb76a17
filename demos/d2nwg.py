"""Gradio demo of D2NWG: sample MLP weights for a chosen digit subset.

Pick 5 digit classes (the label order is the order of the digits), the
shots per class, the number of fine-tuning steps and a seed; the tab
draws a support set from the digits train split, samples the weights of
a 64-32-5 MLP with the bundled `d2nwg_digits_fewshot` model (support set
-> set encoder -> latent flow -> VAE decoder), fine-tunes them on the
support set with Adam and shows the query accuracy (test split of those
classes) before and after, next to a Glorot random init fine-tuned the
same way. Endpoint `"sample_weights"` (`"<tab>_sample_weights"` in the
hub).

A hub tab: the module contract is in `demos/hub.py`.
"""

import tempfile

import gradio as gr

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

TITLE = "D2NWG weights"
SUMMARY = ("Sample MLP weights for a few-shot digit task with a "
           "task-conditioned latent diffusion (flow) model.")
WAYS = 5
MAX_STEPS = 50


def _check_classes(classes):
    """`classes` as a sorted tuple of 5 distinct digits 0..9."""
    try:
        values = [int(c) for c in classes]
    except (TypeError, ValueError):
        values = None
    if (values is None or len(set(values)) != WAYS
            or len(values) != WAYS or not all(0 <= v <= 9 for v in values)):
        raise user_error(
            f"Choose exactly {WAYS} different digits 0-9. Received: "
            f"classes={classes!r}")
    return tuple(sorted(values))


def _as_int(value, name, low, high):
    number = check_number(value, name, low, high)
    if float(number) != int(number):
        raise user_error(f"`{name}` must be a whole number. Received: "
                         f"{name}={value!r}")
    return int(number)


def sample_task(model, classes, shots=5, steps=20, seed=0):
    """Samples weights for a digit subset; compares with random init.

    Args:
        model: a trained `zoo.D2NWGGenerator` (digits, 5-way).
        classes: sequence of 5 distinct digits (label k = k-th smallest).
        shots: int in [1, 20]. Support examples per class.
        steps: int in [0, 50]. Fine-tuning steps on the support set.
        seed: int in [0, 2^31). Seed of the support draw, the flow
            noise and the random init.

    Returns:
        `(summary, rows, picture)`: a Markdown summary, `[method,
        accuracy % before, accuracy % after]` rows and a uint8 picture
        of the accuracy against the fine-tuning steps.

    Raises:
        gr.Error: bad classes, shots, steps or seed.

    Example:

    ```python
    summary, rows, picture = demos.d2nwg.sample_task(
        zoo.load("d2nwg_digits_fewshot"), (0, 2, 4, 6, 8))
    ```
    """
    from zoo.d2nwg.d2nwg_eval import finetune_curves
    from zoo.d2nwg.d2nwg_eval import make_episodes
    from zoo.data.checkpoint_zoo import heldout_tasks
    from zoo.data.checkpoint_zoo import init_params

    classes = _check_classes(classes)
    shots = _as_int(shots, "shots", 1, 20)
    steps = _as_int(steps, "steps", 0, MAX_STEPS)
    seed = _as_int(seed, "seed", 0, 2**31 - 1)
    support, tasks = make_episodes([classes], shots, 1, seed)
    with model_lock(model):
        sampled = model.generate_weights(support, seed=seed)
    inits = {"D2NWG sampled": sampled,
             "random init": init_params(64, 32, [seed, 7, 0])[None]}
    grid = sorted({0, steps} | set(range(0, steps + 1, 5)))
    curves = {name: finetune_curves(p, support, tasks, grid)[:, 0]
              for name, p in inits.items()}
    rows = [[name, round(100 * c[0], 1), round(100 * c[-1], 1)]
            for name, c in curves.items()]
    fig, ax = figure_axes(height=2.8)
    for name, c in curves.items():
        ax.plot(grid, 100 * c, marker="o", label=name)
    ax.set_xlabel("fine-tuning steps on the support set")
    ax.set_ylabel("query accuracy %")
    ax.legend()
    ax.grid(alpha=0.3)
    seen = "held out of the zoo" if classes in heldout_tasks(0) else \
        "seen in the zoo"
    d, r = curves["D2NWG sampled"], curves["random init"]
    summary = (
        f"**Digits {classes}** ({seen}), {shots}-shot, {steps} steps: "
        f"D2NWG **{100 * d[0]:.1f}% -> {100 * d[-1]:.1f}%**, random "
        f"init {100 * r[0]:.1f}% -> {100 * r[-1]:.1f}%.")
    return summary, rows, figure_to_picture(fig)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    if (getattr(backbone, "ways", None) != WAYS
            or getattr(backbone, "feature_dim", None) != 64
            or not hasattr(model, "generate_weights")):
        raise ValueError(
            "The D2NWG demo needs a D2NWGGenerator for 5-way digits "
            f"(ways=5, feature_dim=64). Received: {type(model).__name__}.")


def _header(preset):
    metrics = preset_metrics(preset)
    if "accuracy_d2nwg_20steps" in metrics:
        line = (
            f"Preset `{preset}` on held-out digit subsets (5-shot, 20 "
            "steps): D2NWG "
            f"**{100 * metrics['accuracy_d2nwg_20steps']:.1f}%**, random "
            f"init {100 * metrics['accuracy_random_20steps']:.1f}%, zoo "
            f"mean {100 * metrics['accuracy_zoo_mean_20steps']:.1f}%, "
            "nearest checkpoint "
            f"{100 * metrics['accuracy_nearest_20steps']:.1f}% (from the "
            "preset's metadata).")
    else:
        line = "Held-out accuracy: not available (not a preset)."
    return header_markdown(
        TITLE,
        "D2NWG (Soro et al., ICLR 2025) learns the distribution of a zoo "
        "of trained checkpoints with a VAE over flattened weights and a "
        "latent diffusion (here flow matching) conditioned on a set "
        "encoding of the task's support examples. Pick 5 digits: it "
        "samples the weights of a 64-32-5 MLP for them.", line)


def render(model, api_prefix="", preset=None):
    """Adds the D2NWG tab to the open Blocks (see `demos/hub.py`).

    Endpoint: `f"{api_prefix}sample_weights"` (classes, shots, steps,
    seed).

    Args:
        model: a trained `zoo.D2NWGGenerator` for 5-way digits.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.d2nwg.render(model, api_prefix="d2nwg_")
    ```
    """
    _check_model(model)

    def sample(classes, shots, steps, seed):
        return sample_task(model, classes, shots, steps, seed)

    gr.Markdown(_header(preset))
    with gr.Row():
        with gr.Column():
            classes = unchecked(gr.CheckboxGroup(
                [str(d) for d in range(10)], value=["0", "1", "2", "3", "6"],
                label="Digit subset (choose 5)",
                elem_id=f"{api_prefix}classes"))
            shots = unchecked(gr.Slider(1, 20, value=5, step=1,
                                        label="Shots per class",
                                        elem_id=f"{api_prefix}shots"))
            steps = unchecked(gr.Slider(0, MAX_STEPS, value=20, step=1,
                                        label="Fine-tuning steps",
                                        elem_id=f"{api_prefix}steps"))
            seed = unchecked(gr.Number(value=0, precision=0, label="Seed",
                                       elem_id=f"{api_prefix}seed"))
            button, status, summary = run_controls(
                "Sample weights", api_prefix, "sample-button")
        with gr.Column():
            table = gr.Dataframe(
                headers=["init", "accuracy % before", "accuracy % after"],
                interactive=False, elem_id=f"{api_prefix}table")
            curve = output_picture("Query accuracy vs fine-tuning steps",
                                   f"{api_prefix}curve")
    wire(button.click, sample, [classes, shots, steps, seed],
         [summary, table, curve], f"{api_prefix}sample_weights", status)
    return {"classes": classes, "shots": shots, "steps": steps,
            "seed": seed, "button": button, "summary": summary,
            "table": table, "curve": curve}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=False, seed=0):
    """A small D2NWG model, untrained or trained on a 10-checkpoint zoo.

    For tests and `python -m demos --tiny-test-model`: latent 4, widths
    4-16. Untrained by default (the hub starts every tab's tiny model at
    once, and the tab's checks are structural); with `train=True`, two
    VAE and two flow epochs on the first 10 checkpoints of the zoo
    (10-20 s on 2 cores).

    Args:
        train: bool. Train it (else random weights).
        seed: int. Seed.

    Returns:
        A `zoo.D2NWGGenerator` for 5-way digits.

    Example:

    ```python
    model = demos.d2nwg.build_tiny_model()
    ```
    """
    from zoo.d2nwg.d2nwg_backbone import D2NWGBackbone
    from zoo.d2nwg.d2nwg_generator import D2NWGGenerator
    from zoo.d2nwg.d2nwg_training import train_d2nwg
    from zoo.data.checkpoint_zoo import PARAM_DIM

    small = dict(latent_dim=4, set_dim=2, set_hidden_dim=4, hidden_dim=8,
                 num_blocks=1, time_embedding_dim=4)
    if train:
        with tempfile.TemporaryDirectory() as out_dir:
            model, _, _ = train_d2nwg(
                epochs=2, vae_epochs=2, verbose=0, zoo_limit=10, seed=seed,
                out_dir=out_dir, config=dict(small, decoder_hidden_dim=16),
                evaluate=False)
        return model
    backbone = D2NWGBackbone(**small, ways=WAYS, feature_dim=64, seed=seed)
    return D2NWGGenerator(backbone, param_dim=PARAM_DIM,
                          decoder_hidden_dim=4)
