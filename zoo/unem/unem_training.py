"""Training recipes of the UNEM and CAFA presets."""

from zoo.data import load_digits
from zoo.training import fit_resumable
from zoo.unem.unem_eval import evaluate_cafa_encoder
from zoo.unem.unem_eval import evaluate_unem_gaussian_5shot
from zoo.unem.unem_presets import CAFA_BATCH_SIZE
from zoo.unem.unem_presets import CAFA_EPOCHS
from zoo.unem.unem_presets import CAFA_LEARNING_RATE
from zoo.unem.unem_presets import EVAL_NUM_TASKS
from zoo.unem.unem_presets import TRAIN_TASK_SEED
from zoo.unem.unem_presets import UNEM_NUM_TASKS
from zoo.unem.unem_presets import UNEM_SHOTS
from zoo.unem.unem_presets import UNEM_STEPS
from zoo.unem.unem_presets import build_cafa_encoder
from zoo.unem.unem_presets import build_unem_gaussian
from zoo.unem.unem_presets import gaussian_world

_UNEM_REFERENCES = [
    "Zhou et al., 2025. UNEM: UNrolled generalized EM for transductive "
    "few-shot learning. CVPR 2025, arXiv:2412.16739",
]


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
    model = zoo.unem.unem_training.train_unem_gaussian(shots=1)
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


def train_unem_gaussian_5shot(epochs=None,
                              out_dir="runs/unem_gaussian_5shot", seed=0,
                              verbose=1):
    """Recipe of the `unem_gaussian_5shot` preset.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; `epochs` counts optimisation steps (100 by
            default) and `seed` seeds the meta-train tasks.

    Example:

    ```python
    zoo.training.train("unem_gaussian_5shot", "runs/unem")
    ```
    """
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
        "input_spec": "dict of float32 support (B, Ns, 32), int32 "
                      "support_labels (B, Ns), float32 query (B, Nq, 32)",
        "pipeline_tag": "other",
        "license": "apache-2.0",
        "references": _UNEM_REFERENCES,
    }
    return model, metrics, metadata


def train_cafa_digits_encoder(epochs=None,
                              out_dir="runs/cafa_digits_encoder", seed=0,
                              verbose=1):
    """Recipe of the `cafa_digits_encoder` preset (digits train split).

    Adam 1e-3, batch 64, 30 epochs by default; validation split logged.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`), which also says what is
            returned; `epochs=None` means 30.

    Example:

    ```python
    zoo.training.train("cafa_digits_encoder", "runs/cafa")
    ```
    """
    epochs = CAFA_EPOCHS if epochs is None else epochs
    x, y = load_digits("train", layout="image")
    xv, yv = load_digits("val", layout="image")
    model = build_cafa_encoder(seed)
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=CAFA_BATCH_SIZE, validation_data=(xv, yv),
                  verbose=verbose)
    metrics = evaluate_cafa_encoder(model, "test")
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
        "input_spec": "float32 (batch, 8, 8, 1) digits in [0, 1]",
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "Jung et al., 2023. CAFA: Class-Aware Feature Alignment for "
            "Test-Time Adaptation. ICCV 2023, arXiv:2206.00205",
        ],
    }
    return model, metrics, metadata
