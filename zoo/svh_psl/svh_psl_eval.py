"""Evaluator of the `svh_psl_zdt1` preset: quality of the learned front."""

from zoo.svh_psl.svh_psl_problems import NUM_VAR
from zoo.svh_psl.svh_psl_training import PRESET_PROBLEM
from zoo.svh_psl.svh_psl_training import learned_front_metrics


def evaluate_svh_psl(model, split="test"):
    """Hypervolume and IGD (pymoo) of the model's learned ZDT1 front.

    The learned front is `h(r)` on 100 evenly spaced preferences,
    evaluated with the true ZDT1 objectives (6 variables); hypervolume
    with the reference point `(1.1, 1.1)` (true front's nadir + 0.1),
    IGD against pymoo's true front. There is no data split: `split` is
    accepted for the evaluator contract and ignored.

    Args:
        model: `zoo.ParetoSetModel` with 2 objectives and 6 variables.
        split: str. Ignored.

    Returns:
        dict with `hypervolume` and `igd`.

    Example:

    ```python
    evaluate_svh_psl(zoo.load("svh_psl_zdt1"))
    ```
    """
    del split
    if model.num_var != NUM_VAR:
        raise ValueError(f"The ZDT1 evaluator needs num_var={NUM_VAR}. "
                         f"Received: {model.num_var}")
    return learned_front_metrics(model, PRESET_PROBLEM)
