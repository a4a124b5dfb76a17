"""The `digits_cnn_hesso` recipe's pieces on a tiny digits CNN.

Trains a `(4, 6)`-filter dense CNN for one epoch, fine-tunes a CNN for
two epochs on 64 digits with the recipe's HESSO settings, rebuilds the
subnet and evaluates it. Timing is only checked to be a positive float,
never against a threshold.
"""

import keras
import numpy as np
import pytest

import zoo
from zoo.data import load_digits
from zoo.pruning import hesso_training
from zoo.pruning.hesso import zero_groups
from zoo.pruning.hesso_training import batch1_latencies
from zoo.pruning.hesso_training import batch1_latency_ratio
from zoo.pruning.hesso_training import digits_cnn_macs
from zoo.pruning.hesso_training import evaluate_digits_cnn_hesso
from zoo.pruning.hesso_training import hesso_finetune
from zoo.pruning.hesso_training import hesso_schedule
from zoo.pruning.hesso_training import train_dense_digits_cnn
from zoo.pruning.subnet import build_subnet
from zoo.training import read_log


def _cnn_params(f0, f1):
    """Parameters of the digits CNN with filters (f0, f1), 10 classes."""
    return 13 * f0 + 9 * f0 * f1 + 14 * f1 + 10


def _tiny_cnn(filters=(4, 6), seed=0):
    keras.utils.set_random_seed(seed)
    backbone = zoo.DigitsCNNBackbone(filters=filters, seed=seed)
    return zoo.DigitsCNNClassifier(backbone, num_classes=10)


def test_hesso_schedule():
    # The recipe: 40 epochs of ceil(1077 / 64) = 17 updates.
    assert hesso_schedule(40, 17) == {
        "start_pruning_step": 68, "pruning_steps": 272,
        "pruning_periods": 5}
    assert hesso_schedule(2, 4) == {
        "start_pruning_step": 0, "pruning_steps": 4,
        "pruning_periods": 4}
    assert hesso_schedule(1, 3)["pruning_steps"] == 1


def test_digits_cnn_macs():
    # 8x8 x 9 x 1 x 4 + 4x4 x 9 x 4 x 6 + 6 x 10.
    assert digits_cnn_macs(_tiny_cnn()) == 2304 + 3456 + 60
    assert digits_cnn_macs(_tiny_cnn((32, 64))) == 313984


def test_finetune_subnet_and_evaluate(tmp_path):
    x, y = load_digits("train", layout="image")
    x, y = x[:64], y[:64]
    model = _tiny_cnn()
    groups = hesso_finetune(model, x, y, epochs=2, out_dir=str(tmp_path),
                            target_group_sparsity=0.5, batch_size=16)
    # 10 channels, target int(10 * 0.5) = 5, all in the first epoch.
    zero = zero_groups(groups)
    assert sum(int(z.sum()) for z in zero) == 5
    assert all(not z.all() for z in zero)
    small = build_subnet(model, groups)
    small.compile()
    f0, f1 = small.backbone.filters
    assert (4 - f0) + (6 - f1) == 5
    assert small.count_params() == _cnn_params(f0, f1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(small(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)), atol=1e-5)
    metrics = evaluate_digits_cnn_hesso(small, "val", dense_filters=(4, 6),
                                        repeats=2, calls=2)
    assert set(metrics) == {"accuracy", "parameters", "dense_parameters",
                            "filters", "macs", "dense_macs", "speedup_cpu",
                            "speedup_cpu_predict_on_batch"}
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["parameters"] == _cnn_params(f0, f1)
    assert metrics["dense_parameters"] == _cnn_params(4, 6) == 362
    assert metrics["filters"] == [f0, f1]
    assert metrics["macs"] == 576 * f0 + 144 * f0 * f1 + 10 * f1
    assert metrics["dense_macs"] == 5820
    for key in ("speedup_cpu", "speedup_cpu_predict_on_batch"):
        assert isinstance(metrics[key], float) and metrics[key] > 0.0


def test_recipe_constants():
    # The dense reference: conv 128 - conv 256, 300,170 parameters.
    assert hesso_training.DENSE_FILTERS == (128, 256)
    assert _cnn_params(128, 256) == 300170
    assert 0.0 < hesso_training.HESSO_TARGET_GROUP_SPARSITY < 1.0


def test_batch1_latencies_modes():
    x, _ = load_digits("val", layout="image")
    dense, small = _tiny_cnn((4, 6)), _tiny_cnn((2, 3), seed=1)
    for mode in ("compiled", "predict_on_batch"):
        times = batch1_latencies(dense, small, x[:1], repeats=2, calls=2,
                                 mode=mode)
        assert len(times) == 2
        assert all(isinstance(t, float) and t > 0.0 for t in times)
        ratio = batch1_latency_ratio(dense, small, x[:1], repeats=2,
                                     calls=2, mode=mode)
        assert isinstance(ratio, float) and ratio > 0.0
    with pytest.raises(ValueError, match="compiled"):
        batch1_latencies(dense, small, x[:1], mode="eager")


def test_train_dense_digits_cnn_resumes(tmp_path):
    model = train_dense_digits_cnn(str(tmp_path), epochs=1, filters=(4, 6),
                                   seed=0)
    assert model.backbone.filters == (4, 6)
    assert model.count_params() == _cnn_params(4, 6)
    rows = read_log(str(tmp_path / "log.csv"))
    assert [int(r["epoch"]) for r in rows] == [0]
    # A finished run is restored from its checkpoint, not trained again.
    again = train_dense_digits_cnn(str(tmp_path), epochs=1,
                                   filters=(4, 6), seed=0)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(read_log(str(tmp_path / "log.csv"))) == 1


def test_merge_logs(tmp_path):
    for phase, epochs in (("dense", 2), ("hesso", 1)):
        (tmp_path / phase).mkdir()
        lines = ["epoch,loss"] + [f"{e},{e + 0.5}" for e in range(epochs)]
        (tmp_path / phase / "log.csv").write_text("\n".join(lines) + "\n")
    hesso_training._merge_logs(str(tmp_path), ("dense", "hesso"))
    rows = read_log(str(tmp_path / "log.csv"))
    assert [(r["epoch"], r["phase"], r["phase_epoch"], r["loss"])
            for r in rows] == [("0", "dense", "0", "0.5"),
                               ("1", "dense", "1", "1.5"),
                               ("2", "hesso", "0", "0.5")]
