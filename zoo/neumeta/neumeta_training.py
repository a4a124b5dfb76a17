"""Training recipe of the `neumeta_cnn_digits` preset."""

import os

import keras

from zoo.data import DIGITS_CLASS_NAMES
from zoo.data import load_digits
from zoo.neumeta import neumeta_presets as P
from zoo.neumeta.neumeta_cnn import accuracy
from zoo.neumeta.neumeta_permutation import path_variation
from zoo.neumeta.neumeta_permutation import permute_chain


def permuted_weights(weights):
    """Channel-smoothed copy of a plain CNN's 6 weight arrays.

    Args:
        weights: list of 6 arrays (`neumeta_cnn.cnn_shapes` order).

    Returns:
        `(weights, orders)`: the permuted arrays and the two orders.

    Example:

    ```python
    smooth, orders = permuted_weights(widest.get_weights())
    ```
    """
    kernels, biases, orders = permute_chain(weights[0::2], weights[1::2])
    out = []
    for k, b in zip(kernels, biases):
        out += [k, b]
    return out, orders


def train_neumeta(epochs=None, out_dir="runs/neumeta_cnn_digits", seed=0,
                  verbose=1, permute=True, coordinate_noise=None,
                  scratch_widths=None):
    """Trains `neumeta_cnn_digits`: widest net, permutation, weight field.

    1. The widest plain CNN (`MAX_WIDTH`) is trained from scratch
       (`REFERENCE_EPOCHS`, Adam 3e-3, batch 32) on the digits train
       split (1077).
    2. Its hidden channels are reordered by shortest Hamiltonian paths
       (`neumeta_permutation`); the function is unchanged.
    3. The weight field is trained `epochs` epochs (default
       `NEUMETA_EPOCHS`; Adam 3e-3 with cosine decay, clipnorm 10, batch
       64): each step draws a width and minimises CE + 10 x weighted
       reconstruction of the permuted widest net + 1e-4 x L2.
    4. From-scratch references: the plain CNN at each compression's
       width trained like step 1 (validation and test accuracy).

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`).
        permute: bool. Ablation switch (False: no channel permutation).
        coordinate_noise: float or `None` (the preset's value).
        scratch_widths: iterable of int or `None` (the compressions'
            widths); `()` skips the references.

    Returns:
        `(model, test_metrics, metadata)`.

    Example:

    ```python
    zoo.training.train("neumeta_cnn_digits", "runs/neumeta")
    ```
    """
    epochs = P.NEUMETA_EPOCHS if epochs is None else epochs
    os.makedirs(out_dir, exist_ok=True)
    x_train, y_train = load_digits(split="train")
    x_val, y_val = load_digits(split="val")
    x_test, y_test = load_digits(split="test")

    widest = P.train_plain(P.MAX_WIDTH, x_train, y_train, seed=seed)
    raw = widest.get_weights()
    target, _ = permuted_weights(raw) if permute else (raw, None)
    hidden = [raw[0].reshape(-1, P.MAX_WIDTH).T, raw[2].reshape(
        -1, P.MAX_WIDTH).T]
    variation = {
        "before": sum(path_variation(h) for h in hidden),
        "after": sum(path_variation(t.reshape(-1, P.MAX_WIDTH).T)
                     for t in (target[0], target[2])),
    }

    keras.utils.set_random_seed(seed)
    steps = epochs * -(-len(x_train) // P.NEUMETA_BATCH_SIZE)
    overrides = {}
    if coordinate_noise is not None:
        overrides["coordinate_noise"] = coordinate_noise
    model = P.build_neumeta_classifier(seed=seed, steps=steps, **overrides)
    model.set_reconstruction_target(target)
    model.fit(
        x_train, y_train, epochs=epochs, batch_size=P.NEUMETA_BATCH_SIZE,
        validation_data=(x_val, y_val), verbose=verbose,
        callbacks=[keras.callbacks.CSVLogger(
            os.path.join(out_dir, "log.csv"))],
    )

    if scratch_widths is None:
        scratch_widths = {P.width_at(c): c for c in P.COMPRESSIONS}
    else:
        scratch_widths = {int(w): None for w in scratch_widths}
    scratch = {"val": {}, "test": {}}
    for width, c in scratch_widths.items():
        net = widest if width == P.MAX_WIDTH else P.train_plain(
            width, x_train, y_train, seed=seed)
        key = str(c if c is not None else width)
        scratch["val"][key] = accuracy(net, x_val, y_val)
        scratch["test"][key] = accuracy(net, x_test, y_test)
    metrics = P.evaluate_neumeta(model, "test", scratch=scratch)
    metadata = {
        "description": (
            "NeuMeta weight field (per-tensor residual MLPs over "
            "Fourier-encoded weight coordinates) writing a digits CNN "
            "conv3x3(w)-conv3x3(w)-GAP-dense(10) of any width w <= 16; "
            "trained on every width 4..16 with CE + reconstruction "
            "of the channel-permuted trained width-16 CNN + L2."
        ),
        "dataset": "digits",
        "split": {
            "train": "train (1077)",
            "validation": "val (180)",
            "test": "test (540)",
            "protocol": "stratified test_size=540 random_state=0, then "
                        "stratified val 180 random_state=0",
        },
        "compression": "share of hidden channels removed from width 16 "
                       "(0/25/50/75 % = widths 16/12/8/4)",
        "epochs": epochs,
        "batch_size": P.NEUMETA_BATCH_SIZE,
        "optimizer": f"Adam({P.NEUMETA_LEARNING_RATE}, cosine decay, "
                     f"clipnorm {P.CLIPNORM})",
        "reference_epochs": P.REFERENCE_EPOCHS,
        "num_samples": P.NUM_SAMPLES,
        "permuted": bool(permute),
        "channel_variation": variation,
        "scratch_accuracy": scratch,
        "label_names": list(DIGITS_CLASS_NAMES),
        "input_kind": "digits_8x8",
        "input_spec": "float32 (batch, 64): 8x8 digit, row-major, ink 1, "
                      "background 0",
        "pipeline_tag": "image-classification",
        "license": "apache-2.0",
        "references": [
            "Yang & Wang, 2024. Neural Metamorphosis. ECCV 2024. "
            "arXiv:2410.11878",
        ],
    }
    return model, metrics, metadata
