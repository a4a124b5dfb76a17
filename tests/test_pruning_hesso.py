"""HESSO: group declarations, the optimizer's periods, `build_subnet`.

Runs on the current backend (one process per backend). Counts and the
decay factors are exact: an SGD step with learning rate 0 leaves the
weights untouched, so only HESSO's multiplications change them.
"""

import keras
import numpy as np
import pytest

import zoo
from tests.harness import EAGER_JIT
from tests.harness import JIT_BACKENDS
from tests.harness import build_under_policy
from zoo.pruning.hesso import HESSOOptimizer
from zoo.pruning.hesso import dense_unit_groups
from zoo.pruning.hesso import digits_cnn_groups
from zoo.pruning.hesso import group_size
from zoo.pruning.hesso import zero_groups
from zoo.pruning.subnet import build_subnet

BACKEND = keras.backend.backend()
JIT_MODES = sorted({EAGER_JIT, BACKEND in JIT_BACKENDS})


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _tiny_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    backbone = zoo.DigitsCNNBackbone(filters=(4, 6), seed=seed)
    return zoo.DigitsCNNClassifier(backbone, num_classes=10)


def _mlp(hidden="relu"):
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(4, hidden, name="d0"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(3, "tanh", name="d1"),
        keras.layers.Dense(2, name="out"),
    ])


def _cnn_params(f0, f1):
    """Parameters of the digits CNN with filters (f0, f1), 10 classes."""
    return 9 * f0 + 4 * f0 + 9 * f0 * f1 + 4 * f1 + 10 * f1 + 10


def _scale(value, axis, indices, factor):
    """Copy of `value` with slices `indices` along `axis` times factor."""
    value = np.array(value, copy=True)
    index = [slice(None)] * value.ndim
    index[axis] = list(indices)
    value[tuple(index)] *= factor
    return value


def _scale_groups(groups, chosen, factor):
    """Multiplies the trainable slices of groups `chosen[i]` of kind i."""
    for kind, indices in zip(groups, chosen):
        for variable, axis in kind:
            if variable.trainable:
                variable.assign(_scale(_np(variable), axis, indices, factor))


def _zero_counts(groups):
    return [int(z.sum()) for z in zero_groups(groups)]


# ----------------------------------------------------------------------
# Group declarations
# ----------------------------------------------------------------------
def test_digits_cnn_groups():
    model = _tiny_cnn()
    groups = digits_cnn_groups(model)
    assert [group_size(kind) for kind in groups] == [4, 6]
    assert [[(v.path.split("/")[-2:], a) for v, a in kind]
            for kind in groups] == [
        [(["conv_0", "kernel"], 3), (["bn_0", "gamma"], 0),
         (["bn_0", "beta"], 0), (["bn_0", "moving_mean"], 0),
         (["bn_0", "moving_variance"], 0), (["conv_1", "kernel"], 2)],
        [(["conv_1", "kernel"], 3), (["bn_1", "gamma"], 0),
         (["bn_1", "beta"], 0), (["bn_1", "moving_mean"], 0),
         (["bn_1", "moving_variance"], 0), (["predictions", "kernel"], 0)],
    ]
    with pytest.raises(ValueError, match="`model`"):
        digits_cnn_groups(_mlp())


def test_dense_unit_groups():
    model = _mlp()
    groups = dense_unit_groups(model)
    assert [group_size(kind) for kind in groups] == [4, 3]
    assert [[(v.path.split("/")[-2:], a) for v, a in kind]
            for kind in groups] == [
        [(["d0", "kernel"], 1), (["d0", "bias"], 0), (["d1", "kernel"], 0)],
        [(["d1", "kernel"], 1), (["d1", "bias"], 0), (["out", "kernel"], 0)],
    ]
    with pytest.raises(ValueError, match="`model`.*0 to"):
        dense_unit_groups(_mlp(hidden="sigmoid"))
    with_norm = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                                  keras.layers.BatchNormalization(),
                                  keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="`model`"):
        dense_unit_groups(with_norm)


# ----------------------------------------------------------------------
# The optimizer: periods, decay, pruned groups held at zero
# ----------------------------------------------------------------------
def test_linear_decay_selects_the_smallest_groups():
    model = _mlp()
    groups = dense_unit_groups(model)
    small = [[0, 2], [1]]
    _scale_groups(groups, small, 0.01)  # the smallest groups by far
    optimizer = HESSOOptimizer(keras.optimizers.SGD(0.0), groups,
                               target_group_sparsity=0.5,
                               start_pruning_step=1, pruning_steps=2)
    variables = model.trainable_variables
    zeros = [keras.ops.zeros(v.shape) for v in variables]
    initial = [_np(v).copy() for v in variables]
    optimizer.apply(zeros, variables)  # update 1: before pruning
    assert optimizer.target_num_groups == 3  # int(7 * 0.5)
    for v, w in zip(variables, initial):
        np.testing.assert_array_equal(_np(v), w)
    optimizer.apply(zeros, variables)  # update 2: t = 0, factor 1/2
    assert [_np(r).tolist() for r in optimizer.redundant_masks] == [
        [1, 0, 1, 0], [0, 1, 0]]
    expected = {id(v): w for v, w in zip(variables, initial)}
    for kind, indices in zip(groups, small):
        for variable, axis in kind:
            expected[id(variable)] = _scale(expected[id(variable)], axis,
                                            indices, 0.5)
    for v in variables:
        np.testing.assert_array_equal(_np(v), expected[id(v)])
    optimizer.apply(zeros, variables)  # update 3: t = 1, factor 0
    assert [z.tolist() for z in zero_groups(groups)] == [
        [True, False, True, False], [False, True, False]]
    assert [_np(k).tolist() for k in optimizer.kept_masks] == [
        [0, 1, 0, 1], [1, 0, 1]]
    assert [_np(r).sum() for r in optimizer.redundant_masks] == [0, 0]


@pytest.mark.parametrize("jit", JIT_MODES)
def test_fit_reaches_the_target_and_subnet_matches(jit):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (16, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, 16).astype("int32")
    model = _tiny_cnn()
    groups = digits_cnn_groups(model)
    optimizer = HESSOOptimizer(
        keras.optimizers.SGD(0.1, momentum=0.9), groups,
        target_group_sparsity=0.5, start_pruning_step=2, pruning_steps=4,
        pruning_periods=2)
    model.compile(optimizer=optimizer, loss=keras.losses.
                  SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit)
    counts, masks = [], []
    for _ in range(4):  # two updates per epoch
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        counts.append(sum(_zero_counts(groups)))
        masks.append([z.tolist() for z in zero_groups(groups)])
        kept = [_np(k) == 0 for k in optimizer.kept_masks]
        assert [k.tolist() for k in kept] == masks[-1]
    # 10 groups, target int(10 * 0.5) = 5: 2 in period 1, 3 in period 2,
    # then held at exactly zero by the momentum steps after it.
    assert counts == [0, 2, 5, 5]
    assert masks[3] == masks[2]
    small = build_subnet(model, groups)
    f0, f1 = small.backbone.filters
    assert (4 - f0) + (6 - f1) == 5 and f0 >= 1 and f1 >= 1
    assert small.count_params() == _cnn_params(f0, f1)
    np.testing.assert_allclose(_np(small(x, training=False)),
                               _np(model(x, training=False)), atol=1e-5)


# ----------------------------------------------------------------------
# build_subnet
# ----------------------------------------------------------------------
def test_build_subnet_digits_cnn():
    model = _tiny_cnn()
    rng = np.random.default_rng(1)
    for norm in model.backbone.norms:  # non-trivial inference-mode BN
        n = norm.gamma.shape[0]
        norm.moving_mean.assign(rng.normal(size=n).astype("float32"))
        norm.moving_variance.assign(
            rng.uniform(0.5, 2, n).astype("float32"))
        norm.beta.assign(rng.normal(size=n).astype("float32"))
    groups = digits_cnn_groups(model)
    _scale_groups(groups, [[1, 3], [0, 2, 5]], 0.0)
    small = build_subnet(model, groups)
    assert small.backbone.filters == (2, 3)
    assert model.count_params() == _cnn_params(4, 6) == 362
    assert small.count_params() == _cnn_params(2, 3) == 132
    x = rng.uniform(0, 1, (4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(_np(small(x, training=False)),
                               _np(model(x, training=False)), atol=1e-5)
    _scale_groups(groups, [[0, 2], []], 0.0)
    with pytest.raises(ValueError, match="keep a group"):
        build_subnet(model, groups)


def test_compiled_forward_of_the_subnet_matches_the_masked_model():
    # The forward the evaluator times (`zoo._inference_shim`) computes
    # the masked model's function with the compact one.
    from zoo._inference_shim import compiled_forward

    model = _tiny_cnn()
    groups = digits_cnn_groups(model)
    _scale_groups(groups, [[0], [1, 4]], 0.0)
    small = build_subnet(model, groups)
    assert small.backbone.filters == (3, 4)
    x = np.random.default_rng(2).uniform(0, 1, (1, 8, 8, 1)).astype(
        "float32")
    np.testing.assert_allclose(compiled_forward(small)(x),
                               _np(model(x, training=False)), atol=1e-5)


def test_build_subnet_mlp():
    model = _mlp()
    groups = dense_unit_groups(model)
    _scale_groups(groups, [[2], [0, 1]], 0.0)
    small = build_subnet(model, groups)
    assert [layer.units for layer in small.layers
            if isinstance(layer, keras.layers.Dense)] == [3, 1, 2]
    assert model.count_params() == 24 + 15 + 8
    assert small.count_params() == 18 + 4 + 4
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    np.testing.assert_allclose(_np(small(x, training=False)),
                               _np(model(x, training=False)), atol=1e-5)


# ----------------------------------------------------------------------
# Config and arguments
# ----------------------------------------------------------------------
def test_get_config_round_trip():
    model = _tiny_cnn()
    optimizer = HESSOOptimizer(
        keras.optimizers.Adam(1e-3), digits_cnn_groups(model),
        target_group_sparsity=0.7, start_pruning_step=3, pruning_steps=8,
        pruning_periods=4, importance={"magnitude": 1.0})
    config = optimizer.get_config()
    assert config["groups"][0][0] == [model.backbone.convs[0].kernel.path,
                                      3]
    clone = keras.optimizers.deserialize(
        keras.optimizers.serialize(optimizer))
    assert isinstance(clone, HESSOOptimizer)
    assert clone.get_config() == config
    assert clone.inner_optimizer.get_config() == \
        optimizer.inner_optimizer.get_config()
    clone.build(model.trainable_variables)
    assert clone.target_num_groups == 7  # int(10 * 0.7)


@pytest.mark.parametrize("kwargs, name", [
    ({"inner_optimizer": "sgd"}, "inner_optimizer"),
    ({"groups": []}, "groups"),
    ({"groups": [[("conv_0/kernel", 1.5)]]}, "groups"),
    ({"target_group_sparsity": 1.0}, "target_group_sparsity"),
    ({"target_group_sparsity": -0.1}, "target_group_sparsity"),
    ({"start_pruning_step": -1}, "start_pruning_step"),
    ({"pruning_steps": 0}, "pruning_steps"),
    ({"pruning_periods": 0}, "pruning_periods"),
    ({"pruning_steps": 2, "pruning_periods": 3}, "pruning_periods"),
    ({"importance": "l1"}, "importance"),
    ({"importance": {"magnitude": -1.0}}, "importance"),
    ({"learning_rate": 0.1}, "inner_optimizer"),
])
def test_bad_arguments_raise(kwargs, name):
    arguments = {"inner_optimizer": keras.optimizers.SGD(),
                 "groups": [[("conv_0/kernel", 3)]]}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=f"`{name}`"):
        HESSOOptimizer(**arguments)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_hesso_under_mixed_precision(policy, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (16, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, 16).astype("int32")
    model = build_under_policy(policy, _tiny_cnn)
    groups = digits_cnn_groups(model)
    model.compile(optimizer=HESSOOptimizer(
        keras.optimizers.Adam(1e-2), groups, target_group_sparsity=0.5,
        start_pruning_step=0, pruning_steps=4, pruning_periods=2))
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    for kind in groups:
        for variable, _ in kind:
            assert variable.dtype == "float32"
    assert sum(_zero_counts(groups)) == 5
    # A masked mixed-precision model saves and loads with its masks.
    path = str(tmp_path / "hesso.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(_np(restored(x, training=False)),
                               _np(model(x, training=False)), atol=1e-6)
