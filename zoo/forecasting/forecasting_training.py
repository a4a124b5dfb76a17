"""Training recipes of the forecasting presets (teacher forcing)."""

import keras
import numpy as np

from layers._checks import check_positive_int
from zoo.data.forecasting_systems import HORIZON_LYAPUNOV
from zoo.data.forecasting_systems import NUM_TEST_ICS
from zoo.data.forecasting_systems import SYSTEMS
from zoo.data.forecasting_systems import load_system
from zoo.data.forecasting_systems import training_windows
from zoo.forecasting.forecasting_eval import evaluate_system
from zoo.forecasting.forecasting_presets import build_forecaster
from zoo.forecasting.forecasting_presets import check_preset
from zoo.training import fit_resumable

_REFERENCES = [
    "Heidenreich, Vlachas, Koumoutsakos, 2024. Deconstructing "
    "Recurrence, Attention, and Gating. arXiv:2410.02654",
    "Zilly et al., 2017. Recurrent Highway Networks. arXiv:1607.03474",
    "Vlachas et al., 2020. Backpropagation algorithms and "
    "Reservoir Computing in Recurrent Neural Networks for the "
    "forecasting of complex spatiotemporal dynamics. arXiv:1910.05266",
]

# Overrides that change the recipe rather than the backbone.
_RECIPE_KEYS = ("learning_rate", "batch_size", "weight_decay")


def train_preset(name, epochs=None, out_dir=None, seed=0, verbose=2,
                 eval_split="test", **overrides):
    """Trains a forecasting preset; returns model, metrics and metadata.

    Teacher forcing on the z-scored training windows of the preset's
    system (Adam, cosine decay, global clipnorm 1), then the test
    metrics of `evaluate_system`. The other arguments, the return value
    and the dtype policy follow the recipe contract of
    `zoo.family.PresetSpec` (`train`). Without overrides and with
    `eval_split="test"` this is the bundled preset's recipe; `zoo.search`
    runs trials with overrides and `eval_split="val"` (the validation
    trajectory; training always uses the training trajectory only).

    Args:
        name: str. A key of `zoo.forecasting.forecasting_presets.PRESETS`.
        epochs, out_dir, seed, verbose: see `zoo.family.PresetSpec`.
        eval_split: str. `"test"` or `"val"`: the trajectory of the
            returned metrics.
        **overrides: recipe entries (`learning_rate`, `batch_size`,
            `weight_decay`: Adam's decoupled decay, 0 by default) or
            `ForecasterBackbone` arguments (`units`, `depth`,
            `num_layers`, `num_heads`, `window`, ...).

    Example:

    ```python
    zoo.training.train("rhn_attention_ks", "runs/ks")
    ```
    """
    cfg = check_preset(name)
    cfg["backbone"] = dict(cfg["backbone"])
    for key, value in overrides.items():
        if key in _RECIPE_KEYS:
            cfg[key] = value
        else:
            cfg["backbone"][key] = value
    epochs = epochs or cfg["epochs"]
    system = cfg["system"]
    length = cfg["context_length"]
    x, y = training_windows(system, length)
    steps = epochs * int(np.ceil(len(x) / cfg["batch_size"]))
    decay = {"weight_decay": cfg["weight_decay"]} \
        if cfg.get("weight_decay") else {}
    model = build_forecaster(system, context_length=length, seed=seed,
                             total_steps=steps,
                             learning_rate=cfg["learning_rate"],
                             **decay, **cfg["backbone"])
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=cfg["batch_size"], verbose=verbose)
    metrics = evaluate_system(model, system, split=eval_split)
    metadata = _metadata(model, cfg, epochs, steps)
    if overrides:
        metadata["overrides"] = dict(overrides)
    if eval_split != "test":
        metadata["metrics_split"] = eval_split
    return model, metrics, metadata


def _metadata(model, cfg, epochs, steps):
    system = cfg["system"]
    sys_cfg = SYSTEMS[system]
    data = load_system(system)
    return {
        "description": (
            f"{model.backbone.variant} forecaster ({cfg['backbone']['units']}"
            f" units) of {sys_cfg['label']}: next z-scored state, "
            "autoregressive rollout"
        ),
        "dataset": system,
        "split": {
            "train": f"{len(data['train'])} samples (seeded trajectory)",
            "val": (f"{len(data['val'])} samples of a third trajectory "
                    "(choosing width and learning rate only)"),
            "test": (f"{NUM_TEST_ICS} initial conditions of a separate "
                     "trajectory"),
        },
        "sample_dt": sys_cfg["dt"],
        "lyapunov_exponent": sys_cfg["lyapunov"],
        "lyapunov_source": sys_cfg["lyapunov_source"],
        "context_length": cfg["context_length"],
        "horizon_lyapunov": HORIZON_LYAPUNOV,
        "epochs": epochs,
        "steps": steps,
        "batch_size": cfg["batch_size"],
        "optimizer": (f"adam(cosine from {cfg['learning_rate']} to 1%, "
                      "global clipnorm 1)"),
        "train_mean": [float(v) for v in data["mean"]],
        "train_std": [float(v) for v in data["std"]],
        "input_kind": f"forecast_{system}",
        "input_spec": (
            f"float32 (batch, time, {data['train'].shape[1]}): states "
            "z-scored with train_mean / train_std; output: the next state"
        ),
        "pipeline_tag": "time-series-forecasting",
        "license": "apache-2.0",
        "references": list(_REFERENCES),
    }



def rollout_training_model(model, rollout_steps):
    """Teacher forcing plus a short closed-loop rollout, for training.

    A Keras model sharing `model`'s weights: on true states
    `x_0 .. x_{T-1}` it returns the `T` teacher-forced predictions of
    `x_1 .. x_T` followed by `rollout_steps` autoregressive predictions
    of `x_{T+1} .. x_{T+k}` (each made from the last `T` states, the
    predicted ones included, as `Forecaster.rollout` does). Fitting it
    with the mean squared error against `x_1 .. x_{T+k}` backpropagates
    through the rollout (the gradient reaches every fed-back
    prediction), which penalises the error growth of the closed loop
    that pure teacher forcing never sees.

    Args:
        model: a `zoo.forecasting.Forecaster`.
        rollout_steps: int. Closed-loop steps `k >= 1`.

    Returns:
        An uncompiled `keras.Model`, inputs `(batch, T, dims)`, outputs
        `(batch, T + rollout_steps, dims)`.

    Example:

    ```python
    trainer = rollout_training_model(model, 4)
    trainer.compile(optimizer="adam", loss="mse")
    x, y = training_windows("lorenz96", 16 + 4)
    trainer.fit(x[:, :16], y, epochs=1)
    ```
    """
    steps = check_positive_int("rollout_steps", rollout_steps)
    dims = model.backbone.input_dim
    inputs = keras.Input((None, dims), name="states")
    teacher = model(inputs)
    window = inputs
    last = teacher[:, -1:]
    outputs = [teacher]
    for _ in range(steps):
        window = keras.ops.concatenate([window[:, 1:], last], axis=1)
        last = model(window)[:, -1:]
        outputs.append(last)
    return keras.Model(inputs, keras.ops.concatenate(outputs, axis=1),
                       name="rollout_training")
