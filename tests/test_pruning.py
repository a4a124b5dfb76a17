"""Pruning family: schedules, magnitude masks, PruningOptimizer.

Every check runs on the current backend (the suite runs one process per
backend); exact counts where the math is discrete, no timing.
"""

import keras
import numpy as np
import pytest

import zoo
from tests.harness import EAGER_JIT
from tests.harness import JIT_BACKENDS
from tests.harness import build_under_policy
from zoo.pruning import ConstantSparsity
from zoo.pruning import PolynomialDecay
from zoo.pruning import PruningOptimizer
from zoo.pruning import layer_sparsities
from zoo.pruning import magnitude_masks
from zoo.pruning import prune_once
from zoo.pruning import sparsity_report
from zoo.pruning import strip_pruning

BACKEND = keras.backend.backend()
JIT_MODES = sorted({EAGER_JIT, BACKEND in JIT_BACKENDS})


def _digits_batch(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, n).astype("int32")
    return x, y


def _tiny_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    backbone = zoo.DigitsCNNBackbone(filters=(4, 6), seed=seed)
    return zoo.DigitsCNNClassifier(backbone, num_classes=10)


def _kernels(optimizer):
    return [np.asarray(v) for v in optimizer.pruned_variables]


# ----------------------------------------------------------------------
# Schedules: tfmot's semantics (closed forms)
# ----------------------------------------------------------------------
def test_polynomial_decay_values_and_turns():
    s = PolynomialDecay(0.1, 0.9, begin_step=10, end_step=110, power=3,
                        frequency=20)
    for step in (0, 10, 35, 60, 110, 500):
        p = min(max((step - 10) / 100, 0.0), 1.0)
        expected = 0.9 + (0.1 - 0.9) * (1 - p) ** 3
        np.testing.assert_allclose(float(s.sparsity(step)), expected,
                                   rtol=1e-6)
    turns = [t for t in range(0, 200) if bool(s.should_prune(t))]
    assert turns == [10, 30, 50, 70, 90, 110]
    constant = ConstantSparsity(0.5, begin_step=3, frequency=4)
    assert [t for t in range(12) if bool(constant.should_prune(t))] == [
        3, 7, 11]
    assert float(constant.sparsity(7)) == 0.5
    restored = PolynomialDecay.from_config(s.get_config())
    assert restored.get_config() == s.get_config()


@pytest.mark.parametrize("kwargs, word", [
    (dict(initial_sparsity=0.0, final_sparsity=1.0, begin_step=0,
          end_step=10), "final_sparsity"),
    (dict(initial_sparsity=0.0, final_sparsity=0.5, begin_step=5,
          end_step=5), "end_step"),
    (dict(initial_sparsity=0.0, final_sparsity=0.5, begin_step=0,
          end_step=10, frequency=0), "frequency"),
    (dict(initial_sparsity="a", final_sparsity=0.5, begin_step=0,
          end_step=10), "initial_sparsity"),
    (dict(initial_sparsity=0.0, final_sparsity=0.5, begin_step=-1,
          end_step=10), "begin_step"),
])
def test_schedule_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        PolynomialDecay(**kwargs)


# ----------------------------------------------------------------------
# Magnitude masks
# ----------------------------------------------------------------------
def _weights():
    rng = np.random.default_rng(0)
    return [rng.normal(size=(30, 20)).astype("float32"),
            0.01 * rng.normal(size=(20, 10)).astype("float32"),
            rng.normal(size=(5, 4)).astype("float32")]


def test_global_and_layer_masks_keep_the_largest_weights():
    ws = _weights()
    total = sum(w.size for w in ws)
    masks = [np.asarray(m) for m in magnitude_masks(ws, 0.9)]
    kept = int(sum(m.sum() for m in masks))
    assert kept == round(total * 0.1)
    # Global: every kept magnitude >= every pruned one.
    flat_w = np.concatenate([np.abs(w).ravel() for w in ws])
    flat_m = np.concatenate([m.ravel() for m in masks]).astype(bool)
    assert flat_w[flat_m].min() >= flat_w[~flat_m].max()
    # The small-weight layer collapses under plain Global MP.
    assert masks[1].sum() == 0
    per_layer = [np.asarray(m) for m in magnitude_masks(ws, 0.75, "layer")]
    for w, m in zip(ws, per_layer):
        assert m.sum() == round(w.size * 0.25)
        assert np.abs(w)[m.astype(bool)].min() >= np.abs(w)[
            ~m.astype(bool)].max()


def test_minimum_threshold_prevents_layer_collapse():
    ws = _weights()
    total = sum(w.size for w in ws)
    masks = [np.asarray(m) for m in magnitude_masks(ws, 0.9,
                                                     min_weights=15)]
    kept = [int(m.sum()) for m in masks]
    assert min(kept) >= 15
    # MT rescales the other layers: the total stays at the target (within
    # one weight per layer of rounding).
    assert abs(sum(kept) - round(total * 0.1)) <= len(ws)
    s = np.asarray(layer_sparsities(ws, 0.9, min_weights=15))
    np.testing.assert_allclose((s * [w.size for w in ws]).sum(),
                               0.9 * total, rtol=1e-4)
    # A layer smaller than the minimum is not pruned at all.
    tiny = [ws[0], np.ones((2, 3), "float32")]
    assert np.asarray(magnitude_masks(tiny, 0.5, min_weights=10)[1]).all()


def test_magnitude_masks_reject_bad_scope():
    with pytest.raises(ValueError, match="scope"):
        magnitude_masks(_weights(), 0.5, scope="neuron")
    with pytest.raises(ValueError, match="min_weights"):
        magnitude_masks(_weights(), 0.5, scope="layer", min_weights=3)


# ----------------------------------------------------------------------
# PruningOptimizer inside the compiled train step
# ----------------------------------------------------------------------
@pytest.mark.parametrize("jit", JIT_MODES)
def test_gradual_pruning_reaches_the_schedule_and_masks_hold(jit):
    x, y = _digits_batch()
    model = _tiny_cnn()
    schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=6,
                               frequency=2)
    optimizer = PruningOptimizer(
        keras.optimizers.AdamW(1e-2, weight_decay=0.1), schedule)
    model.compile(optimizer=optimizer, jit_compile=jit)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # steps 1..4
    # Last pruning step: 4, sparsity 0.8 - 0.8 * (1/3)^3.
    expected = 0.8 - 0.8 * (1 / 3) ** 3
    report = sparsity_report(model)
    total = report["prunable_parameters"]
    assert report["zero_parameters"] == total - round(total * (1 - expected))
    masks = [np.asarray(m).astype(bool) for m in optimizer.masks]
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)  # steps 5..12
    later = [np.asarray(m).astype(bool) for m in optimizer.masks]
    for before, after in zip(masks, later):
        assert not np.any(after & ~before), "a pruned weight came back"
    for w, m in zip(_kernels(optimizer), later):
        assert np.all(w[~m] == 0)
    report = sparsity_report(model)
    assert report["zero_parameters"] == total - round(total * 0.2)


def test_fixed_masks_survive_momentum_and_weight_decay():
    x, y = _digits_batch()
    model = _tiny_cnn()
    model.compile(optimizer=PruningOptimizer(keras.optimizers.SGD(
        0.1, momentum=0.9, weight_decay=1e-3)))
    masks = prune_once(model, 0.7, min_weights=4)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    for w, m in zip(_kernels(model.optimizer), masks):
        assert np.all(w[m == 0] == 0)
        assert np.all(w[m == 1] != 0)


def test_masked_model_saves_and_loads_with_its_masks(tmp_path):
    x, y = _digits_batch()
    model = _tiny_cnn()
    model.compile(optimizer=PruningOptimizer(keras.optimizers.Adam(1e-3)))
    prune_once(model, 0.6)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "pruned.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored.optimizer, PruningOptimizer)
    for a, b in zip(restored.optimizer.masks, model.optimizer.masks):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(
        np.asarray(restored.predict(x, verbose=0)),
        np.asarray(model.predict(x, verbose=0)))
    restored.fit(x, y, batch_size=8, epochs=1, verbose=0)
    report = sparsity_report(restored)
    assert report["zero_parameters"] >= round(
        0.6 * report["prunable_parameters"]) - 1


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_pruning_under_mixed_precision(policy):
    x, y = _digits_batch()
    model = build_under_policy(policy, _tiny_cnn)
    model.compile(optimizer=PruningOptimizer(
        keras.optimizers.Adam(1e-2),
        ConstantSparsity(0.5, begin_step=1, frequency=1)))
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    pruning = (model.optimizer if isinstance(
        model.optimizer, PruningOptimizer) else model.optimizer.inner_optimizer)
    assert isinstance(pruning, PruningOptimizer)
    for v, m in zip(pruning.pruned_variables, pruning.masks):
        assert v.dtype == "float32"
        assert np.all(np.asarray(v)[np.asarray(m) == 0] == 0)
    report = sparsity_report(model)
    total = report["prunable_parameters"]
    assert report["zero_parameters"] == total - round(total * 0.5)


def test_strip_pruning_leaves_a_plain_trainable_model(tmp_path):
    x, y = _digits_batch()
    model = _tiny_cnn()
    model.compile(optimizer=PruningOptimizer(keras.optimizers.Adam(1e-3)))
    prune_once(model, 0.5, scope="layer")
    before = sparsity_report(model)
    model = strip_pruning(model)
    assert not isinstance(model.optimizer, PruningOptimizer)
    assert sparsity_report(model) == before
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "plain.keras")
    model.save(path)
    assert not isinstance(keras.models.load_model(path).optimizer,
                          PruningOptimizer)


def test_prune_once_refuses_bad_input_and_changes_nothing():
    model = _tiny_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    weights = [np.asarray(w).copy() for w in model.weights]
    with pytest.raises(ValueError, match="PruningOptimizer"):
        prune_once(model, 0.5)
    model.compile(optimizer=PruningOptimizer(keras.optimizers.Adam(1e-3)))
    for bad in (1.0, -0.1, "0.5", True):
        with pytest.raises(ValueError, match="sparsity"):
            prune_once(model, bad)
    with pytest.raises(ValueError, match="scope"):
        prune_once(model, 0.5, scope="neuron")
    for w, b in zip(model.weights, weights):
        np.testing.assert_array_equal(np.asarray(w), b)
    with pytest.raises(ValueError, match="inner_optimizer"):
        PruningOptimizer("adam")
    with pytest.raises(ValueError, match="min_weights"):
        PruningOptimizer(keras.optimizers.Adam(), scope="layer",
                         min_weights=3)


def test_pruning_optimizer_config_round_trip():
    optimizer = PruningOptimizer(
        keras.optimizers.SGD(0.05, momentum=0.9),
        PolynomialDecay(0.0, 0.9, 0, 100, frequency=10), min_weights=7)
    config = keras.saving.serialize_keras_object(optimizer)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, PruningOptimizer)
    assert restored.get_config()["schedule"] == optimizer.get_config()[
        "schedule"]
    assert restored.min_weights == 7
    assert float(restored.learning_rate) == pytest.approx(0.05)


# ----------------------------------------------------------------------
# python -m zoo prune
# ----------------------------------------------------------------------
def test_cli_pruning_constants_match_the_recipe():
    from zoo import cli
    from zoo.pruning import prune_preset

    assert cli.PRUNING_METHODS == prune_preset.METHODS
    assert cli.DEFAULT_MT_PERCENT == prune_preset.DEFAULT_MT_PERCENT


@pytest.mark.once
def test_cli_prune_writes_an_evaluable_sparse_preset(tmp_path, capsys):
    import json

    from zoo import cli

    out = str(tmp_path / "run")
    code = cli.main(["prune", "hyper_mlp_digits", "--sparsity", "0.3",
                     "--epochs", "1", "--out", out, "--quiet"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    metrics = result["metrics"]
    total = metrics["prunable_parameters"]
    # Global MP keeps round(0.7 * n); fine-tuning cannot refill zeros.
    assert metrics["zero_parameters"] >= total - round(0.7 * total)
    meta = zoo.read_metadata(result["preset"])
    assert meta["recipe"] == "hyper_mlp_digits"
    assert meta["pruning"]["method"] == "global_mp"
    model = zoo.load(result["preset"])
    assert not isinstance(getattr(model, "optimizer", None),
                          PruningOptimizer)
    assert sparsity_report(model)["zero_parameters"] == metrics[
        "zero_parameters"]
    assert cli.main(["eval", result["preset"], "--json"]) == 0
    # Bad input: exit 2 and a one-line message naming the argument.
    capsys.readouterr()
    assert cli.main(["prune", "hyper_mlp_digits", "--sparsity", "1.5",
                     "--out", str(tmp_path / "bad")]) == 2
    assert "--sparsity" in capsys.readouterr().err
    assert cli.main(["prune", "unem_gaussian_5shot",
                     "--out", str(tmp_path / "bad")]) == 2
    assert "no input/label data" in capsys.readouterr().err


def test_recalibrate_batch_norm_sets_the_statistics_of_the_batch():
    x, _ = _digits_batch(64)
    model = _tiny_cnn()
    assert zoo.pruning.recalibrate_batch_norm(model, x) == 2
    norm = model.backbone.get_layer("bn_0")
    assert norm.momentum == pytest.approx(0.99)
    features = keras.ops.convert_to_numpy(
        model.backbone.get_layer("conv_0")(x))
    np.testing.assert_allclose(np.asarray(norm.moving_mean),
                               features.mean(axis=(0, 1, 2)),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.once
def test_cli_prune_hesso_writes_a_smaller_network(tmp_path, capsys):
    import json

    from zoo import cli

    out = str(tmp_path / "run")
    code = cli.main(["prune", "cafa_digits_encoder", "--method", "hesso",
                     "--sparsity", "0.5", "--epochs", "2", "--out", out,
                     "--quiet"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    meta = zoo.read_metadata(result["preset"])
    dense = meta["pruning"]["dense_parameters"]
    model = zoo.load(result["preset"])
    assert model.count_params() == result["metrics"]["parameters"] < dense
    # Half of the 96 conv channels go (one group per kind is kept).
    assert sum(model.backbone.filters) == 96 - 48
    assert cli.main(["prune", "hyper_mlp_digits", "--method", "hesso",
                     "--out", str(tmp_path / "bad")]) == 2
    assert "DigitsCNNClassifier" in capsys.readouterr().err
