"""Few-shot evaluation of D2NWG against random, zoo-mean and nearest init.

For each held-out digit class subset (never in the checkpoint zoo) and
episode, `shots` support examples per class are drawn from the digits
train split and the query is the whole test split of those classes.
Each initialisation is fine-tuned on the support set with full-batch
Adam (`FINETUNE_LR`) and scored on the query after 0 and `steps` steps:

- `d2nwg`: weights sampled by the model from the support set;
- `random`: Glorot-uniform init of the same MLP (64-32-5);
- `zoo_mean`: the mean weight vector of the zoo's digit checkpoints;
- `nearest`: the zoo checkpoint whose task is nearest to the support
  set (class prototypes, in label order, vs. each zoo task's class
  means on the train split).

Fine-tuning runs in numpy (`zoo.data.checkpoint_zoo.train_mlps`, the
same batched MLP trainer as the zoo), so every backend gives the same
curves for the same sampled weights.
"""

import numpy as np

from zoo.data.checkpoint_zoo import MAX_INPUT
from zoo.data.checkpoint_zoo import heldout_tasks
from zoo.data.checkpoint_zoo import init_params
from zoo.data.checkpoint_zoo import load_checkpoint_zoo
from zoo.data.checkpoint_zoo import mlp_logits
from zoo.data.checkpoint_zoo import task_data
from zoo.data.checkpoint_zoo import train_mlps
from zoo.data.digits import load_digits

METHODS = ("d2nwg", "random", "zoo_mean", "nearest")
FINETUNE_LR = 0.01
SHOTS = 5


def _padded_digits(split):
    x, y = load_digits(split)
    return np.pad(x, ((0, 0), (0, MAX_INPUT - x.shape[1]))), y


def make_episodes(tasks, shots=SHOTS, episodes=1, seed=0):
    """Support sets of few-shot digit tasks, classes in label order.

    Args:
        tasks: list of 5-tuples of digit classes.
        shots: int. Examples per class.
        episodes: int. Support draws per task.
        seed: int.

    Returns:
        `(support, task_list)`: float32 `(T * episodes, 5, shots, 64)`
        and the matching list of tasks.

    Example:

    ```python
    support, tasks = make_episodes(heldout_tasks(0)[:2])
    ```
    """
    x, y = _padded_digits("train")
    rng = np.random.default_rng(seed)
    support, out_tasks = [], []
    for _ in range(episodes):
        for task in tasks:
            s = [x[rng.choice(np.flatnonzero(y == c), shots, replace=False)]
                 for c in task]
            support.append(np.stack(s))
            out_tasks.append(tuple(task))
    return np.stack(support).astype("float32"), out_tasks


def _zoo_prototypes(classes):
    x, y = _padded_digits("train")
    means = np.stack([x[y == c].mean(0) for c in range(10)])
    return means[classes]  # (M, 5, 64)


def baseline_inits(support, zoo_data, seed=0):
    """The random, zoo-mean and nearest-task initialisations.

    Args:
        support: `(T, 5, shots, 64)` support sets.
        zoo_data: dict from `load_checkpoint_zoo("digits")`.
        seed: int. Seed of the random inits.

    Returns:
        dict method -> `(T, PARAM_DIM)` weight vectors.

    Example:

    ```python
    inits = baseline_inits(support, load_checkpoint_zoo("digits"))
    ```
    """
    n = len(support)
    params = zoo_data["params"]
    random = np.stack([init_params(MAX_INPUT, 32, [seed, 7, i])
                       for i in range(n)])
    mean = np.repeat(params.mean(0, keepdims=True), n, 0)
    protos = _zoo_prototypes(zoo_data["classes"])
    query = support.mean(2)
    dist = ((query[:, None] - protos[None]) ** 2).sum((2, 3))
    nearest = params[dist.argmin(1)]
    return {"random": random, "zoo_mean": mean, "nearest": nearest}


def finetune_curves(inits, support, tasks, steps, split="test",
                    lr=FINETUNE_LR):
    """Query accuracy after each number of fine-tuning steps in `steps`.

    Args:
        inits: `(T, PARAM_DIM)` initial weights.
        support: `(T, 5, shots, 64)` support sets (labels = class order).
        tasks: list of T 5-tuples of classes.
        steps: sorted list of ints (e.g. `[0, 5, 20]`).
        split: str. Digits split of the query.
        lr: float. Adam step size.

    Returns:
        float `(len(steps), T)` accuracies.

    Example:

    ```python
    acc = finetune_curves(inits, support, tasks, [0, 20])
    ```
    """
    t, ways, shots, dim = support.shape
    xs = support.reshape(t, ways * shots, dim)
    ys = np.repeat(np.arange(ways), shots)[None].repeat(t, 0)
    queries = [task_data("digits", task, split) for task in tasks]
    params = np.asarray(inits, "float32")
    out, done = [], 0
    for s in steps:
        if s > done:
            params = train_mlps(params, xs, ys, s - done, lr)
            done = s
        accs = []
        for j, (xq, yq) in enumerate(queries):
            logits = mlp_logits(params[j:j + 1], xq[None])[0]
            accs.append(float((logits.argmax(-1) == yq).mean()))
        out.append(accs)
    return np.array(out)


def compare_inits(model, steps=(0, 20), episodes=2, shots=SHOTS, seed=0,
                  split="test", zoo_limit=None):
    """Accuracy curves of every method on the held-out tasks.

    Args:
        model: a trained `D2NWGGenerator`.
        steps: fine-tuning steps at which to score.
        episodes: int. Support draws per held-out task.
        shots: int. Examples per class.
        seed: int. Seed of the support draws, noise and random inits.
        split: str. Query split.
        zoo_limit: int or `None`. Zoo slice for the baselines (tests).

    Returns:
        dict method -> float `(len(steps), T)` accuracies.

    Example:

    ```python
    curves = compare_inits(zoo.load("d2nwg_digits_fewshot"))
    ```
    """
    steps = sorted(steps)
    support, tasks = make_episodes(heldout_tasks(0), shots, episodes, seed)
    zoo_data = load_checkpoint_zoo("digits", limit=zoo_limit)
    inits = baseline_inits(support, zoo_data, seed)
    inits["d2nwg"] = model.generate_weights(support, seed=seed)
    return {m: finetune_curves(inits[m], support, tasks, steps, split)
            for m in METHODS}


def evaluate_fewshot(model, split="test", steps=20, episodes=2, seed=0,
                     zoo_limit=None):
    """Few-shot accuracy on held-out tasks after 0 and `steps` steps.

    Args:
        model: a trained `D2NWGGenerator`.
        split: str. Digits split of the query sets.
        steps: int. Fine-tuning steps (<= 20 for the D2NWG target).
        episodes: int. Support draws per held-out task.
        seed: int.
        zoo_limit: int or `None`. Zoo slice for the baselines (tests).

    Returns:
        dict with `accuracy_<method>_<k>steps` (mean over held-out
        episodes) for `k` in `(0, steps)`, `gain_over_random` and
        `gain_over_zoo_mean` (after `steps` steps, in points) and
        `num_episodes`.

    Example:

    ```python
    evaluate_fewshot(zoo.load("d2nwg_digits_fewshot"))
    ```
    """
    curves = compare_inits(model, (0, steps), episodes, seed=seed,
                           split=split, zoo_limit=zoo_limit)
    out = {}
    for method, acc in curves.items():
        out[f"accuracy_{method}_0steps"] = float(acc[0].mean())
        out[f"accuracy_{method}_{steps}steps"] = float(acc[-1].mean())
    final = {m: out[f"accuracy_{m}_{steps}steps"] for m in METHODS}
    out["gain_over_random"] = 100 * (final["d2nwg"] - final["random"])
    out["gain_over_zoo_mean"] = 100 * (final["d2nwg"] - final["zoo_mean"])
    out["num_episodes"] = int(curves["d2nwg"].shape[1])
    return out
