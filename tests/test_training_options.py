"""TrainOptions: LR-batch scaling, schedules re-timed in fit_resumable,
the `zoo train` flags, resumption checks and refusals."""

import json
import math
import os

import keras
import numpy as np
import pytest

import zoo
from zoo import cli
from zoo import schedules
from zoo import training
from zoo.training import TrainOptions
from zoo.training import scale_learning_rate


def test_scaling_rules_are_exact():
    assert scale_learning_rate(0.1, 512, 128, rule="linear") == \
        pytest.approx(0.4, rel=1e-15)
    assert scale_learning_rate(1e-3, 256, 64, rule="sqrt") == \
        pytest.approx(2e-3, rel=1e-15)
    assert scale_learning_rate(1e-3, 16, 64, rule="sqrt") == \
        pytest.approx(5e-4, rel=1e-15)
    assert scale_learning_rate(3e-4, 64, 64, rule="linear") == 3e-4


def test_auto_rule_follows_the_optimizer_class():
    sgd = keras.optimizers.SGD(0.1, momentum=0.9)
    assert scale_learning_rate(0.1, 64, 32, optimizer=sgd) == \
        pytest.approx(0.2)
    for opt in (keras.optimizers.Adam(), keras.optimizers.AdamW(),
                "Nadam", keras.optimizers.Adamax):
        assert scale_learning_rate(1.0, 400, 100, optimizer=opt) == \
            pytest.approx(2.0)
    # Through wrappers (loss scaling) and by extrapolation (Kar3).
    wrapped = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())
    assert scale_learning_rate(1.0, 64, 32, optimizer=wrapped) == 2.0
    assert scale_learning_rate(1.0, 64, 16, optimizer=zoo.optimizers.Kar3()
                               ) == pytest.approx(2.0)
    assert training._optimizer_rule(zoo.optimizers.Kar3()) == (
        "sqrt", "extrapolated")
    assert training._optimizer_rule(keras.optimizers.SGD()) == (
        "linear", "paper")


def test_scaling_bad_input_and_critical_batch_warning():
    with pytest.raises(ValueError, match="`batch` must be a positive"):
        scale_learning_rate(1e-3, 0, 32, rule="sqrt")
    with pytest.raises(ValueError, match="`lr` must be a positive"):
        scale_learning_rate(-1.0, 64, 32, rule="sqrt")
    with pytest.raises(ValueError, match="`rule` must be one of"):
        scale_learning_rate(1e-3, 64, 32, rule="cubic")
    with pytest.raises(ValueError, match="needs the `optimizer`"):
        scale_learning_rate(1e-3, 64, 32)

    class Custom(keras.optimizers.Optimizer):
        pass

    with pytest.raises(ValueError, match="does not know the optimizer "
                                         "'Custom'"):
        scale_learning_rate(1e-3, 64, 32, optimizer=Custom(1e-3))
    with pytest.warns(UserWarning, match="above the critical batch size"):
        scale_learning_rate(1e-3, 512, 32, rule="sqrt", critical_batch=256)


@pytest.mark.parametrize("kwargs, match", [
    (dict(schedule="exp"), "`schedule` \\(--schedule\\) must be one of"),
    (dict(schedule="uba", phi=0), "`phi` \\(--phi\\) must be a positive"),
    (dict(phi=4.0), "only applies to schedule='uba'"),
    (dict(batch_size=0), "`batch_size` must be a positive integer"),
    (dict(auto_scale_lr=True), "needs a `batch_size`"),
    (dict(lr_rule="cubic"), "`lr_rule` \\(--lr-rule\\) must be one of"),
])
def test_train_options_refuse_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainOptions(**kwargs)


def test_cli_choices_match_the_library():
    assert cli.SCHEDULES == schedules.SCHEDULES
    assert cli.LR_RULES == training.LR_RULES
    assert cli.PRECISIONS == training.PRECISIONS


def _tiny():
    spec = zoo.get_model_spec("hyper_mlp_classifier")
    x, y = spec.example_batch(40, 0)
    return spec, x, y


def _lr_at(model, step):
    opt = training._unwrap_optimizer(model.optimizer)
    lr = opt._learning_rate
    return float(keras.ops.convert_to_numpy(lr(step)))


def test_fit_resumable_retimes_a_cosine_schedule_for_a_new_batch(tmp_path):
    spec, x, y = _tiny()
    model = spec.build_tiny(0)
    # The recipe's schedule: 10 epochs of 5 steps (batch 8), 5 warm-up.
    model.compile(optimizer=keras.optimizers.Adam(
        keras.optimizers.schedules.CosineDecay(
            0.0, 45, alpha=0.1, warmup_target=1e-3, warmup_steps=5)))
    options = TrainOptions(schedule="uba", phi=4.0, batch_size=20,
                           auto_scale_lr=True)
    # 40 samples: the default critical batch is 40 // 8 = 5.
    with training.training_options(options) as run, pytest.warns(
            UserWarning, match="above the critical batch size 5"):
        history = training.fit_resumable(model, x, y, epochs=10,
                                         out_dir=str(tmp_path), batch_size=8,
                                         verbose=0)
    assert len(history.epoch) == 10
    (record,) = run.applied
    assert record["batch_size"] == 20 and record["base_batch_size"] == 8
    assert record["lr_rule"] == "sqrt" and record["steps"] == 20
    peak = 1e-3 * math.sqrt(20 / 8)
    assert record["peak_learning_rate"] == pytest.approx(peak)
    uba = training._unwrap_optimizer(model.optimizer)._learning_rate
    assert isinstance(uba, schedules.UBA)
    # Warm-up share kept (5 of 50 steps -> 2 of 20), final rate 10 %.
    assert uba.warmup_steps == 2 and uba.decay_steps == 18
    assert uba.min_learning_rate == pytest.approx(0.1 * peak)
    assert uba.phi == 4.0
    assert int(keras.ops.convert_to_numpy(
        model.optimizer.iterations)) == 20


def test_fit_resumable_without_options_changes_nothing(tmp_path):
    spec, x, y = _tiny()
    model = spec.build_tiny(0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    with training.training_options(None) as run:
        training.fit_resumable(model, x, y, epochs=1, out_dir=str(tmp_path),
                               batch_size=8, verbose=0)
    assert run.applied == [{"batch_size": 8}]
    lr = training._unwrap_optimizer(model.optimizer)._learning_rate
    assert isinstance(lr, keras.Variable)
    assert float(keras.ops.convert_to_numpy(lr)) == pytest.approx(1e-3)


def test_constant_rate_scaled_in_place(tmp_path):
    spec, x, y = _tiny()
    model = spec.build_tiny(0)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    options = TrainOptions(batch_size=16, auto_scale_lr=True,
                           critical_batch=16)
    with training.training_options(options):
        training.fit_resumable(model, x, y, epochs=1, out_dir=str(tmp_path),
                               batch_size=8, verbose=0)
    lr = training._unwrap_optimizer(model.optimizer)._learning_rate
    assert float(keras.ops.convert_to_numpy(lr)) == pytest.approx(0.02)


def test_train_records_options_and_refuses_to_resume_other_ones(tmp_path):
    out = str(tmp_path / "run")
    options = TrainOptions(schedule="uba", phi=8.0, batch_size=64,
                           auto_scale_lr=True)
    preset, _ = training.train("hyper_mlp_digits", out, epochs=1,
                               verbose=0, options=options)
    meta = json.load(open(os.path.join(preset, "metadata.json")))
    opts = meta["training_options"]
    assert opts["schedule"] == "uba" and opts["phi"] == 8.0
    (applied,) = opts["applied"]
    # hyper_mlp_digits: Adam 1e-3 at batch 32; 1077 training images.
    assert applied["base_batch_size"] == 32
    assert applied["peak_learning_rate"] == pytest.approx(
        1e-3 * math.sqrt(2))
    assert applied["steps"] == math.ceil(1077 / 64)
    assert applied["critical_batch"] == int(1077 * 0.125)
    with open(os.path.join(out, "run.json")) as f:
        assert json.load(f)["options"]["phi"] == 8.0
    with pytest.raises(ValueError, match="options"):
        training.train("hyper_mlp_digits", out, epochs=2, verbose=0,
                       preset_name="again",
                       options=TrainOptions(schedule="uba", phi=4.0))


def test_recipes_with_their_own_loops_refuse_options(tmp_path):
    with pytest.raises(ValueError, match="takes no training options"):
        training.train("token_exit_vlm_digits", str(tmp_path), epochs=1,
                       options=TrainOptions(batch_size=8))
    with pytest.raises(ValueError, match="cannot train with"):
        training.train("hyper_cl_permuted_digits", str(tmp_path), epochs=1,
                       precision="dfp_int16")

    def own_loop(epochs, out_dir, seed, verbose):
        raise AssertionError("not reached")  # pragma: no cover

    def plain_fit(epochs, out_dir, seed, verbose):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("adam", "mse")
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)
        return model, {}, {}

    with pytest.raises(ValueError, match="did not train through"):
        training.run_recipe("plain", plain_fit, str(tmp_path / "p"),
                            options=TrainOptions(schedule="uba"))
    assert not os.path.exists(str(tmp_path / "p" / "preset"))


def test_cli_flags_reach_the_recipe(tmp_path, capsys):
    code = cli.main(["train", "hyper_mlp_digits", "--epochs", "1",
                     "--schedule", "onecycle", "--batch-size", "128",
                     "--auto-scale-lr", "--lr-rule", "linear", "--quiet",
                     "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    preset = json.loads(capsys.readouterr().out.strip().splitlines()[-1])[
        "preset"]
    meta = zoo.read_metadata(preset)
    (applied,) = meta["training_options"]["applied"]
    assert applied["kind"] == "onecycle" and applied["lr_rule"] == "linear"
    assert applied["peak_learning_rate"] == pytest.approx(4e-3)
    assert "--schedule onecycle" in meta["training_command"]
    # Bad flags: one line naming the option, no traceback.
    code = cli.main(["train", "hyper_mlp_digits", "--phi", "3", "--out",
                     str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: `phi` (--phi) only applies")
    code = cli.main(["train", "token_exit_vlm_digits", "--batch-size", "8",
                     "--out", str(tmp_path / "c")])
    assert code == 2 and "takes no" in capsys.readouterr().err


def test_every_option_composes_and_resumes(tmp_path, monkeypatch):
    # The example, on a fast recipe: UBA, DFP INT16, energy,
    # another batch with the rate rescaled; then a resumed second run.
    from zoo import dfp_training

    out = str(tmp_path / "run")
    options = TrainOptions(schedule="uba", phi=4.0, batch_size=64,
                           auto_scale_lr=True, energy=True)
    disabled = []
    disable = dfp_training.disable_dfp

    def spy(model):
        before = len(dfp_training.dfp_layers(model))
        disable(model)
        disabled.append((before, len(dfp_training.dfp_layers(model))))

    monkeypatch.setattr(dfp_training, "disable_dfp", spy)
    preset, metrics = training.train(
        "hyper_mlp_digits", out, epochs=1, precision="dfp_int16",
        verbose=0, options=options, preset_name="one")
    assert metrics["accuracy"] > 0.1
    meta = zoo.read_metadata(preset)
    assert meta["precision"] == "dfp_int16"
    assert meta["training_options"]["energy"] is True
    (applied,) = meta["training_options"]["applied"]
    assert applied["kind"] == "uba" and applied["batch_size"] == 64
    rows = training.read_log(os.path.join(out, "log.csv"))
    assert len(rows) == 1
    for key in ("energy_j", "power_w", "co2eq_g", "energy_source"):
        assert key in rows[0], key
    # The model trained in DFP (its layers switched) and was switched
    # back to float before the preset was saved.
    ((before, after),) = disabled
    assert before >= 3 and after == 0
    # Resuming with the same options continues to 2 epochs.
    training.train("hyper_mlp_digits", out, epochs=2, precision="dfp_int16",
                   verbose=0, options=options, preset_name="two")
    assert [int(r["epoch"]) for r in training.read_log(
        os.path.join(out, "log.csv"))] == [0, 1]
