"""Recurrence / attention / gating layers and the forecaster family.

Unmarked tests (every backend) are the cheap ones: metrics, argument
checks, the RHN cell and gatings by hand, attention causality. Tests that
build and run whole models, the data windows and the bundled presets run
`once` (suite time: per-op compiles of tiny models cost seconds each on
JAX). Harness cases (`rhn_separate_carry`, `gated_residual_highway`,
`relative_causal_attention`) and the registry model
(`forecaster_rhn_gating`) run in the shared harness; this file checks
the maths against hand computations, causality, the metrics on
hand-made cases, rollout shapes and bad inputs.
"""

import keras
import numpy as np
import pytest

import layers
import zoo
from tests.harness import to_numpy
from zoo.data import forecasting_systems as systems
from zoo.forecasting import forecasting_metrics as metrics
from zoo.forecasting.forecasting_presets import PRESETS


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _rng_weights(layer, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, scale, tuple(w.shape)).astype("float32")
               for w in layer.weights]
    layer.set_weights(weights)
    return weights


# ----------------------------------------------------------------------
# RHN cell
# ----------------------------------------------------------------------
def _rhn_reference(x, s, kernel, recurrent, bias, coupled):
    u = s.shape[-1]
    proj = x @ kernel
    for d in range(recurrent.shape[0]):
        z = s @ recurrent[d] + bias[d] + (proj if d == 0 else 0.0)
        hh = np.tanh(z[:, :u])
        t = _sigmoid(z[:, u:2 * u])
        c = 1.0 - t if coupled else _sigmoid(z[:, 2 * u:])
        s = hh * t + s * c
    return s


@pytest.mark.once
@pytest.mark.parametrize("coupled, depth", [(True, 3), (False, 2)])
def test_rhn_cell_matches_hand_computation(coupled, depth):
    cell = layers.RHNCell(5, depth=depth, coupled_carry=coupled)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4)).astype("float32")
    s = rng.normal(size=(3, 5)).astype("float32")
    out, states = cell(x, [s])
    kernel, recurrent, bias = _rng_weights(cell)
    out, states = cell(x, [s])
    expected = _rhn_reference(x, s, kernel, recurrent, bias, coupled)
    np.testing.assert_allclose(to_numpy(out), expected, atol=1e-5)
    np.testing.assert_allclose(to_numpy(states[0]), expected, atol=1e-5)
    assert kernel.shape == (4, (2 if coupled else 3) * 5)
    assert recurrent.shape == (depth, 5, (2 if coupled else 3) * 5)


def test_rhn_cell_depth_one_by_hand():
    # One unit, one input, D = 1: every number written out.
    cell = layers.RHNCell(1, depth=1)
    cell.build((1, 1))
    cell.set_weights([np.array([[0.5, -1.0]], "float32"),
                      np.array([[[2.0, 0.3]]], "float32"),
                      np.array([[0.1, -2.0]], "float32")])
    x = np.array([[1.0]], "float32")
    s = np.array([[0.4]], "float32")
    hh = np.tanh(0.5 + 2.0 * 0.4 + 0.1)
    t = _sigmoid(-1.0 + 0.3 * 0.4 - 2.0)
    expected = hh * t + 0.4 * (1 - t)
    out, _ = cell(x, [s])
    np.testing.assert_allclose(to_numpy(out), [[expected]], atol=1e-6)


@pytest.mark.once
def test_rhn_initial_biases_and_rnn_wrapping():
    cell = layers.RHNCell(3, depth=2, coupled_carry=False,
                          transform_bias=-3.0)
    cell.build((None, 2))
    bias = to_numpy(cell.bias)
    np.testing.assert_array_equal(bias[:, :3], 0.0)
    np.testing.assert_array_equal(bias[:, 3:6], -3.0)
    np.testing.assert_array_equal(bias[:, 6:], 3.0)
    assert cell.state_size == 3 and cell.output_size == 3
    rnn = keras.layers.RNN(layers.RHNCell(3, depth=2),
                           return_sequences=True, return_state=True)
    x = np.random.default_rng(0).normal(size=(2, 5, 2)).astype("float32")
    seq, last = rnn(x)
    assert tuple(seq.shape) == (2, 5, 3)
    np.testing.assert_allclose(to_numpy(seq)[:, -1], to_numpy(last),
                               atol=1e-6)
    # The RNN layer equals stepping the cell by hand.
    k, r, b = [to_numpy(w) for w in rnn.cell.weights]
    s = np.zeros((2, 3), "float32")
    for t in range(5):
        s = _rhn_reference(x[:, t], s, k, r, b, True)
    np.testing.assert_allclose(to_numpy(last), s, atol=1e-5)


def test_rhn_layer_config_round_trip():
    layer = layers.RHN(4, depth=3, coupled_carry=False, transform_bias=-1.5,
                       return_sequences=True, seed=3)
    revived = layers.RHN.from_config(layer.get_config())
    assert revived.cell.depth == 3 and not revived.cell.coupled_carry
    assert revived.cell.transform_bias == -1.5 and revived.return_sequences


@pytest.mark.parametrize("kwargs, message", [
    (dict(units=0), "units"),
    (dict(units=3, depth=0), "depth"),
    (dict(units=3, coupled_carry="yes"), "coupled_carry"),
])
def test_rhn_cell_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.RHNCell(**kwargs)


# ----------------------------------------------------------------------
# Gated residual
# ----------------------------------------------------------------------
def test_gatings_by_hand():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    f = rng.normal(size=(2, 3, 4)).astype("float32")
    add = layers.GatedResidual("additive")
    np.testing.assert_allclose(to_numpy(add(x, update=f)), x + f,
                               atol=1e-6)
    assert not add.weights

    rate = layers.GatedResidual("rate", rate_init=0.0)
    np.testing.assert_allclose(to_numpy(rate(x, update=f)), (x + f) / 2,
                               atol=1e-6)
    w = np.array([-1.0, 0.0, 1.0, 2.0], "float32")
    rate.set_weights([w])
    a = _sigmoid(w)
    np.testing.assert_allclose(to_numpy(rate(x, update=f)),
                               (1 - a) * x + a * f, atol=1e-6)
    scalar = layers.GatedResidual("rate", rate_per_feature=False)
    scalar(x, update=f)
    assert tuple(scalar.rate.shape) == ()

    highway = layers.GatedResidual("highway", gate_bias=-1.0)
    highway(x, update=f)
    np.testing.assert_array_equal(to_numpy(highway.gate.bias), -1.0)
    kernel, bias = _rng_weights(highway)
    g = _sigmoid(x @ kernel + bias)
    np.testing.assert_allclose(to_numpy(highway(x, update=f)),
                               (1 - g) * x + g * f, atol=1e-5)


def test_gated_residual_bad_inputs():
    with pytest.raises(ValueError, match="gating"):
        layers.GatedResidual("multiplicative")
    layer = layers.GatedResidual("highway")
    with pytest.raises(ValueError, match="same last dimension"):
        layer(np.zeros((2, 4), "float32"), update=np.zeros((2, 3),
                                                           "float32"))


# ----------------------------------------------------------------------
# Relative causal attention
# ----------------------------------------------------------------------
def test_relative_causal_mask():
    mask = layers.relative_causal_mask(5, 2).astype(int)
    expected = np.array([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 1, 1, 0, 0],
                         [0, 0, 1, 1, 0], [0, 0, 0, 1, 1]])
    np.testing.assert_array_equal(mask, expected)
    with pytest.raises(ValueError, match="window"):
        layers.relative_causal_mask(5, 0)


def test_attention_is_causal_and_windowed():
    layer = layers.RelativeCausalAttention(2, 3, window=3, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 8, 4)).astype("float32")
    y = to_numpy(layer(x))
    _rng_weights(layer)
    y = to_numpy(layer(x))
    # Changing step 5 leaves outputs 0..4 unchanged, changes 5..7 (the
    # window covers lags 0-2) and leaves nothing further.
    x2 = x.copy()
    x2[:, 5] += 3.0
    y2 = to_numpy(layer(x2))
    np.testing.assert_allclose(y2[:, :5], y[:, :5], atol=1e-6)
    assert np.all(np.abs(y2[:, 5:8] - y[:, 5:8]).max(axis=-1) > 1e-4)
    w = to_numpy(layer.attention_weights(x))
    assert w.shape == (2, 2, 8, 8)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    outside = ~layers.relative_causal_mask(8, 3)
    assert np.all(w[..., outside] == 0.0)


@pytest.mark.once
def test_relative_bias_shifts_attention_to_a_lag():
    layer = layers.RelativeCausalAttention(1, 2, window=4, seed=0)
    x = np.random.default_rng(1).normal(size=(1, 6, 3)).astype("float32")
    layer(x)
    # Zero query/key kernels and biases: logits are the relative bias only.
    weights = [np.zeros(w.shape, "float32") for w in layer.weights]
    bias_index = [w.path for w in layer.weights].index(
        layer.relative_bias.path)
    weights[bias_index] = np.array([[0.0, 0.0, 5.0, 0.0]], "float32")
    layer.set_weights(weights)
    w = to_numpy(layer.attention_weights(x))[0, 0]
    e5 = np.exp(5.0)
    # Row 5 attends to keys 2, 3, 4, 5 (lags 3, 2, 1, 0); lag 2 (key 3)
    # is favoured.
    np.testing.assert_allclose(w[5, 2:6], np.array([1, e5, 1, 1])
                               / (e5 + 3), atol=1e-5)
    np.testing.assert_array_equal(w[5, :2], 0.0)
    # Row 1 has lags 0 and 1 only: uniform.
    np.testing.assert_allclose(w[1, :2], [0.5, 0.5], atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_heads=0, key_dim=2), "num_heads"),
    (dict(num_heads=1, key_dim=2, window=0), "window"),
    (dict(num_heads=1, key_dim=2, dropout=1.0), "dropout"),
])
def test_attention_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.RelativeCausalAttention(**kwargs)


def test_attention_rejects_non_sequence_input():
    layer = layers.RelativeCausalAttention(1, 2)
    with pytest.raises(ValueError, match="batch, time, features"):
        layer(np.zeros((2, 3), "float32"))


# ----------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------
def test_nrmse_by_hand():
    pred = np.array([[0.0, 0.0], [1.0, 2.0]])
    truth = np.array([[1.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(metrics.nrmse(pred, truth),
                               [1.0, np.sqrt(2.0)])
    np.testing.assert_allclose(
        metrics.nrmse(pred, truth, std=np.array([1.0, 2.0])),
        [np.sqrt((1 + 0.25) / 2), np.sqrt(0.5)])
    with pytest.raises(ValueError, match="same shape"):
        metrics.nrmse(pred, truth[:1])
    with pytest.raises(ValueError, match="std"):
        metrics.nrmse(pred, truth, std=np.array([1.0, 0.0]))


def test_valid_prediction_time_by_hand():
    err = np.array([[0.1, 0.2, 0.6, 0.1], [0.7, 0.1, 0.1, 0.1],
                    [0.1, 0.1, 0.1, 0.4]])
    vpt = metrics.valid_prediction_time(err, dt=0.5, lyapunov_exponent=2.0)
    # 2 valid steps; 0; never fails (whole horizon, 4 steps).
    np.testing.assert_allclose(vpt, [2.0, 0.0, 4.0])
    assert metrics.valid_prediction_time([0.5, 0.51], 1.0, 1.0) == 1.0
    with pytest.raises(ValueError, match="positive"):
        metrics.valid_prediction_time(err, dt=0.0, lyapunov_exponent=1.0)


def test_power_spectrum_error_and_lead_time():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(20, 16))
    assert metrics.power_spectrum_error(u, u) == 0.0
    # Twice the amplitude: +6.02 dB on every mode.
    np.testing.assert_allclose(metrics.power_spectrum_error(2 * u, u),
                               20 * np.log10(2), atol=1e-6)
    assert metrics.lead_time_index(1.0, 0.05, 1.68) == 11
    assert metrics.lead_time_index(1.0, 1.0, 0.047) == 20


@pytest.mark.once
def test_initial_conditions_and_training_windows():
    x, y = systems.training_windows("lorenz96", 8, stride=5)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert x.shape[1:] == (8, 40)
    data = systems.load_system("lorenz96")
    np.testing.assert_allclose(data["train"].mean(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(data["train"].std(0), 1.0, atol=1e-4)
    warmup, truth, starts = systems.initial_conditions("lorenz96", 8,
                                                       num_ics=20)
    assert warmup.shape == (20, 8, 40) and len(starts) == 20
    assert truth.shape == (20, systems.horizon_steps("lorenz96"), 40)
    np.testing.assert_array_equal(warmup[3], data["test"][starts[3] - 8:
                                                          starts[3]])
    np.testing.assert_array_equal(truth[3, 0], data["test"][starts[3]])
    # The validation trajectory: its own seed, z-scored with the training
    # statistics, used by split="val".
    assert data["val"].shape == data["test"].shape
    assert not np.allclose(data["val"][:100], data["test"][:100])
    assert abs(float(data["val"].mean())) < 0.1
    assert abs(float(data["val"].std()) - 1.0) < 0.1
    warmup_val, _, starts_val = systems.initial_conditions(
        "lorenz96", 8, num_ics=20, split="val")
    np.testing.assert_array_equal(
        warmup_val[3], data["val"][starts_val[3] - 8:starts_val[3]])
    with pytest.raises(ValueError, match="split"):
        systems.initial_conditions("lorenz96", 8, split="train")
    with pytest.raises(ValueError, match="system"):
        systems.load_system("lorenz63")


@pytest.mark.once
def test_true_integrator_continues_the_warmup():
    # A perfect model (RK4 from the last un-scaled warm-up state, 5 steps
    # of 0.01 per 0.05 sample) reproduces the truth: no off-by-one between
    # warm-up and truth, the right sampling dt, training statistics.
    from zoo.data.dynamics import lorenz96_step

    data = systems.load_system("lorenz96")
    warmup, truth, _ = systems.initial_conditions("lorenz96", 4, num_ics=6,
                                                  horizon=3)
    state = warmup[:, -1].astype("float64") * data["std"] + data["mean"]
    for k in range(3):
        for _ in range(5):
            state = lorenz96_step(state, forcing=8.0, dt=0.01)
        np.testing.assert_allclose((state - data["mean"]) / data["std"],
                                   truth[:, k], atol=1e-4)


# ----------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------
def _tiny(cell="rhn", **kwargs):
    backbone = zoo.ForecasterBackbone(input_dim=3, cell=cell, units=4,
                                      num_heads=2, window=3, seed=0,
                                      **kwargs)
    return zoo.Forecaster(backbone, context_length=5)


@pytest.mark.once
@pytest.mark.parametrize("cell, kwargs, variant", [
    ("lstm", dict(attention=False, gating="additive"), "lstm"),
    ("gru", dict(attention=True, gating="rate"), "gru+attention+rate"),
    ("transformer", dict(recurrence=False), "transformer"),
])
def test_backbone_variants_are_causal(cell, kwargs, variant):
    model = _tiny(cell, **kwargs)
    assert model.backbone.variant == variant
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    y = to_numpy(model(x))
    x2 = x.copy()
    x2[:, 4] += 1.0
    y2 = to_numpy(model(x2))
    np.testing.assert_allclose(y2[:, :4], y[:, :4], atol=1e-6)
    assert np.abs(y2[:, 4:] - y[:, 4:]).max() > 1e-6


@pytest.mark.once
def test_rollout_shapes_and_feedback():
    model = _tiny()
    rng = np.random.default_rng(0)
    warmup = rng.normal(size=(2, 9, 3)).astype("float32")
    out = model.rollout(warmup, 4)
    assert out.shape == (2, 4, 3) and out.dtype == np.float32
    # Step 0 is the model's last output on the last 5 warm-up states;
    # step 1 sees step 0's prediction.
    first = to_numpy(model(warmup[:, -5:]))[:, -1]
    np.testing.assert_allclose(out[:, 0], first, atol=1e-5)
    window = np.concatenate([warmup[:, -4:], out[:, :1]], axis=1)
    np.testing.assert_allclose(out[:, 1], to_numpy(model(window))[:, -1],
                               atol=1e-5)


def test_attention_initialisation_options():
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    # Zero output projection + additive gating: the attention block
    # starts as the identity (the model is the plain recurrent cell).
    model = _tiny(attention=True, gating="additive",
                  zero_attention_output=True)
    backbone = model.backbone
    before = keras.Model(backbone.input,
                         backbone.get_layer("recurrent_gate").output)
    np.testing.assert_allclose(to_numpy(backbone(x)), to_numpy(before(x)),
                               atol=1e-6)
    assert not np.any(to_numpy(
        backbone.get_layer("attention").projections[3].kernel))
    # A negative attention-gate bias starts that gate nearly closed;
    # the recurrent gate keeps its default bias.
    gated = _tiny(attention=True, gating="highway",
                  attention_gate_bias=-3.0).backbone
    np.testing.assert_allclose(
        to_numpy(gated.get_layer("attention_gate").gate.bias), -3.0)
    np.testing.assert_allclose(
        to_numpy(gated.get_layer("recurrent_gate").gate.bias), 0.0)
    config = gated.get_config()
    assert config["attention_gate_bias"] == -3.0
    assert "zero_attention_output" not in config
    restored = zoo.ForecasterBackbone.from_config(config)
    assert restored.attention_gate_bias == -3.0
    # Defaults leave the saved configuration as it was.
    default = _tiny(attention=True).backbone.get_config()
    assert "attention_gate_bias" not in default
    assert "zero_attention_output" not in default


def test_rollout_training_model_matches_rollout():
    from zoo.forecasting.forecasting_training import rollout_training_model

    model = _tiny(attention=True, gating="highway")
    trainer = rollout_training_model(model, 3)
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
    out = to_numpy(trainer(x))
    assert out.shape == (2, 8, 3)
    # Teacher-forced part, then the closed loop of `rollout`.
    np.testing.assert_allclose(out[:, :5], to_numpy(model(x)), atol=1e-5)
    np.testing.assert_allclose(out[:, 4:], model.rollout(x, 4), atol=1e-5)
    # The trainer shares the forecaster's weights and trains them.
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    before = to_numpy(model.output_dense.kernel).copy()
    loss = trainer.train_on_batch(x, np.zeros((2, 8, 3), "float32"))
    assert np.isfinite(float(np.ravel(loss)[0]))
    assert np.abs(to_numpy(model.output_dense.kernel) - before).max() > 0
    with pytest.raises(ValueError, match="rollout_steps"):
        rollout_training_model(model, 0)


@pytest.fixture(scope="module")
def tiny_model():
    return _tiny()


@pytest.mark.parametrize("warmup, steps, message", [
    (np.zeros((2, 4, 5)), 3, "warmup"),
    (np.zeros((4, 3)), 3, "warmup"),
    (np.zeros((2, 4, 3)), 0, "steps"),
    (np.zeros((2, 4, 3)), 2.5, "steps"),
])
def test_rollout_bad_inputs(tiny_model, warmup, steps, message):
    with pytest.raises(ValueError, match=message):
        tiny_model.rollout(warmup, steps)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cell="rnn"), "cell"),
    (dict(gating="mult"), "gating"),
    (dict(units=6, num_heads=4), "divisible"),
    (dict(units=0), "units"),
])
def test_backbone_bad_arguments(kwargs, message):
    args = dict(input_dim=3, units=4, num_heads=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        zoo.ForecasterBackbone(**args)


def test_forecaster_bad_context_length():
    backbone = zoo.ForecasterBackbone(input_dim=3, units=4, num_heads=2)
    with pytest.raises(ValueError, match="context_length"):
        zoo.Forecaster(backbone, context_length=0)


# ----------------------------------------------------------------------
# Bundled presets
# ----------------------------------------------------------------------
def test_every_recipe_preset_is_bundled():
    for name, cfg in PRESETS.items():
        meta = zoo.read_metadata(name)
        spec = zoo.registry.get_preset_spec(name)
        assert spec.task_cls is zoo.Forecaster and callable(spec.evaluate)
        assert meta["dataset"] == cfg["system"]
        assert meta["metrics"]["parameters"] == meta["parameter_count"]
        assert meta["metrics"]["num_ics"] >= 20
        assert {"vpt_lyapunov", "nrmse_1_lyapunov"} <= set(meta["metrics"])


@pytest.mark.once
def test_cli_eval_reproduces_preset_metadata(capsys):
    # Lorenz 96 (the shorter horizon); KS goes through the same code.
    name = "rhn_attention_lorenz96"
    import json

    from zoo import cli

    assert cli.main(["eval", name, "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    meta = zoo.read_metadata(name)
    system = systems.SYSTEMS[meta["dataset"]]
    # One step of one initial condition, in Lyapunov times.
    step = system["dt"] * system["lyapunov"] / meta["metrics"]["num_ics"]
    assert result["vpt_lyapunov"] == pytest.approx(
        meta["metrics"]["vpt_lyapunov"], abs=step + 1e-9)
    assert result["nrmse_1_lyapunov"] == pytest.approx(
        meta["metrics"]["nrmse_1_lyapunov"], rel=1e-3)
    assert result["parameters"] == meta["metrics"]["parameters"]
