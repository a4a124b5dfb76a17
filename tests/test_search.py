"""`zoo.search`: PyGlove recipe search, CSV rows, resumption, limits.

Tiny searches over `hyper_mlp_digits` (1 epoch, at most two trials
trained, a space of four points) on the current backend; the Terminator and
RHN recipes are checked without training (parameter counts of the
empty config and rejection before training).
"""

import argparse
import csv
import json
import os

import keras
import pyglove as pg
import pytest

from zoo import schedules
from zoo import search as zsearch

PRESET = "hyper_mlp_digits"


def _tiny_space():
    return pg.Dict(hidden_dims=pg.oneof([[8], [12]]),
                   learning_rate=pg.oneof([1e-3, 1e-2]))


def _csv(out_dir):
    with open(os.path.join(out_dir, "trials.csv"), newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def counted(monkeypatch):
    """Counts the trials `search` trains or checks (evaluate_config)."""
    calls = []
    real = zsearch.evaluate_config

    def evaluate(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(zsearch, "evaluate_config", evaluate)
    return calls


def test_rows_and_resumption(tmp_path, counted):
    out = str(tmp_path / "s")
    zsearch.search(PRESET, _tiny_space(), 1, out, epochs=1)
    rows = _csv(out)
    assert len(rows) == 1 and len(counted) == 1
    # A larger budget replays the row and runs one more trial.
    result = zsearch.search(PRESET, _tiny_space(), 2, out, epochs=1)
    rows2 = _csv(out)
    assert len(counted) == 2
    assert rows2[:1] == rows
    assert [r["trial"] for r in rows2] == ["0", "1"]
    assert tuple(rows2[0]) == zsearch.CSV_COLUMNS
    for row in rows2:
        assert row["status"] == "ok"
        assert row["metric"] == "val_accuracy"
        assert 0.0 <= float(row["value"]) <= 1.0
        assert float(row["reward"]) == float(row["value"])
        assert int(row["params"]) > 0 and float(row["seconds"]) > 0
        assert row["epochs"] == "1" and row["algorithm"] == "evolution"
        assert row["backend"] == keras.backend.backend()
    # Distinct configs (deduplicated), JSON of the overrides.
    assert rows2[0]["config"] != rows2[1]["config"]
    assert set(json.loads(rows2[0]["config"])) == {"hidden_dims",
                                                   "learning_rate"}
    assert len(result["trials"]) == 2
    assert result["best"]["value"] == max(r["value"] for r in rows2)
    # Nothing left to do: no trial runs.
    zsearch.search(PRESET, _tiny_space(), 2, out, epochs=1)
    assert len(counted) == 2 and len(_csv(out)) == 2


def test_random_search_and_space_exhaustion(tmp_path, counted):
    out = str(tmp_path / "r")
    result = zsearch.search(PRESET, _tiny_space(), 6, out,
                            algorithm="random", seed=3, epochs=1,
                            max_params=1)
    # Four points in the space: deduplicated proposals stop at four; all
    # over the limit, so none is trained.
    rows = _csv(out)
    assert len(rows) == 4 and len(counted) == 4
    assert {r["status"] for r in rows} == {"rejected"}
    assert {r["reward"] for r in rows} == {repr(zsearch.FAILED_REWARD)}
    assert {r["value"] for r in rows} == {""}
    assert result["best"] is None
    assert not any(
        os.path.exists(os.path.join(out, "trials", str(i), "log.csv"))
        for i in range(4)
    )


def test_constraint_rejects_before_training(tmp_path):
    params = {}
    for hidden in (8, 12):
        result = zsearch.evaluate_config(
            PRESET, {"hidden_dims": [hidden]}, epochs=1, max_params=1,
            out_dir=str(tmp_path / str(hidden)))
        assert result["status"] == "rejected" and result["value"] is None
        params[hidden] = result["params"]
    assert params[8] < params[12]
    assert not os.path.exists(tmp_path / "8")


@pytest.mark.parametrize("preset,expected", [
    ("terminator_1d_mnist1d", 90843),
    ("rhn_attention_lorenz96", 55208),
])
def test_empty_config_is_the_bundled_recipe(preset, expected):
    # Same architecture as the bundled preset (its parameter count); a
    # limit below it rejects without training.
    result = zsearch.evaluate_config(preset, {}, max_params=1)
    assert result["params"] == expected
    assert result["status"] == "rejected"


def test_named_spaces_materialise():
    for name, (preset, make) in zsearch.SPACES.items():
        space = make()
        assert not pg.is_deterministic(space)
        example = next(iter(pg.random_sample(space, 1, seed=0)))
        assert set(example.keys()) == set(space.keys())


@pytest.mark.parametrize("kwargs,name", [
    (dict(budget=0), "budget"),
    (dict(budget=1.5), "budget"),
    (dict(algorithm="grid"), "algorithm"),
    (dict(seed=-1), "seed"),
    (dict(max_params=0), "max_params"),
    (dict(epochs=0), "epochs"),
    (dict(space="nope"), "space"),
    (dict(space={"a": 1}), "space"),
    (dict(preset="nope"), "preset"),
    (dict(out_dir=""), "out_dir"),
])
def test_bad_arguments(tmp_path, kwargs, name):
    args = dict(preset=PRESET, space=_tiny_space(), budget=1,
                out_dir=str(tmp_path / "bad"))
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        zsearch.search(**args)


def test_resume_with_other_settings_fails(tmp_path):
    out = str(tmp_path / "s")
    zsearch.search(PRESET, _tiny_space(), 1, out, epochs=1, max_params=1)
    with pytest.raises(ValueError, match="`seed`"):
        zsearch.search(PRESET, _tiny_space(), 2, out, epochs=1,
                       max_params=1, seed=1)
    with pytest.raises(ValueError, match="`epochs`"):
        zsearch.search(PRESET, _tiny_space(), 2, out, epochs=2,
                       max_params=1)


def test_command_line(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    zsearch.add_parser(parser.add_subparsers(dest="command"))
    out = str(tmp_path / "cli")
    args = parser.parse_args([
        "search", PRESET, "--space", "hyper_mlp_digits", "--budget", "1",
        "--out", out, "--algorithm", "random", "--max-params", "1",
        "--epochs", "1", "--seed", "2"])
    assert zsearch.run_command(args) == 0
    assert "1 trial(s)" in capsys.readouterr().out
    assert len(_csv(out)) == 1
    args = parser.parse_args(["search", PRESET, "--space", "nope",
                              "--budget", "1", "--out", out])
    with pytest.raises(ValueError, match="`space`"):
        zsearch.run_command(args)


def test_recipe_overrides_reach_model_and_optimizer():
    from zoo.forecasting.forecasting_presets import build_forecaster
    from zoo.terminator.terminator_presets import build_terminator
    from zoo.terminator.terminator_presets import make_optimizer

    # Without a weight decay the optimizers are the presets' (none).
    assert make_optimizer("kar3", 1e-3, 100).weight_decay is None
    assert make_optimizer("kar3", 1e-3, 100,
                          weight_decay=1e-2).weight_decay == 1e-2
    assert make_optimizer("adam", 1e-3, 100,
                          weight_decay=1e-3).weight_decay == 1e-3
    model = build_terminator("terminator_1d_mnist1d", num_train=64,
                             hidden_dims=(8, 8), stem_channels=4,
                             local_kernel_sizes=(3, 5), weight_decay=1e-2,
                             learning_rate=3e-3)
    assert tuple(model.backbone.get_config()["hidden_dims"]) == (8, 8)
    assert model.optimizer.weight_decay == 1e-2
    model = build_forecaster("lorenz96", total_steps=10, units=8, depth=1,
                             num_heads=2, window=4, weight_decay=1e-3)
    assert model.optimizer.weight_decay == 1e-3
    model = build_forecaster("lorenz96", total_steps=10, units=8, depth=1,
                             num_heads=2, window=4)
    assert model.optimizer.weight_decay is None


def test_phi_trains_with_the_uba_schedule(monkeypatch):
    from zoo import training

    seen = []
    apply = training._apply_options

    def spy(model, run, x, epochs, batch_size):
        batch = apply(model, run, x, epochs, batch_size)
        seen.append(training._unwrap_optimizer(
            model.optimizer)._learning_rate)
        return batch

    monkeypatch.setattr(training, "_apply_options", spy)
    result = zsearch.evaluate_config(
        "hyper_mlp_digits", {"phi": 4.0, "hidden_dims": [16]}, epochs=1)
    assert result["status"] == "ok"
    (schedule,) = seen
    assert isinstance(schedule, schedules.UBA) and schedule.phi == 4.0
    # Without `phi` the recipe's own (constant) rate is kept.
    zsearch.evaluate_config("hyper_mlp_digits", {"hidden_dims": [16]},
                           epochs=1)
    assert not isinstance(seen[-1], schedules.UBA)
    assert "phi" in zsearch.SPACES["terminator_mnist1d_uba"][1]()
