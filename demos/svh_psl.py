"""Gradio demo of SVH-PSL: move a preference, watch the solution move.

The bundled `svh_psl_zdt1` preset is a preference hypernetwork
`x = h(r)` for ZDT1 (6 variables, 2 objectives), trained by SVGD on GP
surrogates of 45 evaluations. A slider sets the weight `w` of objective
f1 (the preference is `r = (w, 1 - w)`); the tab shows the solution
`h(r)`, its true objective values, and where it lies on the learned
front (the whole curve `h(r)` over all preferences) next to the true
Pareto front from pymoo. Endpoint `"solve"` (`"<tab>_solve"` in the
hub).

A hub tab: the module contract is in `demos/hub.py`.
"""

import gradio as gr
import numpy as np

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
from demos.components import wire

TITLE = "SVH-PSL Pareto front"
SUMMARY = ("Move a preference slider and watch a Pareto-set "
           "hypernetwork's solution move along the ZDT1 front.")
PROBLEM = "zdt1"
NUM_VAR = 6


def solve(model, weight):
    """The solution for preference `(weight, 1 - weight)` and its plot.

    Args:
        model: a `zoo.ParetoSetModel` for ZDT1 (2 objectives, 6
            variables).
        weight: float in [0, 1]. Weight of objective f1.

    Returns:
        `(summary, rows, picture)`: a Markdown summary, `[name, value]`
        rows (the 6 variables, then f1 and f2) and a uint8 picture of
        the learned front, the true front and the chosen solution.

    Raises:
        gr.Error: `weight` is not a number in [0, 1].

    Example:

    ```python
    summary, rows, picture = demos.svh_psl.solve(
        zoo.load("svh_psl_zdt1"), 0.3)
    ```
    """
    from zoo.svh_psl.svh_psl_problems import evaluate
    from zoo.svh_psl.svh_psl_problems import pareto_front
    from zoo.svh_psl.svh_psl_problems import preference_grid

    weight = check_number(weight, "weight", 0.0, 1.0)
    pref = np.array([[weight, 1.0 - weight]], "float32")
    grid = preference_grid(2, 100)
    with model_lock(model):
        x = model.solutions(pref)
        front_x = model.solutions(grid)
    f = evaluate(PROBLEM, x)[0]
    front = evaluate(PROBLEM, front_x)
    true = pareto_front(PROBLEM)
    rows = [[f"x{i + 1}", round(float(v), 4)] for i, v in enumerate(x[0])]
    rows += [["f1", round(float(f[0]), 4)], ["f2", round(float(f[1]), 4)]]
    fig, ax = figure_axes(height=3.2)
    ax.plot(true[:, 0], true[:, 1], color="0.6", lw=3,
            label="true front (pymoo)")
    ax.scatter(front[:, 0], front[:, 1], s=8, c="tab:blue",
               label="learned front h(r)")
    ax.scatter([f[0]], [f[1]], s=90, c="tab:red", marker="*",
               label=f"h({weight:.2f}, {1 - weight:.2f})", zorder=3)
    ax.set_xlabel("f1")
    ax.set_ylabel("f2")
    ax.set_ylim(-0.05, max(1.5, float(f[1]) + 0.1))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    gap = float(f[1] - (1.0 - np.sqrt(np.clip(f[0], 0.0, 1.0))))
    summary = (
        f"Preference **r = ({weight:.2f}, {1 - weight:.2f})**: solution "
        f"f1 = **{f[0]:.3f}**, f2 = **{f[1]:.3f}** (true ZDT1 values; "
        f"{gap:.3f} above the true front at this f1).")
    return summary, rows, figure_to_picture(fig)


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    if (getattr(model, "num_var", None) != NUM_VAR
            or getattr(backbone, "num_objectives", None) != 2):
        raise ValueError(
            "The SVH-PSL demo needs a ParetoSetModel for ZDT1 "
            f"(num_var={NUM_VAR}, 2 objectives). Received: "
            f"{type(model).__name__}.")


def _header(preset):
    metrics = preset_metrics(preset)
    if "hypervolume" in metrics:
        line = (
            f"Preset `{preset}`: learned front hypervolume "
            f"**{metrics['hypervolume']:.3f}** (reference point (1.1, "
            f"1.1); the true front's is 0.871), IGD "
            f"{metrics['igd']:.4f} (from the preset's metadata).")
    else:
        line = "Front quality: not available (not a preset)."
    return header_markdown(
        TITLE,
        "Pareto-set learning trains one hypernetwork h that maps a "
        "preference r over the objectives to a solution x = h(r). "
        "SVH-PSL (Nguyen et al., 2025) moves the solutions of a batch of "
        "preferences together by Stein variational gradient descent on "
        "GP surrogates of the expensive objectives, which keeps them "
        "spread along the front.", line)


def render(model, api_prefix="", preset=None):
    """Adds the SVH-PSL tab to the open Blocks (see `demos/hub.py`).

    Endpoint: `f"{api_prefix}solve"` (weight of f1).

    Args:
        model: a `zoo.ParetoSetModel` for ZDT1.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.svh_psl.render(model, api_prefix="svh_psl_")
    ```
    """
    _check_model(model)

    def run(weight):
        return solve(model, weight)

    gr.Markdown(_header(preset))
    with gr.Row():
        with gr.Column():
            weight = unchecked(gr.Slider(
                0.0, 1.0, value=0.5, step=0.01,
                label="Preference: weight of f1 (f2 gets 1 - weight)",
                elem_id=f"{api_prefix}weight"))
            button, status, summary = run_controls(
                "Solve", api_prefix, "solve-button")
            table = gr.Dataframe(headers=["name", "value"],
                                 interactive=False,
                                 elem_id=f"{api_prefix}table")
        with gr.Column():
            picture = output_picture("Learned front and solution",
                                     f"{api_prefix}front")
    wire(button.click, run, [weight], [summary, table, picture],
         f"{api_prefix}solve", status)
    return {"weight": weight, "button": button, "summary": summary,
            "table": table, "front": picture}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=False, seed=0):
    """A small ZDT1 Pareto-set model, for tests (untrained by default).

    Args:
        train: bool. Run a tiny SVH-PSL loop (8 evaluations, 20 steps).
        seed: int. Seed.

    Returns:
        A compiled `zoo.ParetoSetModel` (2 objectives, 6 variables).

    Example:

    ```python
    model = demos.svh_psl.build_tiny_model()
    ```
    """
    from zoo.svh_psl.svh_psl_training import build_pareto_set_model
    from zoo.svh_psl.svh_psl_training import run_mobo

    if train:
        return run_mobo(PROBLEM, "svh_psl", seed, dict(
            num_initial=6, num_batches=1, batch_size=2, steps=20,
            particles=4, hidden_dim=8, candidates=10))["model"]
    return build_pareto_set_model(2, NUM_VAR, hidden_dim=8, seed=seed)
