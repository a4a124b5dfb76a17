"""Gradio demo of one-shot magnitude pruning of the Terminator.

The tab of `demos.pruning` (same controls, endpoint `"prune"`, pictures
and contract) on the Terminator of `terminator_2d_digits` instead of the
digits CNN: its 130 kernels, most of them the small networks that
generate the implicit kernels, are ranked together by Global MP. Without
fine-tuning the Terminator falls to chance level well before 90 %;
`terminator_2d_digits_globalmp90` is the same network pruned to 90 %
and fine-tuned (`python -m zoo prune` / `scripts/train_pruning.py`).
A hub tab: the module contract is in `demos/hub.py`.
"""

from demos import pruning
from demos.components import standalone_builder
from zoo.terminator import TerminatorBackbone
from zoo.terminator import TerminatorClassifier

TITLE = "Pruning (Terminator)"
SUMMARY = ("One-shot magnitude pruning of the Terminator on digits: "
           "see where its implicit-kernel networks break.")
DESCRIPTION = (
    "One-shot magnitude pruning of every kernel of a digits Terminator "
    "(the convolution, mixing and bottleneck kernels, and the kernels of "
    "the small networks that generate its implicit kernels; "
    "`zoo.pruning.prune_once`, no fine-tuning) on a copy of the model. "
    "Compare with the digits CNN tab: the Terminator's many small "
    "kernels make it fragile without fine-tuning. The bundled "
    "`terminator_2d_digits_globalmp90` is this network at 90 % "
    "sparsity after fine-tuning.")


def render(model, api_prefix="", preset=None):
    """Adds the Terminator pruning tab to the open Blocks.

    Endpoint `f"{api_prefix}prune"` (method, sparsity in percent); see
    `demos.pruning.render`.

    Args:
        model: a `keras.Model` on `(N, 8, 8, 1)` digits, e.g. the
            `terminator_2d_digits` preset; it is never modified.
        api_prefix, preset: see the module contract in `demos/hub.py`.

    Returns:
        The components of `demos.pruning.render`.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.pruning_terminator.render(zoo.load("terminator_2d_digits"))
    ```
    """
    return pruning.render(model, api_prefix, preset, title=TITLE,
                          description=DESCRIPTION)


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(seed=0):
    """A tiny untrained digits Terminator (one block of 4 filters), for tests.

    Args:
        seed: int. Seed of the initialisers.

    Returns:
        A `zoo.TerminatorClassifier` on `(N, 8, 8, 1)`, 10 classes.

    Example:

    ```python
    model = demos.pruning_terminator.build_tiny_model()
    ```
    """
    backbone = TerminatorBackbone(
        spatial_shape=(8, 8), hidden_dims=(4,), local_kernel_sizes=(3,),
        slow_hidden_dim=4, slow_num_layers=1, local_hidden_dim=3,
        interact_hidden_dim=3, omega_0=1.0, num_groups=2, seed=seed)
    return TerminatorClassifier(backbone, num_classes=10)
