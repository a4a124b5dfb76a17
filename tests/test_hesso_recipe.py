"""The `digits_cnn_hesso` recipe's pieces on a tiny digits CNN.

Fine-tunes a `(4, 6)`-filter CNN for two epochs on 64 digits with the
recipe's HESSO settings, rebuilds the subnet and evaluates it. Timing is
only checked to be a positive float, never against a threshold.
"""

import keras
import numpy as np

import zoo
from zoo.data import load_digits
from zoo.pruning.hesso import zero_groups
from zoo.pruning.hesso_training import digits_cnn_macs
from zoo.pruning.hesso_training import evaluate_digits_cnn_hesso
from zoo.pruning.hesso_training import hesso_finetune
from zoo.pruning.hesso_training import hesso_schedule
from zoo.pruning.subnet import build_subnet


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
                            batch_size=16)
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
                            "filters", "macs", "dense_macs", "speedup_cpu"}
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["parameters"] == _cnn_params(f0, f1)
    assert metrics["dense_parameters"] == _cnn_params(4, 6) == 362
    assert metrics["filters"] == [f0, f1]
    assert metrics["macs"] == 576 * f0 + 144 * f0 * f1 + 10 * f1
    assert metrics["dense_macs"] == 5820
    assert isinstance(metrics["speedup_cpu"], float)
    assert metrics["speedup_cpu"] > 0.0
