"""The pruning presets' recipe pieces on a tiny Terminator (fast)."""

import keras
import numpy as np

from zoo.pruning import PruningOptimizer
from zoo.pruning import is_prunable
from zoo.pruning.pruning_presets import PRESETS
from zoo.pruning.pruning_presets import preset_config
from zoo.pruning.pruning_training import evaluate_pruned
from zoo.pruning.pruning_training import prune_and_finetune
from zoo.pruning.pruning_training import pruning_schedule
from zoo.pruning.pruning_training import recalibrate_statistics
from zoo.terminator import TerminatorBackbone
from zoo.terminator import TerminatorClassifier
from zoo.terminator.terminator_presets import load_data

NAME = "terminator_2d_digits_globalmp90"


def _tiny_digits_terminator():
    backbone = TerminatorBackbone(
        spatial_shape=(8, 8), hidden_dims=(4,), local_kernel_sizes=(3,),
        slow_hidden_dim=4, slow_num_layers=1, local_hidden_dim=3,
        interact_hidden_dim=3, omega_0=1.0, num_groups=2, seed=0)
    return TerminatorClassifier(backbone, num_classes=10)


def test_preset_entry_and_schedule():
    cfg = preset_config(NAME)
    assert set(PRESETS) == {NAME}
    assert cfg["base_preset"] == "terminator_2d_digits"
    assert cfg["sparsity"] == 0.9 and cfg["min_weights"] == 37
    # The preset is pruned one-shot: no schedule.
    assert cfg["end_epoch"] == 0
    assert pruning_schedule(cfg, cfg["epochs"], 20) is None
    gradual = dict(cfg, end_epoch=18, epochs=30)
    schedule = pruning_schedule(gradual, 30, 20)
    assert (schedule.end_step, schedule.frequency) == (360, 20)
    # The ramp ends on a pruning step at the final sparsity.
    should_prune, sparsity = schedule(360)
    assert bool(should_prune) and abs(float(sparsity) - 0.9) < 1e-6
    # A short budget keeps at least one pruning epoch.
    assert pruning_schedule(gradual, 1, 20).end_step == 20


def test_recalibrate_statistics_is_the_data_mean_and_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(40, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)),
                              keras.layers.BatchNormalization()])
    assert recalibrate_statistics(model, x, batch_size=40) == 2
    bn = model.layers[0]
    np.testing.assert_allclose(np.asarray(bn.moving_mean), x.mean(0),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), x.var(0),
                               rtol=1e-4)


def test_prune_and_finetune_contract(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = load_data("digits", "trainval", False)
    x, y = x[:32], y[:32]
    cfg = dict(preset_config(NAME), min_weights=0, batch_size=16,
               epochs=2, end_epoch=1)
    model = _tiny_digits_terminator()
    model, schedule = prune_and_finetune(model, x, y, cfg, 2,
                                         str(tmp_path), verbose=0)
    assert (schedule.end_step, schedule.frequency) == (2, 2)
    # Stripped: a plain optimizer that has trained.
    assert not isinstance(model.optimizer, PruningOptimizer)
    assert int(model.optimizer.iterations) == 4
    assert (tmp_path / "log.csv").is_file()
    # Exactly the convention's count: n - round(n * (1 - s)) zeros.
    n = sum(int(np.prod(v.shape)) for v in model.trainable_variables
            if is_prunable(v))
    metrics, report = evaluate_pruned(model, "digits", split="val")
    assert report["prunable_parameters"] == n
    assert report["zero_parameters"] == n - round(n * 0.1)
    assert metrics["sparsity"] == report["sparsity"]
    assert {"accuracy", "accuracy_batch100", "sparsity",
            "parameters"} <= set(metrics)
    # The moving statistics were recalibrated: finite everywhere.
    for v in model.non_trainable_variables:
        assert np.isfinite(np.asarray(v)).all(), v.path


def test_one_shot_recipe_keeps_the_initial_magnitude_masks(tmp_path):
    from zoo.pruning import magnitude_masks

    keras.utils.set_random_seed(0)
    x, y = load_data("digits", "trainval", False)
    x, y = x[:32], y[:32]
    cfg = dict(preset_config(NAME), min_weights=2, batch_size=16,
               epochs=2)
    model = _tiny_digits_terminator()
    kernels = [np.asarray(v) for v in model.trainable_variables
               if is_prunable(v)]
    expected = magnitude_masks(kernels, 0.9, "global", 2)
    model, schedule = prune_and_finetune(model, x, y, cfg, 2,
                                         str(tmp_path), verbose=0)
    assert schedule is None
    assert int(model.optimizer.iterations) == 4
    # The masks of the trained network's first step, fixed through the
    # fine-tuning: kept weights may move, pruned ones stay zero.
    after = [np.asarray(v) for v in model.trainable_variables
             if is_prunable(v)]
    for mask, kernel in zip(expected, after):
        mask = np.asarray(mask).astype(bool)
        assert np.all(kernel[~mask] == 0)
        assert np.count_nonzero(kernel[mask]) == mask.sum()
