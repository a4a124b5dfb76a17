"""Expensive multi-objective optimisation with a Pareto-set hypernetwork.

One run (`run_mobo`) of PSL or SVH-PSL on a pymoo problem:

1. `num_initial` Latin-hypercube points are evaluated (the expensive
   calls);
2. a GP per objective is fitted (scikit-learn, `zoo.svh_psl.svh_psl_gp`)
   and loaded into `layers.GaussianProcessPosterior` (LCB, beta 0.1);
3. the preference hypernetwork `x = h(r)` (`zoo.ParetoSetModel`) is
   trained for `steps` Adam steps on batches of `particles` Dirichlet
   preferences, against the Tchebycheff scalarisation of the LCB,
   `g(x | r) = max_k r_k (LCB_k(x) - z_k) / s_k` (ideal point `z` = the
   observed minimum minus 10 % of the observed range `s`):
   - PSL: minimise the batch mean of `g(h(r_i) | r_i)` (autodiff through
     the `keras.ops` GP posterior);
   - SVH-PSL: the batch's solutions are SVGD particles with
     `log p_i = -g(. | r_i)`; the direction `phi_i`
     (`layers.svh_psl.svgd_direction`, RBF kernel, median bandwidth) is
     pushed into the hypernetwork by the surrogate loss
     `-sum_i stop_gradient(phi_i) . h(r_i)` (its gradient is
     `-sum_i (dh(r_i)/dtheta)^T phi_i`, the paper's `x.backward(-phi)`),
     with `grad log p = -grad g / temperature` (temperature 0.1, chosen
     on seed 0 of ZDT1/ZDT2 among 1, 0.1, 0.02) from the closed-form LCB
     gradient
     (`GaussianProcessPosterior.lcb_and_gradient`): the whole step stays
     one Keras `fit` step on every backend, no backend gradient call;
4. `batch_size` new points are picked among the solutions of
   `candidates` random preferences by greedy hypervolume improvement of
   the GP posterior means (normalised by the observed range, reference
   point 1.1; the PSL paper's batch selection), evaluated, and the loop
   goes back to 2 until `num_batches` batches are spent;
5. after the last batch the GPs are refitted and the hypernetwork
   trained once more; its learned front `h(r)` on a preference grid is
   scored (true objectives, pymoo hypervolume and IGD; these
   evaluations are for scoring only and are not part of the budget).
"""

import csv
import os
import time

import keras
import numpy as np
from keras import ops

from layers.svh_psl import svgd_direction
from layers.svh_psl import tchebycheff
from layers.svh_psl import tchebycheff_gradient
from zoo.svh_psl.svh_psl_backbone import SVHPSLBackbone
from zoo.svh_psl.svh_psl_gp import fit_gp
from zoo.svh_psl.svh_psl_gp import gp_layer
from zoo.svh_psl.svh_psl_model import ParetoSetModel
from zoo.svh_psl.svh_psl_problems import NUM_VAR
from zoo.svh_psl.svh_psl_problems import PROBLEMS
from zoo.svh_psl.svh_psl_problems import check_problem
from zoo.svh_psl.svh_psl_problems import evaluate
from zoo.svh_psl.svh_psl_problems import front_metrics
from zoo.svh_psl.svh_psl_problems import preference_grid

METHODS = ("psl", "svh_psl")
CONFIG = dict(num_initial=20, num_batches=5, batch_size=5, steps=300,
              particles=16, hidden_dim=64, learning_rate=1e-3, beta=0.1,
              candidates=200, temperature=0.1, steps_per_execution=25)
PRESET_PROBLEM = "zdt1"


def _mean_output(y_true, y_pred):
    """The trainer's loss: its outputs are already per-sample losses."""
    return ops.mean(y_pred)


class ParetoSetTrainer(keras.Model):
    """Wraps a `ParetoSetModel` and the GP: outputs per-sample losses.

    Not saved (only the wrapped model is). The ideal point and the
    objective scale are non-trainable weights, so that a refit GP or a
    new ideal point does not retrace the jitted step.

    Args:
        model: `zoo.ParetoSetModel`.
        gp: a built `layers.GaussianProcessPosterior`.
        method: str. `"psl"` or `"svh_psl"`.
        temperature: float. SVH-PSL: `log p = -g / temperature`.
        **kwargs: passed to `keras.Model`.

    Example:

    ```python
    trainer = ParetoSetTrainer(model, gp, "svh_psl")
    trainer.compile(keras.optimizers.Adam(1e-3), loss=_mean_output)
    ```

    Reference:
    - [Nguyen et al., 2025](https://arxiv.org/abs/2412.17312), SVH-PSL,
      AAAI 2025.
    - [Lin et al., 2022](https://arxiv.org/abs/2210.08495), PSL,
      NeurIPS 2022.
    """

    def __init__(self, model, gp, method, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)
        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}. Known: "
                             f"{', '.join(METHODS)}")
        self.solver = model
        self.gp = gp
        self.method = method
        m = gp.num_outputs
        self.ideal = self.add_weight(name="ideal", shape=(m,),
                                     initializer="zeros", trainable=False)
        self.scale = self.add_weight(name="scale", shape=(m,),
                                     initializer="ones", trainable=False)

    def set_normalization(self, y):
        """Ideal point and scale from the evaluated objectives `y`.

        Args:
            y: array `(n, m)`.
        """
        low, high = y.min(axis=0), y.max(axis=0)
        scale = np.maximum(high - low, 1e-6)
        self.ideal.assign((low - 0.1 * scale).astype("float32"))
        self.scale.assign(scale.astype("float32"))

    def call(self, preferences):
        preferences = ops.cast(preferences, "float32")
        x = ops.cast(self.solver(preferences), "float32")
        ideal = ops.convert_to_tensor(self.ideal)
        scale = ops.convert_to_tensor(self.scale)
        if self.method == "psl":
            g = tchebycheff(self.gp(x), preferences, ideal, scale)
            return g[:, None]
        fixed = ops.stop_gradient(x)
        lcb, d_lcb = self.gp.lcb_and_gradient(fixed)
        grad_log_p = -tchebycheff_gradient(
            lcb, d_lcb, preferences, ideal, scale) / self.temperature
        phi = ops.stop_gradient(svgd_direction(fixed, grad_log_p))
        return -ops.sum(phi * x, axis=-1, keepdims=True)


def _hypervolume(front, ref):
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=ref)(front))


def select_batch(model, gp, y, batch_size, candidates, rng):
    """Greedy hypervolume-improvement batch from the learned Pareto set.

    Args:
        model: `zoo.ParetoSetModel`.
        gp: the loaded `layers.GaussianProcessPosterior`.
        y: array `(n, m)` of evaluated objectives.
        batch_size: int. Points to return.
        candidates: int. Random preferences whose solutions compete.
        rng: numpy `Generator`.

    Returns:
        numpy `(batch_size, num_var)`.
    """
    m = y.shape[1]
    prefs = rng.dirichlet(np.ones(m), size=candidates).astype("float32")
    xc = model.solutions(prefs)
    mean, _ = gp.posterior(xc)
    low = y.min(axis=0)
    scale = np.maximum(y.max(axis=0) - low, 1e-6)
    pred = (np.asarray(ops.convert_to_numpy(mean)) - low) / scale
    front = (y - low) / scale
    ref = np.full(m, 1.1)
    free = np.ones(len(xc), bool)
    chosen = []
    for _ in range(batch_size):
        base = _hypervolume(front, ref)
        gains = np.full(len(xc), -np.inf)
        for i in np.flatnonzero(free):
            gains[i] = _hypervolume(np.vstack([front, pred[i:i + 1]]),
                                    ref) - base
        best = int(np.argmax(gains))
        if gains[best] <= 0.0:  # no improvement left: a random candidate
            best = int(rng.choice(np.flatnonzero(free)))
        chosen.append(best)
        free[best] = False
        front = np.vstack([front, pred[best:best + 1]])
    return xc[chosen]


def build_pareto_set_model(num_objectives, num_var=NUM_VAR, hidden_dim=64,
                           seed=0):
    """A fresh `ParetoSetModel` (2 hidden ReLU layers).

    Args:
        num_objectives: int.
        num_var: int.
        hidden_dim: int.
        seed: int.

    Returns:
        The compiled model.

    Example:

    ```python
    model = build_pareto_set_model(2)
    ```
    """
    backbone = SVHPSLBackbone(num_objectives, hidden_dim=hidden_dim,
                              num_layers=2, seed=seed)
    model = ParetoSetModel(backbone, num_var)
    model.compile()
    return model


def run_mobo(problem, method, seed=0, config=None, verbose=0):
    """One expensive multi-objective optimisation run (module docstring).

    Args:
        problem: str. A key of `zoo.svh_psl.svh_psl_problems.PROBLEMS`.
        method: str. `"psl"` or `"svh_psl"`.
        seed: int. Seeds the LHS design, the hypernetwork, preferences.
        config: dict overriding `CONFIG` entries, or `None`.
        verbose: int. Print one line per batch when > 0.

    Returns:
        dict: `model` (the trained `ParetoSetModel`), `x`, `y` (the
        evaluated points), `gp_state` (the last GP fit), `metrics`
        (`hypervolume`, `igd` of the learned front, and
        `evaluated_hypervolume`, `evaluated_igd` of the evaluated
        points), `history` (per GP refit: evaluations so far, last
        training loss, evaluated hypervolume), `seconds`, `config`.

    Example:

    ```python
    result = run_mobo("zdt1", "svh_psl", seed=0)
    result["metrics"]["hypervolume"]
    ```
    """
    from scipy.stats import qmc

    check_problem(problem)
    cfg = dict(CONFIG, **(config or {}))
    start = time.time()
    m, d = PROBLEMS[problem], NUM_VAR
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    x = qmc.LatinHypercube(d=d, seed=seed).random(cfg["num_initial"])
    y = evaluate(problem, x)
    model = build_pareto_set_model(m, d, cfg["hidden_dim"], seed)
    budget = cfg["num_initial"] + cfg["num_batches"] * cfg["batch_size"]
    gp = gp_layer(budget, d, m, beta=cfg["beta"])
    trainer = ParetoSetTrainer(model, gp, method, cfg["temperature"])
    trainer.compile(keras.optimizers.Adam(cfg["learning_rate"]),
                    loss=_mean_output,
                    steps_per_execution=cfg["steps_per_execution"])
    n_pref = cfg["steps"] * cfg["particles"]
    history = []
    for it in range(cfg["num_batches"] + 1):
        state, _ = fit_gp(x, y, seed=seed)
        gp.set_posterior(**state)
        trainer.set_normalization(y)
        prefs = rng.dirichlet(np.ones(m), size=n_pref).astype("float32")
        logs = trainer.fit(prefs, np.zeros((n_pref, 1), "float32"),
                           batch_size=cfg["particles"], epochs=1,
                           shuffle=False, verbose=0).history
        history.append({
            "batch": it, "evaluations": len(x),
            "final_loss": float(logs["loss"][-1]),
            "evaluated_hypervolume": front_metrics(problem, y)[
                "hypervolume"]})
        if it == cfg["num_batches"]:
            break
        new_x = select_batch(model, gp, y, cfg["batch_size"],
                             cfg["candidates"], rng)
        x = np.vstack([x, new_x])
        y = np.vstack([y, evaluate(problem, new_x)])
        if verbose:
            print(f"{problem} {method} seed {seed} batch {it + 1}: "
                  f"{len(x)} evaluations")
    metrics = learned_front_metrics(model, problem)
    evaluated = front_metrics(problem, y)
    metrics["evaluated_hypervolume"] = evaluated["hypervolume"]
    metrics["evaluated_igd"] = evaluated["igd"]
    return dict(model=model, x=x, y=y, gp_state=state, metrics=metrics,
                history=history, seconds=time.time() - start, config=cfg)


def learned_front(model, problem, size=100):
    """The learned front: true objectives of `h(r)` on a preference grid.

    Args:
        model: `zoo.ParetoSetModel`.
        problem: str.
        size: int. About this many preferences.

    Returns:
        `(preferences, x, y)` numpy arrays.
    """
    prefs = preference_grid(PROBLEMS[check_problem(problem)], size)
    x = model.solutions(prefs)
    return prefs, x, evaluate(problem, x)


def learned_front_metrics(model, problem, size=100):
    """pymoo hypervolume and IGD of `learned_front`.

    Args:
        model: `zoo.ParetoSetModel`.
        problem: str.
        size: int.

    Returns:
        dict with `hypervolume` and `igd`.
    """
    return front_metrics(problem, learned_front(model, problem, size)[2])


def train_svh_psl(epochs=None, out_dir="runs/svh_psl_zdt1", seed=0,
                  verbose=1):
    """Recipe of the `svh_psl_zdt1` preset: one SVH-PSL run on ZDT1.

    `CONFIG` budget: 20 LHS + 5 batches of 5 expensive evaluations;
    `epochs` overrides the hypernetwork steps per batch (default 300).
    Writes `log.csv` in `out_dir` (one row per GP refit).

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned and who sets the dtype policy.

    Example:

    ```python
    zoo.training.train("svh_psl_zdt1", "runs/svh_psl")
    ```
    """
    config = {} if epochs is None else {"steps": int(epochs)}
    result = run_mobo(PRESET_PROBLEM, "svh_psl", seed, config, verbose)
    cfg = result["config"]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "log.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(result["history"][0]))
        writer.writeheader()
        writer.writerows(result["history"])
    metadata = {
        "description": (
            "SVH-PSL preference hypernetwork (r -> x, 2 x 64 ReLU, "
            "sigmoid head) for ZDT1 (6 variables, 2 objectives), trained "
            "by SVGD on Matern-5/2 GP LCB surrogates fitted to 45 "
            "expensive evaluations (20 LHS + 5 batches of 5)."),
        "problem": PRESET_PROBLEM,
        "num_var": NUM_VAR,
        "dataset": "pymoo ZDT1 (evaluated points in gp_data)",
        "split": {"test": "learned front on 100 grid preferences"},
        "epochs": cfg["steps"],
        "steps_per_batch": cfg["steps"],
        "particles": cfg["particles"],
        "optimizer": f"Adam({cfg['learning_rate']})",
        "budget": {"initial_lhs": cfg["num_initial"],
                   "batches": cfg["num_batches"],
                   "batch_size": cfg["batch_size"]},
        "lcb_beta": cfg["beta"],
        "gp_data": {"x": np.round(result["x"], 6).tolist(),
                    "y": np.round(result["y"], 6).tolist()},
        "train_seconds": round(result["seconds"], 1),
        "input_kind": "preference",
        "input_range": {"preferences": [0.0, 1.0]},
        "input_spec": "preferences float32 (batch, 2) on the simplex",
        "pipeline_tag": "other",
        "license": "apache-2.0",
        "references": [
            "Nguyen et al., 2025. Improving Pareto Set Learning for "
            "Expensive Multi-objective Optimization via Stein Variational "
            "Hypernetworks. AAAI 2025",
            "Lin et al., 2022. Pareto Set Learning for Expensive "
            "Multi-Objective Optimization. NeurIPS 2022",
        ],
    }
    return result["model"], dict(result["metrics"]), metadata
