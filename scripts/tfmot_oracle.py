"""tensorflow-model-optimization (tfmot) as the oracle of `zoo.pruning`.

Writes what tfmot 0.8.1 does into an `.npz` file, so that a test (or a
benchmark) on any Keras 3 backend can compare `zoo.pruning` with it:

- `schedule`: `PolynomialDecay` / `ConstantSparsity` outputs
  `(should_prune, sparsity)` for steps `0..N` of a few parameter sets.
- `masks`: a tiny tf_keras model (Conv2D, GlobalAveragePooling2D,
  Dense) wrapped by `prune_low_magnitude`, trained with SGD at a
  learning rate of 0 while seeded random kernels are assigned before
  every step; the mask of each kernel after every step. This pins the
  step counting and the mask rule (rounding of `k`, ties, the minimum
  of one kept weight) independently of any training dynamics.
- `trajectory`: the same model trained for real (SGD, MSE, fixed batch)
  from seeded initial weights: the weights, the batch, per-step losses,
  masks and raw kernels, to pin which step's weights a mask update sees.
- `train` (only on request, with `--inputs`): the tf_keras twin of the
  digits CNN (`zoo.DigitsCNNClassifier`: conv 3x3 32 - BN - ReLU -
  max-pool - conv 3x3 64 - BN - ReLU - GAP - dense 10) fine-tuned with
  `prune_low_magnitude` + `PolynomialDecay` from the weights, data,
  batch orders and settings of the `--inputs` file (see
  `scripts/bench_tfmot.py`); per run, the test accuracy after the
  BatchNorm statistics are recomputed on the train split, the masks
  (zero patterns of the stripped kernels) and tfmot's final step.

tfmot only accepts tf_keras (Keras 2) models and switches its process to
tf_keras on import (`TF_USE_LEGACY_KERAS=1`), so this script must run in
its own process, never imported by zoo or a test process:

```bash
TF_USE_LEGACY_KERAS=1 python scripts/tfmot_oracle.py --out oracle.npz
TF_USE_LEGACY_KERAS=1 python scripts/tfmot_oracle.py --mode train \
    --inputs twin_inputs.npz --out twin.npz
```

tfmot's step semantics (read in tfmot 0.8.1, `.../sparsity/keras/`):
`UpdatePruningStep.on_train_begin` sets every wrapper's `pruning_step`
to 0 (pruning_callbacks.py:61-65); the training forward pass of step
`t = 1, 2, ...` first increments it to `t` (pruning_wrapper.py:289-314),
then, if `schedule(t)` says so, recomputes the mask from the raw kernel,
i.e. the weights after `t - 1` optimizer updates, pruned positions
included (pruning_impl.py:256-282), then multiplies the kernel by the
mask (pruning_wrapper.py:321) before the layer runs. The mask keeps the
`k = max(round(n * (1 - s)), 1)` largest magnitudes, ties at the
threshold kept (pruning_impl.py:91-119).
"""

import argparse
import json
import os
import sys

import numpy as np

MODES = ("schedule", "masks", "trajectory", "train")
DEFAULT_MODES = MODES[:3]  # `train` needs `--inputs`
NO_TENSORFLOW = 3  # exit status where TensorFlow is not installed
INPUT_SHAPE = (5, 5, 2)
FILTERS = 3
UNITS = 4
# (class name, keyword arguments, last step): the `schedule` mode.
SCHEDULES = [
    ("PolynomialDecay", dict(initial_sparsity=0.0, final_sparsity=0.9,
                             begin_step=0, end_step=100, frequency=10), 130),
    ("PolynomialDecay", dict(initial_sparsity=0.2, final_sparsity=0.8,
                             begin_step=7, end_step=40, power=2,
                             frequency=3), 50),
    ("PolynomialDecay", dict(initial_sparsity=0.1, final_sparsity=0.95,
                             begin_step=1, end_step=9, frequency=1), 12),
    ("ConstantSparsity", dict(target_sparsity=0.6, begin_step=5,
                              end_step=20, frequency=4), 30),
    ("ConstantSparsity", dict(target_sparsity=0.3, begin_step=0,
                              frequency=1), 6),
]
# `masks` mode: one run per schedule, `steps` training steps each.
MASK_RUNS = [
    ("PolynomialDecay", dict(initial_sparsity=0.1, final_sparsity=0.96,
                             begin_step=1, end_step=9, frequency=2), 12),
    ("ConstantSparsity", dict(target_sparsity=0.5, begin_step=0,
                              frequency=3), 8),
]
# `trajectory` mode: tfmot runs one step more than the Keras 3 twin.
TRAJECTORY = dict(
    schedule=("PolynomialDecay", dict(initial_sparsity=0.0,
                                      final_sparsity=0.75, begin_step=0,
                                      end_step=8, frequency=2)),
    steps=10, learning_rate=0.5, batch=16, seed=3,
)


def tiny_weights(seed):
    """Seeded initial weights of the tiny model, in `get_weights` order.

    Args:
        seed: int.

    Returns:
        A list of float32 arrays: conv kernel, conv bias, dense kernel,
        dense bias.
    """
    rng = np.random.default_rng(seed)
    shapes = [(2, 2, INPUT_SHAPE[-1], FILTERS), (FILTERS,),
              (FILTERS, UNITS), (UNITS,)]
    return [rng.normal(0.0, 0.5, s).astype("float32") for s in shapes]


def trajectory_batch():
    """The fixed `(x, y)` batch of the `trajectory` mode (float32)."""
    rng = np.random.default_rng(TRAJECTORY["seed"] + 100)
    x = rng.uniform(-1.0, 1.0, (TRAJECTORY["batch"],) + INPUT_SHAPE)
    y = rng.normal(0.0, 1.0, (TRAJECTORY["batch"], UNITS))
    return x.astype("float32"), y.astype("float32")


def _schedule(sparsity_module, name, kwargs):
    return getattr(sparsity_module, name)(**kwargs)


def run_schedules(tf, sparsity_module):
    out = {"schedule_config": json.dumps(SCHEDULES)}
    for i, (name, kwargs, last) in enumerate(SCHEDULES):
        schedule = _schedule(sparsity_module, name, kwargs)
        flags, values = [], []
        for step in range(last + 1):
            should_prune, sparsity = schedule(tf.constant(step, tf.int64))
            flags.append(bool(should_prune))
            values.append(float(sparsity))
        out[f"schedule_{i}_prune"] = np.array(flags)
        out[f"schedule_{i}_sparsity"] = np.array(values, "float32")
    return out


def _pruned_model(tf_keras, sparsity_module, schedule, learning_rate,
                  weights):
    model = tf_keras.Sequential([
        tf_keras.layers.InputLayer(INPUT_SHAPE),
        tf_keras.layers.Conv2D(FILTERS, 2, activation="relu"),
        tf_keras.layers.GlobalAveragePooling2D(),
        tf_keras.layers.Dense(UNITS),
    ])
    pruned = sparsity_module.prune_low_magnitude(
        model, pruning_schedule=schedule)
    pruned.compile(optimizer=tf_keras.optimizers.SGD(learning_rate),
                   loss="mse")
    wrappers = [layer for layer in pruned.layers
                if getattr(layer, "pruning_vars", None)]
    for layer, (kernel, bias) in zip(
            wrappers, zip(weights[0::2], weights[1::2])):
        layer.layer.kernel.assign(kernel)
        layer.layer.bias.assign(bias)
    callback = sparsity_module.UpdatePruningStep()
    callback.set_model(pruned)
    callback.on_train_begin()  # pruning_step: -1 -> 0
    return pruned, wrappers


def _mask(wrapper):
    (_, mask, _), = wrapper.pruning_vars
    return mask.numpy()


def run_masks(tf_keras, sparsity_module):
    out = {"masks_config": json.dumps(MASK_RUNS)}
    x = np.zeros((2,) + INPUT_SHAPE, "float32")
    y = np.zeros((2, UNITS), "float32")
    for i, (name, kwargs, steps) in enumerate(MASK_RUNS):
        weights = tiny_weights(10 + i)
        model, wrappers = _pruned_model(
            tf_keras, sparsity_module,
            _schedule(sparsity_module, name, kwargs), 0.0, weights)
        rng = np.random.default_rng(20 + i)
        assigned = [[] for _ in wrappers]
        masks = [[] for _ in wrappers]
        counters = []
        for _ in range(steps):
            for j, layer in enumerate(wrappers):
                kernel = rng.normal(
                    0.0, 1.0, layer.layer.kernel.shape).astype("float32")
                layer.layer.kernel.assign(kernel)
                assigned[j].append(kernel)
            model.train_on_batch(x, y)
            for j, layer in enumerate(wrappers):
                masks[j].append(_mask(layer))
            counters.append(int(wrappers[0].pruning_step.numpy()))
        for j in range(len(wrappers)):
            out[f"masks_{i}_kernels_{j}"] = np.stack(assigned[j])
            out[f"masks_{i}_masks_{j}"] = np.stack(masks[j])
        out[f"masks_{i}_step"] = np.array(counters)
    return out


def run_trajectory(tf_keras, sparsity_module):
    name, kwargs = TRAJECTORY["schedule"]
    weights = tiny_weights(TRAJECTORY["seed"])
    x, y = trajectory_batch()
    model, wrappers = _pruned_model(
        tf_keras, sparsity_module, _schedule(sparsity_module, name, kwargs),
        TRAJECTORY["learning_rate"], weights)
    losses = []
    masks = [[] for _ in wrappers]
    kernels = [[] for _ in wrappers]
    for _ in range(TRAJECTORY["steps"] + 1):
        losses.append(float(model.train_on_batch(x, y)))
        for j, layer in enumerate(wrappers):
            masks[j].append(_mask(layer))
            kernels[j].append(layer.layer.kernel.numpy())
    out = {"trajectory_config": json.dumps(TRAJECTORY),
           "trajectory_loss": np.array(losses, "float32"),
           "trajectory_x": x, "trajectory_y": y}
    for i, w in enumerate(weights):
        out[f"trajectory_init_{i}"] = w
    for j in range(len(wrappers)):
        out[f"trajectory_masks_{j}"] = np.stack(masks[j])
        out[f"trajectory_kernels_{j}"] = np.stack(kernels[j])
    return out


def _twin_cnn(tf_keras, weights):
    """The digits CNN in tf_keras, with `weights` in `get_weights` order."""
    layers = tf_keras.layers
    model = tf_keras.Sequential([layers.InputLayer((8, 8, 1))])
    for i, filters in enumerate((32, 64)):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
        if i == 0:
            model.add(layers.MaxPooling2D(2))
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dense(10))
    model.set_weights(weights)
    return model


def _recalibrate(tf_keras, model, x):
    """One training-mode pass with momentum 0: BN statistics of `x`."""
    norms = [layer for layer in model.layers
             if isinstance(layer, tf_keras.layers.BatchNormalization)]
    for layer in norms:
        layer.momentum = 0.0
    model(x, training=True)
    for layer in norms:
        layer.momentum = 0.99


def _train_run(tf_keras, sparsity_module, inputs, config, target, seed):
    """One fine-tuning run of the twin; returns (top1, masks, step)."""
    weights = [inputs[f"weight_{i}"] for i in range(config["weights"])]
    model = _twin_cnn(tf_keras, weights)
    callbacks = []
    if target > 0:
        model = sparsity_module.prune_low_magnitude(
            model, pruning_schedule=sparsity_module.PolynomialDecay(
                0.0, target, 0, config["end_step"],
                frequency=config["frequency"]))
        callbacks = [sparsity_module.UpdatePruningStep()]
    model.compile(
        optimizer=tf_keras.optimizers.Adam(config["learning_rate"]),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
    x, y = inputs["x"], inputs["y"]
    for order in inputs["orders"][config["seeds"].index(seed)]:
        model.fit(x[order], y[order], batch_size=config["batch_size"],
                  epochs=1, shuffle=False, callbacks=callbacks, verbose=0)
    step = int(model.optimizer.iterations.numpy())
    if target > 0:
        step = int(next(layer.pruning_step.numpy() for layer in model.layers
                        if getattr(layer, "pruning_vars", None)))
        model = sparsity_module.strip_pruning(model)
    _recalibrate(tf_keras, model, x)
    logits = model(inputs["x_test"], training=False).numpy()
    top1 = float(np.mean(np.argmax(logits, -1) == inputs["y_test"]))
    masks = [(layer.kernel.numpy() != 0) for layer in model.layers
             if isinstance(layer, (tf_keras.layers.Conv2D,
                                   tf_keras.layers.Dense))]
    return top1, masks, step


def run_train(tf, tf_keras, sparsity_module, inputs_path):
    """Fine-tunes the twin for every (target sparsity, seed) of the file.

    Args:
        tf: the `tensorflow` module.
        tf_keras: the `tf_keras` module.
        sparsity_module: `tfmot.sparsity.keras`.
        inputs_path: the `.npz` written by `scripts/bench_tfmot.py`:
            `weight_<i>` (the dense weights in `get_weights` order),
            `x`, `y`, `x_test`, `y_test`, `orders` (seeds x epochs x
            train size: the batch order of each epoch) and `config` (a
            JSON object: `weights`, `targets` (0 = no pruning), `seeds`,
            `learning_rate`, `batch_size`, `end_step`, `frequency`).

    Returns:
        A dict of arrays: `train_runs` (JSON list of `[target, seed]`),
        `train_top1`, `train_step` (tfmot's `pruning_step`, or the
        optimizer's iterations without pruning), `train_seconds` and
        `train_masks_<run>_<kernel>` (bool).
    """
    import time

    with np.load(inputs_path) as data:
        inputs = dict(data)
    config = json.loads(str(inputs["config"]))
    runs, top1s, steps, seconds = [], [], [], []
    out = {}
    for target in config["targets"]:
        for seed in config["seeds"]:
            start = time.perf_counter()
            tf.random.set_seed(seed)
            top1, masks, step = _train_run(
                tf_keras, sparsity_module, inputs, config, target, seed)
            for j, mask in enumerate(masks):
                out[f"train_masks_{len(runs)}_{j}"] = mask
            runs.append([target, seed])
            top1s.append(top1)
            steps.append(step)
            seconds.append(time.perf_counter() - start)
            print(f"tfmot {target} seed {seed}: {100 * top1:.2f} % "
                  f"({seconds[-1]:.0f} s)", file=sys.stderr, flush=True)
    out.update(train_runs=json.dumps(runs), train_top1=np.array(top1s),
               train_step=np.array(steps), train_seconds=np.array(seconds))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the .npz to write")
    parser.add_argument("--mode", default=",".join(DEFAULT_MODES),
                        help="comma-separated subset of "
                             f"{', '.join(MODES)} (default: all but "
                             "train)")
    parser.add_argument("--inputs", default=None,
                        help="the .npz of the `train` mode")
    args = parser.parse_args(argv)
    modes = [m for m in args.mode.split(",") if m]
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not modes:
        parser.error(f"--mode must name some of {MODES}. Received: "
                     f"{args.mode!r}")
    if "train" in modes and not args.inputs:
        parser.error("--mode train needs --inputs")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as error:
        print(f"tfmot_oracle: TensorFlow is not installed ({error})",
              file=sys.stderr)
        return NO_TENSORFLOW
    import tensorflow_model_optimization as tfmot
    import tf_keras

    tf.random.set_seed(0)
    sparsity_module = tfmot.sparsity.keras
    out = {"tfmot_version": tfmot.__version__,
           "tf_keras_version": tf_keras.__version__}
    if "schedule" in modes:
        out.update(run_schedules(tf, sparsity_module))
    if "masks" in modes:
        out.update(run_masks(tf_keras, sparsity_module))
    if "trajectory" in modes:
        out.update(run_trajectory(tf_keras, sparsity_module))
    if "train" in modes:
        out.update(run_train(tf, tf_keras, sparsity_module, args.inputs))
    np.savez(args.out, **out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
