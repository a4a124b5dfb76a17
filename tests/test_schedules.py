"""zoo.schedules: UBA against cosine, phases, the schedule factory."""

import keras
import numpy as np
import pytest

from zoo import schedules
from zoo.schedules import UBA
from zoo.schedules import PhaseSchedule
from zoo.schedules import make_schedule

STEPS = np.arange(0, 140)


def _values(schedule, steps=STEPS):
    steps = np.asarray(steps, "float32")
    if isinstance(schedule, UBA):
        # Element-wise in the step: one call.
        return np.asarray(keras.ops.convert_to_numpy(schedule(steps)),
                          "float64").reshape(steps.shape)
    # Keras' warm-up schedules branch with `ops.cond`: a call per step.
    return np.array([float(keras.ops.convert_to_numpy(schedule(s)))
                     for s in steps])


@pytest.mark.parametrize("warmup", [0, 10])
def test_phi_2_is_keras_cosine_decay(warmup):
    peak, low = 3e-3, 3e-5
    uba = UBA(peak, 100, phi=2.0, min_learning_rate=low, warmup_steps=warmup)
    if warmup:
        cosine = keras.optimizers.schedules.CosineDecay(
            0.0, 100, alpha=low / peak, warmup_target=peak,
            warmup_steps=warmup)
    else:
        cosine = keras.optimizers.schedules.CosineDecay(peak, 100,
                                                        alpha=low / peak)
    np.testing.assert_allclose(_values(uba), _values(cosine), rtol=0,
                               atol=1e-7)


def test_closed_form_and_shape_in_phi():
    t = np.array([0, 10, 25, 50, 75, 90, 100, 120])
    prev = None
    for phi in (0.5, 1.0, 2.0, 4.0, 8.0):
        got = _values(UBA(1.0, 100, phi=phi), t)
        u = 1 + np.cos(np.pi * np.minimum(t, 100) / 100)
        want = 2 * u / (2 * phi + (2 - phi) * u)
        np.testing.assert_allclose(got, want, atol=1e-6)
        assert got[0] == pytest.approx(1.0) and got[-1] == pytest.approx(0.0)
        # Monotone decay for every phi.
        assert np.all(np.diff(got) <= 1e-7)
        # Larger phi decays faster at every interior step.
        if prev is not None:
            assert np.all(got[1:-2] < prev[1:-2])
        prev = got


def test_warmup_is_linear_from_the_initial_rate():
    uba = UBA(1e-2, 50, phi=4.0, warmup_steps=10, initial_learning_rate=1e-3)
    np.testing.assert_allclose(_values(uba, [0, 5, 10]),
                               [1e-3, 5.5e-3, 1e-2], rtol=1e-6)


def test_serialization_round_trip_and_optimizer_save(tmp_path):
    uba = UBA(1e-3, 100, phi=4.0, min_learning_rate=1e-5, warmup_steps=5)
    config = keras.optimizers.schedules.serialize(uba)
    assert config["registered_name"] == "hyperzoo>UBA"
    again = keras.optimizers.schedules.deserialize(config)
    np.testing.assert_array_equal(_values(again), _values(uba))
    phases = PhaseSchedule([uba, 1e-4], [50])
    again = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(phases))
    np.testing.assert_array_equal(_values(again), _values(phases))
    # A model trained with it saves and loads (schedule in the config).
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(phases), "mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    lr = loaded.optimizer._learning_rate
    assert isinstance(lr, PhaseSchedule)
    np.testing.assert_array_equal(_values(lr), _values(phases))


def test_phases_restart_the_step_counter():
    first = UBA(1e-3, 40, phi=4.0)
    second = UBA(5e-4, 60, phi=0.5)
    schedule = PhaseSchedule([first, second], [40])
    got = _values(schedule, np.arange(100))
    # Equal up to float32 rounding (one call vs a call per phase;
    # 1 + cos cancels near the end of a phase: 1e-9 absolute).
    np.testing.assert_allclose(got[:40], _values(first, np.arange(40)),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got[40:], _values(second, np.arange(60)),
                               rtol=1e-6, atol=1e-9)
    # The second phase starts at its own peak, not at its step 40.
    assert got[40] == pytest.approx(5e-4, rel=1e-6)


def test_fit_follows_the_schedule():
    # The optimizer reads the rate at its own iteration counter, inside
    # the compiled train step of the backend.
    schedule = UBA(0.1, 10, phi=8.0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedule), "mse", jit_compile="auto")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), batch_size=2, epochs=1,
              verbose=0)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 4
    assert float(keras.ops.convert_to_numpy(
        model.optimizer.learning_rate)) == pytest.approx(
            float(_values(schedule, [4])[0]), rel=1e-6)


@pytest.mark.parametrize("kind", schedules.SCHEDULES)
def test_make_schedule_peak_and_end(kind):
    s = make_schedule(kind, 1e-3, 100, warmup_steps=10,
                      min_learning_rate=1e-5, phi=4.0)
    values = _values(s, np.arange(0, 151))
    assert values.max() == pytest.approx(1e-3, rel=1e-5)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    after = values[100:]
    if kind == "constant":
        np.testing.assert_allclose(after, 1e-3, rtol=1e-6)
    elif kind == "step":
        np.testing.assert_allclose(after, 1e-5, rtol=1e-5)
    elif kind == "onecycle":
        assert after.max() < 1e-8
    else:
        np.testing.assert_allclose(after, 1e-5, rtol=1e-4)
    again = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(s))
    np.testing.assert_array_equal(_values(again, [0, 37, 99]),
                                  values[[0, 37, 99]])


@pytest.mark.parametrize("kwargs, match", [
    (dict(phi=0.0), "`phi` must be > 0"),
    (dict(phi=float("nan")), "`phi` must be finite"),
    (dict(decay_steps=0), "`decay_steps` must be an integer >= 1"),
    (dict(min_learning_rate=1.0), "`min_learning_rate` must be <="),
    (dict(warmup_steps=-1), "`warmup_steps` must be an integer >= 0"),
    (dict(peak_learning_rate="1e-3"), "`peak_learning_rate` must be a"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    args = dict(peak_learning_rate=1e-3, decay_steps=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        UBA(**args)


def test_make_schedule_bad_arguments():
    with pytest.raises(ValueError, match="`kind` \\(--schedule\\) must be"):
        make_schedule("exp", 1e-3, 10)
    with pytest.raises(ValueError, match="`warmup_steps` must be <"):
        make_schedule("uba", 1e-3, 10, warmup_steps=10)
    with pytest.raises(ValueError, match="`phase_steps` must hold"):
        PhaseSchedule([UBA(1e-3, 5)], [3])
