"""Training recipes and evaluators of the UNEM and CAFA presets."""

import keras
import numpy as np

from zoo.data import load_digits
from zoo.training import fit_resumable
from zoo.training import register_recipe
from zoo.unem import baselines
from zoo.unem import cafa
from zoo.unem.digits_cnn import DigitsCNNBackbone
from zoo.unem.digits_cnn import DigitsCNNClassifier
from zoo.unem.unem_backbone import UNEMBackbone
from zoo.unem.unem_classifier import UNEMFewShotClassifier
from zoo.unem.unem_data import GaussianClassWorld

UNEM_SHOTS = 5
UNEM_NUM_TASKS = 1000
UNEM_STEPS = 100
UNEM_LEARNING_RATE = 0.1
UNEM_NUM_LAYERS = 10
# Task seeds: meta-train tasks use `seed + TRAIN_TASK_SEED`; the
# held-out evaluation always uses these fixed seeds.
TRAIN_TASK_SEED = 1000
VAL_TASK_SEED = 2
TEST_TASK_SEED = 1
EVAL_NUM_TASKS = 1000
CAFA_EPOCHS = 30
CAFA_BATCH_SIZE = 64
CAFA_LEARNING_RATE = 1e-3
_UNEM_REFERENCES = [
    "Zhou et al., 2025. UNEM: UNrolled generalized EM for transductive "
    "few-shot learning. CVPR 2025, arXiv:2412.16739",
]


def gaussian_world():
    """The synthetic world of the UNEM presets (`GaussianClassWorld()`).

    Returns:
        `zoo.unem.GaussianClassWorld` with the default arguments: 16 +
        16 + 16 classes, dim 32, noise 1.5, seed 0.

    Example:

    ```python
    world = zoo.unem.unem_recipes.gaussian_world()
    ```
    """
    return GaussianClassWorld()


def build_unem_gaussian(num_classes=16, feature_dim=32,
                        num_layers=UNEM_NUM_LAYERS, loss_mode="nll",
                        learning_rate=UNEM_LEARNING_RATE):
    """An untrained UNEM-Gaussian classifier on fixed features.

    Args:
        num_classes: int. Classes per task.
        feature_dim: int. Feature size.
        num_layers: int. Unrolled EM layers.
        loss_mode: str. `"nll"` or `"reference"`.
        learning_rate: float. Initial Adam learning rate, halved after
            50 steps (the reference's StepLR(50, 0.5)).

    Returns:
        A compiled `zoo.UNEMFewShotClassifier` (2L + 1 parameters).

    Example:

    ```python
    model = zoo.unem.unem_recipes.build_unem_gaussian()
    ```
    """
    backbone = UNEMBackbone(feature_dim=feature_dim)
    model = UNEMFewShotClassifier(backbone, num_classes=num_classes,
                                  num_layers=num_layers,
                                  loss_mode=loss_mode)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [50], [learning_rate, learning_rate / 2]
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule))
    return model


def train_unem_gaussian(shots=UNEM_SHOTS, steps=UNEM_STEPS,
                        num_tasks=UNEM_NUM_TASKS, seed=0, out_dir=None,
                        loss_mode="nll", verbose=0, world=None):
    """Meta-trains UNEM-Gaussian on meta-train tasks of the world.

    `num_tasks` tasks of the meta-train classes form one full batch;
    `steps` Adam steps (one per epoch) with learning rate 0.1 halved
    after 50, as in the reference.

    Args:
        shots: int. Support samples per class.
        steps: int. Optimisation steps.
        num_tasks: int. Meta-train tasks.
        seed: int. Seed of the tasks.
        out_dir: str or `None`. Run directory (checkpoints and
            `log.csv`, resumable); `None` trains without them.
        loss_mode: str. `"nll"` or `"reference"`.
        verbose: int. Keras verbosity.
        world: the episode world; `gaussian_world()` by default.

    Returns:
        The trained model.

    Example:

    ```python
    model = zoo.unem.unem_recipes.train_unem_gaussian(shots=1)
    ```
    """
    world = world or gaussian_world()
    batch, yq = world.episodes("train", num_tasks, shots,
                               seed=seed + TRAIN_TASK_SEED)
    model = build_unem_gaussian(
        num_classes=world.split_classes("train"),
        feature_dim=batch["support"].shape[-1],
        loss_mode=loss_mode,
    )
    if out_dir is None:
        model.fit(batch, yq, batch_size=num_tasks, epochs=steps,
                  verbose=verbose)
    else:
        fit_resumable(model, batch, yq, epochs=steps, out_dir=out_dir,
                      batch_size=num_tasks, verbose=verbose)
    return model


def _predict(model, batch, batch_size=250):
    out = model.predict(batch, batch_size=batch_size, verbose=0)
    return np.asarray(keras.ops.convert_to_numpy(out)).argmax(-1)


def evaluate_unem(model, split="test", shots=UNEM_SHOTS,
                  num_tasks=EVAL_NUM_TASKS, world=None):
    """UNEM vs the fixed-lambda EM and inductive baselines, computed now.

    On `num_tasks` held-out tasks of `split` (fixed seed): the model's
    accuracy; the fixed-lambda EM (T = 1, 10 iterations) at the
    reference default lambda = 75 (`baselines.DEFAULT_LAMBDA`), at every
    lambda of `baselines.LAMBDA_GRID` (the best one is an oracle choice
    on these very tasks), and at the lambda that is best on meta-val
    tasks; nearest prototype and the inductive softmax head.

    Args:
        model: a UNEM classifier for the world's tasks.
        split: str. `"test"` (meta-test classes) or `"val"`.
        shots: int. Support samples per class.
        num_tasks: int. Tasks.
        world: the episode world; `gaussian_world()` by default.

    Returns:
        dict with `accuracy`, `accuracy_default_lambda`,
        `accuracy_best_fixed_lambda`, `best_fixed_lambda`,
        `accuracy_val_selected_lambda`, `val_selected_lambda`,
        `accuracy_nearest_prototype`, `accuracy_inductive_softmax`,
        `num_tasks`, `shots`.

    Example:

    ```python
    zoo.unem.unem_recipes.evaluate_unem(zoo.load("unem_gaussian_5shot"))
    ```
    """
    world = world or gaussian_world()
    seed = TEST_TASK_SEED if split == "test" else VAL_TASK_SEED
    k = world.split_classes(split)
    batch, yq = world.episodes(split, num_tasks, shots, seed=seed)
    curve = baselines.lambda_curve(batch, yq, k)
    best_lam, best_acc = max(curve, key=lambda p: p[1])
    vbatch, vyq = world.episodes("val", num_tasks, shots,
                                 seed=VAL_TASK_SEED)
    vcurve = baselines.lambda_curve(vbatch, vyq, world.split_classes("val"))
    val_lam = max(vcurve, key=lambda p: p[1])[0]
    acc = baselines.accuracy
    return {
        "accuracy": acc(_predict(model, batch), yq),
        "accuracy_default_lambda": acc(baselines.fixed_lambda_em(
            batch, k, baselines.DEFAULT_LAMBDA), yq),
        "default_lambda": baselines.DEFAULT_LAMBDA,
        "accuracy_best_fixed_lambda": best_acc,
        "best_fixed_lambda": best_lam,
        "accuracy_val_selected_lambda": dict(curve)[val_lam],
        "val_selected_lambda": val_lam,
        "accuracy_nearest_prototype": acc(
            baselines.nearest_prototype(batch, k), yq),
        "accuracy_inductive_softmax": acc(
            baselines.inductive_softmax(batch, k), yq),
        "num_tasks": num_tasks,
        "shots": shots,
    }


def evaluate_unem_gaussian_5shot(model, split="test"):
    """Evaluator of the `unem_gaussian_5shot` preset (`zoo eval`).

    Args:
        model: the preset's model.
        split: str. `"test"` or `"val"`.

    Returns:
        The dict of `evaluate_unem` with 5 shots.

    Example:

    ```python
    evaluate_unem_gaussian_5shot(zoo.load("unem_gaussian_5shot"))
    ```
    """
    return evaluate_unem(model, split, shots=5)


def _train_unem_recipe(epochs=None, out_dir="runs/unem_gaussian_5shot",
                       precision="float32", seed=0, verbose=1):
    steps = UNEM_STEPS if epochs is None else epochs
    model = train_unem_gaussian(steps=steps, seed=seed, out_dir=out_dir,
                                verbose=verbose)
    metrics = evaluate_unem_gaussian_5shot(model, "test")
    params = model.layer_parameters()
    metadata = {
        "description": (
            "UNEM-Gaussian (10 unrolled EM layers, learned per-layer "
            "class-balance weight and temperature, shared feature scale: "
            "21 parameters) meta-trained on 5-shot tasks of the synthetic "
            "Gaussian class world (16 meta-train classes; evaluated on 16 "
            "disjoint meta-test classes; queries from 5 of the 16)."
        ),
        "dataset": "synthetic_gaussian_classes",
        "split": {
            "train": f"{UNEM_NUM_TASKS} meta-train tasks (16 classes), "
                     "one full batch",
            "test": f"{EVAL_NUM_TASKS} meta-test tasks (16 other classes)",
            "protocol": "GaussianClassWorld(num_classes=(16, 16, 16), "
                        "dim=32, noise=1.5, seed=0); 5 shots, 75 queries "
                        "from k_eff=5 classes",
        },
        "steps": steps,
        "optimizer": "Adam(0.1), halved after 50 steps",
        "loss": "UNEMLoss('nll')",
        "learned_lambdas": [round(float(v), 4) for v in params["lambdas"]],
        "learned_temperatures": [
            round(float(v), 4) for v in params["temperatures"]],
        "learned_scale": round(float(params["scale"]), 4),
        "evaluator": "zoo.unem.unem_recipes:evaluate_unem_gaussian_5shot",
        "input_spec": "dict of float32 support (B, Ns, 32), int32 "
                      "support_labels (B, Ns), float32 query (B, Nq, 32)",
        "pipeline_tag": "other",
        "license": "apache-2.0",
        "references": _UNEM_REFERENCES,
    }
    return model, metrics, metadata


def build_cafa_encoder(seed=0):
    """The `cafa_digits_encoder` architecture, untrained.

    Args:
        seed: int. Initialiser seed.

    Returns:
        A compiled `DigitsCNNClassifier` (conv 32 - pool - conv 64 - GAP
        - dense 10, BatchNormalization after each conv).

    Example:

    ```python
    model = zoo.unem.unem_recipes.build_cafa_encoder()
    ```
    """
    model = DigitsCNNClassifier(DigitsCNNBackbone(seed=seed), 10)
    model.compile(optimizer=keras.optimizers.Adam(CAFA_LEARNING_RATE))
    return model


def _train_cafa_recipe(epochs=None, out_dir="runs/cafa_digits_encoder",
                       precision="float32", seed=0, verbose=1):
    epochs = CAFA_EPOCHS if epochs is None else epochs
    x, y = load_digits("train", layout="image")
    xv, yv = load_digits("val", layout="image")
    model = build_cafa_encoder(seed)
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=CAFA_BATCH_SIZE, validation_data=(xv, yv),
                  verbose=verbose)
    metrics = cafa.evaluate_cafa_encoder(model, "test")
    metadata = {
        "description": (
            "BatchNorm CNN on 8x8 digits (conv 32, max-pool, conv 64, "
            "global average pooling, dense 10), the source model that "
            "CAFA adapts at test time to rotated, noisy and low-contrast "
            "digits."
        ),
        "dataset": "digits",
        "split": {"train": "train (1077)", "validation": "val (180)",
                  "test": "test (540), clean and shifted"},
        "epochs": epochs,
        "batch_size": CAFA_BATCH_SIZE,
        "optimizer": f"Adam({CAFA_LEARNING_RATE})",
        "label_names": [str(i) for i in range(10)],
        "evaluator": "zoo.unem.cafa:evaluate_cafa_encoder",
        "input_spec": "float32 (batch, 8, 8, 1) digits in [0, 1]",
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "Jung et al., 2023. CAFA: Class-Aware Feature Alignment for "
            "Test-Time Adaptation. ICCV 2023, arXiv:2206.00205",
        ],
    }
    return model, metrics, metadata


register_recipe("unem_gaussian_5shot", _train_unem_recipe,
                "UNEM-Gaussian on 5-shot synthetic Gaussian tasks")
register_recipe("cafa_digits_encoder", _train_cafa_recipe,
                "BatchNorm digits CNN adapted by CAFA")
