"""Training recipe of `d2nwg_digits_fewshot`: weight VAE, then the flow.

Stage 0: the checkpoint zoo (`zoo.data.checkpoint_zoo`, cached): 260
5-way digit MLPs (200 of width 32, 60 of width 16, model-wise zero
padded to one 2245-vector each).

Stage 1: a VAE over the normalised weight vectors (per-coordinate zoo
mean and std, shared by the 5 output units). Class permutations are an
exact symmetry of a checkpoint (permute the output units and the labels
together), so every epoch sees every checkpoint under fresh random
label orders.

Stage 2: flow matching in the (standardised) VAE latent space, the
velocity conditioned on the support set: for a checkpoint under a label
order, `shots` examples of each class (in that order) are drawn from
the digits train split; `z_t = (1 - t) z_0 + t z_1` with Gaussian noise
`z_0` and the encoded checkpoint `z_1`, target `z_1 - z_0`. The set
encoder is trained with the flow, end to end (task alignment through
the generation loss). The latent standardisation is folded into the
decoder's first layer, so the preset's decoder reads flow samples
directly.
"""

import csv
import os

import keras
import numpy as np

from zoo.d2nwg.d2nwg_backbone import D2NWGBackbone
from zoo.d2nwg.d2nwg_eval import evaluate_fewshot
from zoo.d2nwg.d2nwg_generator import D2NWGGenerator
from zoo.d2nwg.d2nwg_generator import WeightDecoder
from zoo.data.checkpoint_zoo import MAX_INPUT
from zoo.data.checkpoint_zoo import MAX_WIDTH
from zoo.data.checkpoint_zoo import PARAM_DIM
from zoo.data.checkpoint_zoo import WAYS
from zoo.data.checkpoint_zoo import join_params
from zoo.data.checkpoint_zoo import load_checkpoint_zoo
from zoo.data.checkpoint_zoo import mlp_logits
from zoo.data.checkpoint_zoo import split_params
from zoo.data.checkpoint_zoo import task_data
from zoo.data.digits import load_digits

PRESET_NAME = "d2nwg_digits_fewshot"
D2NWG_BACKBONE = dict(latent_dim=32, ways=WAYS, feature_dim=MAX_INPUT,
                      set_dim=16, set_hidden_dim=64, hidden_dim=256,
                      num_blocks=3, time_embedding_dim=32)
DECODER_HIDDEN = 512
SHOTS = 5
VAE_EPOCHS = 150
VAE_AUGMENT = 8
KL_WEIGHT = 1e-3
OUTPUT_WEIGHT = 12.0
FLOW_EPOCHS = 150
FLOW_AUGMENT = 16
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def permute_classes(params, perms):
    """Permutes the output units of padded MLPs (an exact symmetry).

    Args:
        params: `(M, PARAM_DIM)` weight vectors.
        perms: `(M, WAYS)` permutations: new unit `k` = old unit
            `perms[m, k]`.

    Returns:
        `(M, PARAM_DIM)` permuted weight vectors.

    Example:

    ```python
    permute_classes(params, np.array([[4, 3, 2, 1, 0]]))
    ```
    """
    w1, b1, w2, b2 = split_params(params)
    rows = np.arange(len(params))[:, None]
    w2 = np.transpose(np.transpose(w2, (0, 2, 1))[rows, perms], (0, 2, 1))
    return join_params(w1, b1, w2, b2[rows, perms])


def normalization(params, output_weight=1.0):
    """Per-coordinate mean and std of a zoo, symmetric in the classes.

    Args:
        params: `(M, PARAM_DIM)` weight vectors.
        output_weight: float. The output layer's scale is divided by
            `sqrt(output_weight)`, so that a mean squared error on the
            normalised vector weighs its 165 output-layer coordinates
            `output_weight` times more than the 2080 hidden-layer ones.

    Returns:
        `(mean, scale)`, float32 `(PARAM_DIM,)` each; the scale is
        floored at 1e-3 (zero-padded coordinates).

    Example:

    ```python
    mean, scale = normalization(load_checkpoint_zoo()["params"])
    ```
    """
    w1, b1, w2, b2 = split_params(params.astype("float64"))
    mean = join_params(w1.mean(0), b1.mean(0),
                       np.repeat(w2.mean((0, 2))[:, None], WAYS, 1),
                       np.full(WAYS, b2.mean()))
    std = join_params(w1.std(0), b1.std(0),
                      np.repeat(w2.std((0, 2))[:, None], WAYS, 1),
                      np.full(WAYS, b2.std()))
    std = np.maximum(std, 1e-3)
    std[-(WAYS * MAX_WIDTH + WAYS):] /= np.sqrt(output_weight)
    return mean.astype("float32"), std.astype("float32")


class _GaussianSample(keras.layers.Layer):
    """`z = mu + exp(logvar / 2) eps`; adds the weighted KL as a loss."""

    def __init__(self, kl_weight, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight = kl_weight
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mu, logvar, training=None):
        kl = -0.5 * keras.ops.mean(keras.ops.sum(
            1 + logvar - mu**2 - keras.ops.exp(logvar), axis=-1))
        self.add_loss(self.kl_weight * kl)
        if not training:
            return mu
        eps = keras.random.normal(keras.ops.shape(mu),
                                  seed=self.seed_generator)
        return mu + keras.ops.exp(0.5 * logvar) * eps


def build_vae(param_dim, latent_dim, hidden_dim=DECODER_HIDDEN, seed=0):
    """The weight VAE: encoder, decoder and the training model.

    Args:
        param_dim: int. Weight-vector length.
        latent_dim: int. Latent size.
        hidden_dim: int. Hidden width of encoder and decoder.
        seed: int. Initialiser / sampling seed.

    Returns:
        `(encoder, decoder, vae)`: `encoder` maps normalised weights to
        the latent mean, `decoder` is a `WeightDecoder`, `vae` the
        compiled training model (reconstruction MSE + KL).

    Example:

    ```python
    encoder, decoder, vae = build_vae(2245, 32)
    ```
    """
    init = keras.initializers.GlorotUniform
    x = keras.Input((param_dim,), name="weights")
    h = keras.layers.Dense(hidden_dim, activation="silu",
                           kernel_initializer=init(seed))(x)
    mu = keras.layers.Dense(latent_dim, kernel_initializer=init(seed + 1),
                            name="mu")(h)
    logvar = keras.layers.Dense(latent_dim, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(
                                    -4.0), name="logvar")(h)
    encoder = keras.Model(x, mu, name="weight_encoder")
    decoder = WeightDecoder(param_dim, hidden_dim=hidden_dim, seed=seed + 2,
                            dtype="float32", name="weight_decoder")
    z = _GaussianSample(KL_WEIGHT, seed=seed + 3)(mu, logvar)
    vae = keras.Model(x, decoder(z), name="weight_vae")
    vae.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    return encoder, decoder, vae


def reconstruction_accuracy(params, classes):
    """Mean test accuracy of weight vectors on their zoo tasks.

    Args:
        params: `(M, PARAM_DIM)` weight vectors (e.g. VAE
            reconstructions of the zoo's checkpoints).
        classes: `(M, WAYS)` digit classes of their tasks.

    Returns:
        float, the mean over the `M` tasks of the test-split accuracy.

    Example:

    ```python
    reconstruction_accuracy(zoo_data["params"], zoo_data["classes"])
    ```
    """
    accs = []
    for p, task in zip(params, classes):
        xq, yq = task_data("digits", tuple(task), "test")
        accs.append((mlp_logits(p[None], xq[None])[0].argmax(-1)
                     == yq).mean())
    return float(np.mean(accs))


def _class_index(y):
    return [np.flatnonzero(y == c) for c in range(10)]


def sample_support(x, class_index, classes, shots, rng):
    """Draws `shots` examples of each class of each task.

    Args:
        x: `(N, MAX_INPUT)` features of the pool.
        class_index: list of index arrays, one per class id.
        classes: `(M, WAYS)` class ids in label order.
        shots: int.
        rng: `numpy.random.Generator`.

    Returns:
        float32 `(M, WAYS, shots, MAX_INPUT)`.

    Example:

    ```python
    support = sample_support(x, index, np.array([[0, 1, 2, 3, 4]]), 5, rng)
    ```
    """
    out = np.empty(classes.shape + (shots, x.shape[1]), "float32")
    for m, task in enumerate(classes):
        for k, c in enumerate(task):
            out[m, k] = x[rng.choice(class_index[c], shots, replace=False)]
    return out


def _random_perms(rng, n):
    return np.argsort(rng.random((n, WAYS)), axis=1)


def train_d2nwg(epochs=None, out_dir="runs/d2nwg_digits_fewshot", seed=0,
                verbose=1, zoo_limit=None, vae_epochs=None, config=None,
                evaluate=True):
    """Trains `d2nwg_digits_fewshot`: zoo, weight VAE, latent flow.

    Args:
        epochs, out_dir, seed, verbose: the recipe contract of
            `zoo.family.PresetSpec` (`train`); `epochs` counts flow
            epochs (each: every checkpoint under `FLOW_AUGMENT` random
            label orders and support draws).
        zoo_limit: int or `None`. Use the first checkpoints only (tests).
        vae_epochs: int or `None`. VAE epochs (`VAE_EPOCHS`).
        config: dict or `None`. Overrides of `D2NWG_BACKBONE`; the key
            `decoder_hidden_dim` overrides `DECODER_HIDDEN` (small test
            models).
        evaluate: bool. Compute the few-shot metrics (else `{}` plus the
            VAE and flow figures).

    Returns:
        `(model, test_metrics, metadata)`.

    Example:

    ```python
    zoo.training.train("d2nwg_digits_fewshot", "runs/d2nwg")
    ```
    """
    epochs = FLOW_EPOCHS if epochs is None else epochs
    vae_epochs = VAE_EPOCHS if vae_epochs is None else vae_epochs
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    zoo_data = load_checkpoint_zoo("digits", limit=zoo_limit)
    params, classes = zoo_data["params"], zoo_data["classes"]
    mean, scale = normalization(params, OUTPUT_WEIGHT)
    config = dict(config or {})
    decoder_hidden = config.pop("decoder_hidden_dim", DECODER_HIDDEN)
    backbone_config = dict(D2NWG_BACKBONE, **config)
    latent_dim = backbone_config["latent_dim"]

    # Stage 1: the weight VAE on label-permuted, normalised checkpoints.
    encoder, decoder, vae = build_vae(PARAM_DIM, latent_dim,
                                      hidden_dim=decoder_hidden, seed=seed)
    m = len(params)
    log = []
    for epoch in range(vae_epochs):
        idx = np.repeat(np.arange(m), VAE_AUGMENT)
        x = (permute_classes(params[idx], _random_perms(rng, len(idx)))
             - mean) / scale
        h = vae.fit(x, x, batch_size=BATCH_SIZE, epochs=1, shuffle=True,
                    verbose=0)
        log.append(("vae", epoch, h.history["loss"][0]))
    x = (params - mean) / scale
    recon = vae.predict(x, verbose=0)
    vae_mse = float(np.mean((recon - x) ** 2))
    vae_acc = reconstruction_accuracy(recon * scale + mean, classes)

    # Latent standardisation (folded into the decoder below).
    perms = _random_perms(rng, m * 4)
    z = encoder.predict((permute_classes(np.tile(params, (4, 1)), perms)
                         - mean) / scale, verbose=0)
    z_mean, z_std = z.mean(0), z.std(0) + 1e-3

    # Stage 2: the conditional flow.
    backbone = D2NWGBackbone(**backbone_config, seed=seed)
    model = D2NWGGenerator(backbone, weight_decoder=decoder)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    x_pool, y_pool = load_digits("train")
    x_pool = np.pad(x_pool, ((0, 0), (0, MAX_INPUT - x_pool.shape[1])))
    class_index = _class_index(y_pool)
    history = []
    for epoch in range(epochs):
        idx = np.repeat(np.arange(m), FLOW_AUGMENT)
        perms = _random_perms(rng, len(idx))
        task_classes = np.take_along_axis(classes[idx], perms, axis=1)
        z1 = encoder.predict(
            (permute_classes(params[idx], perms) - mean) / scale,
            verbose=0, batch_size=1024)
        z1 = (z1 - z_mean) / z_std
        z0 = rng.standard_normal(z1.shape).astype("float32")
        t = rng.random(len(idx)).astype("float32")
        zt = (1 - t[:, None]) * z0 + t[:, None] * z1
        support = sample_support(x_pool, class_index, task_classes, SHOTS,
                                 rng)
        h = model.fit({"support": support, "latent": zt, "time": t},
                      z1 - z0, batch_size=BATCH_SIZE, epochs=1,
                      shuffle=True, verbose=0)
        history.append(h.history["loss"][0])
        log.append(("flow", epoch, history[-1]))
        if verbose and (epoch % 20 == 0 or epoch == epochs - 1):
            print(f"flow epoch {epoch + 1}/{epochs} loss "
                  f"{history[-1]:.4f}", flush=True)

    # Fold the latent and weight de-standardisation into the decoder.
    kernel, bias = decoder.hidden.kernel, decoder.hidden.bias
    k = keras.ops.convert_to_numpy(kernel)
    b = keras.ops.convert_to_numpy(bias)
    kernel.assign(k * z_std[:, None])
    bias.assign(b + z_mean @ k)
    decoder.set_normalization(mean, scale)

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "log.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["stage", "epoch", "loss"])
        writer.writerows((s, e, f"{v:.6f}") for s, e, v in log)

    metrics = {}
    if evaluate:
        metrics = evaluate_fewshot(model, "test", zoo_limit=zoo_limit)
    metrics.update(vae_reconstruction_mse=vae_mse,
                   vae_reconstruction_accuracy=vae_acc,
                   flow_final_loss=float(history[-1]) if history else None)
    metadata = {
        "description": (
            "D2NWG on a zoo of 260 5-way digit MLPs (64-32-5, widths 32 "
            "and 16 zero padded): weight VAE (2245 -> 32), support-set "
            "encoder and latent flow matching; samples MLP weights for "
            "unseen 5-way digit tasks from 5 shots per class."),
        "dataset": "digits (checkpoint zoo of 5-way class subsets)",
        "split": {"zoo": "train split of digits",
                  "evaluation": "12 held-out class subsets; support from "
                                "train, query = test split"},
        "epochs": epochs, "vae_epochs": vae_epochs, "shots": SHOTS,
        "batch_size": BATCH_SIZE, "optimizer": f"Adam({LEARNING_RATE})",
        "input_kind": "few_shot_support",
        "input_spec": "support float32 (batch, 5, shots, 64): digits "
                      "features in [0, 1], classes in label order",
        "pipeline_tag": "other",
        "license": "apache-2.0",
        "references": [
            "Soro et al., 2025. Diffusion-based Neural Network Weights "
            "Generation. ICLR 2025. arXiv:2402.18153",
            "Lipman et al., 2023. Flow Matching for Generative Modeling. "
            "ICLR 2023",
        ],
    }
    return model, metrics, metadata
