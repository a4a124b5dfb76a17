"""D2NWG: set encoder, denoiser, checkpoint zoo and the recipe (tiny)."""

import functools

import keras
import numpy as np
import pytest

import layers
from zoo.d2nwg.d2nwg_backbone import D2NWGBackbone
from zoo.d2nwg.d2nwg_eval import compare_inits
from zoo.d2nwg.d2nwg_generator import D2NWGGenerator
from zoo.d2nwg.d2nwg_generator import build_classifier
from zoo.d2nwg.d2nwg_training import normalization
from zoo.d2nwg.d2nwg_training import permute_classes
from zoo.d2nwg.d2nwg_training import train_d2nwg
from zoo.data import checkpoint_zoo as cz


@pytest.fixture(scope="module")
def zoo_slice():
    return cz.load_checkpoint_zoo(limit=10)


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_set_encoder_is_permutation_invariant(pooling):
    encoder = layers.SetEncoder(4, hidden_dim=8, pooling=pooling, seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (3, 2, 7, 5))
    x = x.astype("float32")
    out = keras.ops.convert_to_numpy(encoder(x))
    assert out.shape == (3, 2, 4)
    perm = np.random.default_rng(1).permutation(7)
    shuffled = keras.ops.convert_to_numpy(encoder(x[:, :, perm]))
    np.testing.assert_allclose(shuffled, out, atol=1e-5)
    # Not invariant to changing an element.
    x[:, :, 0] += 1
    assert not np.allclose(keras.ops.convert_to_numpy(encoder(x)), out)


def test_denoiser_depends_on_time_and_condition():
    denoiser = layers.ConditionalDenoiser(3, hidden_dim=8, seed=0)
    z = np.ones((2, 3), "float32")
    c = np.ones((2, 4), "float32")

    def run(t, c):
        return keras.ops.convert_to_numpy(
            denoiser(z, time=np.full(2, t, "float32"), condition=c))

    base = run(0.1, c)
    assert base.shape == (2, 3)
    assert not np.allclose(run(0.9, c), base)
    assert not np.allclose(run(0.1, c + 1), base)


def test_zoo_slice(zoo_slice):
    params, manifest = zoo_slice["params"], zoo_slice["manifest"]
    assert params.shape == (10, cz.PARAM_DIM)
    assert {"architecture", "task", "seed", "accuracy"} <= set(manifest[0])
    # Trained: well above chance on the test split of each task.
    assert min(r["accuracy"] for r in manifest) > 0.8
    held = set(cz.heldout_tasks(0))
    assert not held & {tuple(r["classes"]) for r in manifest}
    again = cz.build_checkpoint_zoo(limit=3, cache=False)
    np.testing.assert_allclose(again["params"], params[:3], atol=1e-5)


def test_zero_padding_and_class_permutation_are_exact():
    rng = np.random.default_rng(0)
    params = cz.init_params(64, 16, 0)[None]
    x = rng.uniform(0, 1, (1, 6, 64)).astype("float32")
    w1, b1, w2, b2 = cz.split_params(params[0])
    small = (np.maximum(x[0] @ w1[:, :16] + b1[:16], 0) @ w2[:16] + b2)
    np.testing.assert_allclose(cz.mlp_logits(params, x)[0], small,
                               atol=1e-5)
    perm = np.array([[2, 0, 4, 1, 3]])
    permuted = permute_classes(params, perm)
    np.testing.assert_allclose(cz.mlp_logits(permuted, x)[0],
                               cz.mlp_logits(params, x)[0][:, perm[0]],
                               atol=1e-5)
    mean, scale = normalization(np.concatenate([params, permuted]))
    assert mean.shape == scale.shape == (cz.PARAM_DIM,)


def test_generated_weights_run_in_a_keras_classifier(zoo_slice):
    backbone = D2NWGBackbone(latent_dim=4, ways=5, feature_dim=64,
                             set_dim=2, set_hidden_dim=4, hidden_dim=8,
                             num_blocks=1, time_embedding_dim=4, seed=0)
    model = D2NWGGenerator(backbone, param_dim=cz.PARAM_DIM,
                           decoder_hidden_dim=4)
    support = np.random.default_rng(0).uniform(0, 1, (2, 5, 3, 64))
    params = model.generate_weights(support.astype("float32"), 2)
    assert params.shape == (2, cz.PARAM_DIM)
    clf = build_classifier(params[0])
    x = support[0, :, 0].astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clf(x)),
        cz.mlp_logits(params[:1], x[None])[0], atol=1e-4)
    curves = compare_inits(model, steps=(0, 1), episodes=1, zoo_limit=10)
    assert set(curves) == {"d2nwg", "random", "zoo_mean", "nearest"}
    assert curves["random"].shape == (2, len(cz.heldout_tasks(0)))


def test_recipe_runs_end_to_end(zoo_slice, tmp_path, monkeypatch):
    from zoo.d2nwg import d2nwg_training

    monkeypatch.setattr(d2nwg_training, "FLOW_AUGMENT", 2)
    monkeypatch.setattr(d2nwg_training, "evaluate_fewshot", functools.partial(
        d2nwg_training.evaluate_fewshot, steps=2, episodes=1))
    config = dict(latent_dim=4, set_dim=2, set_hidden_dim=4, hidden_dim=8,
                  num_blocks=1, time_embedding_dim=4, decoder_hidden_dim=8)
    model, metrics, metadata = train_d2nwg(
        epochs=1, vae_epochs=1, verbose=0, zoo_limit=10, config=config,
        out_dir=str(tmp_path))
    assert 0 <= metrics["accuracy_d2nwg_2steps"] <= 1
    assert np.isfinite(metrics["vae_reconstruction_mse"])
    assert model.weight_decoder.trainable is False
    assert (tmp_path / "log.csv").exists()


def test_bundled_preset_follows_the_support_set():
    import zoo
    from zoo.d2nwg.d2nwg_eval import finetune_curves
    from zoo.d2nwg.d2nwg_eval import make_episodes

    model = zoo.load("d2nwg_digits_fewshot")
    task = cz.heldout_tasks(0)[0]
    # The same unseen task in label order and with two labels swapped:
    # the sampled output units follow the order of the support set.
    tasks = [task, (task[1], task[0]) + task[2:]]
    support, tasks = make_episodes(tasks, seed=0)
    params = model.generate_weights(support, seed=0)
    accuracy = finetune_curves(params, support, tasks, [0])[0]
    # Chance is 0.2; a model ignoring the label order would get the two
    # swapped classes wrong in one of the two orders.
    assert accuracy.min() > 0.6, accuracy
