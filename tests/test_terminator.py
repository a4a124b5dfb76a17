"""HyperZ·Z·W operator, Terminator layers and models: behaviour checks.

The shared harness (`tests/cases.py`, registry entries) covers shapes,
serialisation, training steps, precision and goldens; these tests pin the
maths and the documented decisions. Unmarked tests are small and run on
every backend; `once` tests (the bundled presets) run once.
"""

import json

import keras
import numpy as np
import pytest

import layers
import zoo
from zoo.losses import SparseLabelSmoothingCrossentropy
from zoo.optimizers import Kar3


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ----------------------------------------------------------------------
# Global operator
# ----------------------------------------------------------------------
def test_global_1d_is_circular_or_causal_convolution():
    z, v = _rand(2, 7, 3), _rand(2, 7, 3, seed=1)
    circ = np.zeros_like(v)
    causal = np.zeros_like(v)
    for t in range(7):
        for s in range(7):
            circ[:, t] += z[:, s] * v[:, (t - s) % 7]
            if s <= t:
                causal[:, t] += z[:, s] * v[:, t - s]
    np.testing.assert_allclose(_np(layers.hyperzzw_global(z, v, 1)), circ,
                               atol=1e-5)
    np.testing.assert_allclose(
        _np(layers.hyperzzw_global(z, v, 1, "causal")), causal, atol=1e-5
    )


def test_global_2d_is_spatial_matrix_product():
    z, v = _rand(2, 4, 4, 3), _rand(2, 4, 4, 3, seed=1)
    expected = np.einsum("bhwc,bwvc->bhvc", z, v)
    np.testing.assert_allclose(_np(layers.hyperzzw_global(z, v, 2)),
                               expected, atol=1e-5)
    # Equal to (B, C, H, W) @ (B, C, H, W), the reference's layout.
    zc, vc = z.transpose(0, 3, 1, 2), v.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(
        expected, (zc @ vc).transpose(0, 2, 3, 1), atol=1e-5
    )


def test_causal_operator_ignores_the_future():
    op = layers.HyperZZW(rank=1, global_mode="causal")
    x, k = _rand(1, 10, 2), _rand(1, 10, 2, seed=1)
    changed = x.copy()
    changed[:, 6:] += 5.0
    a = _np(op(x, kernel=k, values=x))
    b = _np(op(changed, kernel=k, values=changed))
    np.testing.assert_allclose(a[:, :6], b[:, :6], atol=1e-5)
    assert np.abs(a[:, 6:] - b[:, 6:]).max() > 1e-2


def test_operator_rejects_bad_shapes():
    with pytest.raises(ValueError, match="height == width"):
        layers.HyperZZW(rank=2)(_rand(1, 4, 5, 2), kernel=_rand(1, 4, 5, 2))
    with pytest.raises(ValueError, match="kernel"):
        layers.HyperZZW(rank=1)(_rand(1, 6, 2), kernel=_rand(1, 5, 2))
    with pytest.raises(ValueError, match="global_mode"):
        layers.HyperZZW(rank=1, global_mode="linear")
    with pytest.raises(ValueError, match="rank"):
        layers.ImplicitKernel(2, rank=3)


# ----------------------------------------------------------------------
# Slow network, standardisation, gates
# ----------------------------------------------------------------------
def test_implicit_kernel_depends_on_the_grid_only():
    slow = layers.ImplicitKernel(3, rank=1, hidden_dim=8, seed=0)
    a = _np(slow(_rand(2, 12, 5)))
    b = _np(slow(_rand(2, 12, 5, seed=3) * 10))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[0], a[1])
    assert a.shape == (2, 12, 3)
    # Seeded frequencies: same seed, same init on this backend.
    again = layers.ImplicitKernel(3, rank=1, hidden_dim=8, seed=0)
    again.build((None, 12, 5))
    np.testing.assert_array_equal(_np(again.frequencies[1]),
                                  _np(slow.frequencies[1]))


def test_implicit_kernel_output_scaling():
    on = layers.ImplicitKernel(2, rank=2, hidden_dim=64, seed=0)
    off = layers.ImplicitKernel(2, rank=2, hidden_dim=64, seed=0,
                                output_scaling=False)
    on.build((None, 8, 8, 1))
    off.build((None, 8, 8, 1))
    ratio = _np(on.output_kernel) / _np(off.output_kernel)
    np.testing.assert_allclose(ratio, 1 / 8, rtol=1e-5)  # sqrt(1/64)


def test_group_standardization_reference_batch_statistics():
    x = _rand(6, 10, 4) * 3 + 1
    gibs = layers.GroupStandardization(num_groups=2, statistics="batch")
    y = _np(gibs(x))
    # Group 0 (channels 0-1): batch statistics.
    np.testing.assert_allclose(y[..., :2].mean(axis=(0, 1)), 0, atol=1e-5)
    np.testing.assert_allclose(y[..., :2].std(axis=(0, 1)), 1, atol=1e-3)
    # Group 1 (channels 2-3): per-sample statistics.
    np.testing.assert_allclose(y[..., 2:].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(y[..., 2:].std(axis=1), 1, atol=1e-3)
    # Documented: the reference's outputs depend on the rest of the batch.
    y_small = _np(gibs(x[:3]))
    assert np.abs(y_small[..., :2] - y[:3, :, :2]).max() > 1e-3
    np.testing.assert_allclose(y_small[..., 2:], y[:3, :, 2:], atol=1e-5)


def test_group_standardization_per_sample_groups():
    # Channels differ in offset and scale within each group.
    x = _rand(6, 10, 4) * np.array([1, 3, 2, 5]) + np.array([0, 2, -1, 4])
    y = _np(layers.GroupStandardization(num_groups=2,
                                        statistics="sample")(x))
    # Group 0 (channels 0-1): one mean and variance per sample over
    # space and both channels (group normalisation).
    g = y[..., :2].reshape(6, -1)
    np.testing.assert_allclose(g.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(g.std(axis=1), 1, atol=1e-3)
    # ... so the channels keep their relative offsets (not per channel).
    assert np.abs(y[..., :2].mean(axis=1)).max() > 0.1
    # Group 1: instance normalisation.
    np.testing.assert_allclose(y[..., 2:].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(y[..., 2:].std(axis=1), 1, atol=1e-3)
    # Every sample alone gives the same output.
    alone = np.concatenate([
        _np(layers.GroupStandardization(num_groups=2,
                                        statistics="sample")(x[i:i + 1]))
        for i in range(6)
    ])
    np.testing.assert_allclose(alone, y, atol=1e-5)


def test_group_standardization_running_statistics():
    x = _rand(16, 10, 4) * 3 + 1
    gibs = layers.GroupStandardization(num_groups=2, statistics="running")
    train = _np(gibs(x, training=True))
    np.testing.assert_allclose(train[..., :2].mean(axis=(0, 1)), 0,
                               atol=1e-5)
    names = sorted(w.path.split("/")[-1] for w in gibs.non_trainable_weights)
    assert names == ["moving_mean", "moving_variance"]
    # Inference: moving statistics, so each sample alone gives the same.
    full = _np(gibs(x, training=False))
    alone = np.concatenate([_np(gibs(x[i:i + 1], training=False))
                            for i in range(16)])
    np.testing.assert_allclose(alone, full, atol=1e-5)


def test_local_conv_running_context_is_a_moving_average():
    conv = layers.ContextLocalConv(3, rank=1, hidden_dim=4, seed=0)
    x = _rand(8, 9, 2)
    conv(x)
    moving = conv.moving_context
    assert not moving.trainable and tuple(moving.shape) == (3, 4)
    np.testing.assert_allclose(_np(moving), 0.0)
    # Training: the batch-mean context, and the average moves towards it.
    k_train = _np(conv.generate(x, training=True))
    assert k_train.shape == (1, 3, 2)
    pooled = np.einsum("kl,blc->bkc", conv._pools[0], x)
    batch_mean = _np(conv.reduce(pooled)).mean(axis=0)
    np.testing.assert_allclose(_np(moving), 0.01 * batch_mean, atol=1e-6)
    # Inference: one kernel from the moving average, whatever the batch.
    k = _np(conv.generate(x, training=False))
    np.testing.assert_allclose(_np(conv.generate(x[:1])), k, atol=1e-6)


def test_statistics_are_validated():
    for cls in (layers.GroupStandardization, layers.ContextLocalConv):
        with pytest.raises(ValueError, match="statistics"):
            cls(statistics="moving")


def test_group_standardization_needs_enough_channels():
    with pytest.raises(ValueError, match="num_groups"):
        layers.GroupStandardization(num_groups=4)(_rand(2, 5, 3))


def test_channel_gate_scales_channels_of_inputs_by_context_scores():
    gate = layers.HyperInteraction("channel", rank=1, hidden_dim=4, seed=0)
    x, ctx = np.abs(_rand(2, 6, 3)) + 0.1, _rand(2, 6, 3, seed=1)
    y = _np(gate(x, context=ctx))
    ratio = y / x
    # One factor per (sample, channel), in (0, 1).
    np.testing.assert_allclose(ratio, ratio[:, :1].repeat(6, 1), rtol=1e-5)
    assert np.all((ratio > 0) & (ratio < 1))


def test_local_conv_reference_kernel_is_shared_by_the_batch():
    conv = layers.ContextLocalConv(3, rank=1, hidden_dim=4,
                                   statistics="batch", seed=0)
    x = _rand(4, 9, 2)
    conv(x)
    k = _np(conv.generate(x))
    assert k.shape == (1, 3, 2)
    # Depends on the batch mean of the context only.
    flipped = x[::-1]
    np.testing.assert_allclose(_np(conv.generate(flipped)), k, atol=1e-5)
    assert np.abs(_np(conv.generate(x + 1.0)) - k).max() > 1e-4


def test_local_conv_kernel_per_sample():
    conv = layers.ContextLocalConv(3, rank=2, hidden_dim=4,
                                   statistics="sample", seed=0)
    x = _rand(4, 5, 5, 2)
    y = _np(conv(x))
    k = _np(conv.generate(x))
    assert k.shape == (4, 3, 3, 2)
    # Each sample's kernel comes from its own context.
    np.testing.assert_allclose(_np(conv.generate(x[2:3]))[0], k[2],
                               atol=1e-5)
    assert np.abs(k[0] - k[1]).max() > 1e-4
    alone = np.concatenate([_np(conv(x[i:i + 1])) for i in range(4)])
    np.testing.assert_allclose(alone, y, atol=1e-5)


@pytest.mark.parametrize("rank", [1, 2])
def test_per_sample_depthwise_conv_matches_depthwise_conv(rank):
    x = _rand(3, *((7,) * rank), 2)
    k = _rand(3, *((5,) * rank), 2, seed=1)
    y = _np(layers.per_sample_depthwise_conv(x, k))
    for i in range(3):
        ref = keras.ops.depthwise_conv(x[i:i + 1], k[i][..., None],
                                       padding="same")
        np.testing.assert_allclose(y[i:i + 1], _np(ref), atol=1e-5)


def test_context_local_conv_rejects_even_kernels():
    with pytest.raises(ValueError, match="odd"):
        layers.ContextLocalConv(4)


# ----------------------------------------------------------------------
# Block, backbone, classifier, loss, optimizer
# ----------------------------------------------------------------------
def _tiny_backbone(**kwargs):
    args = dict(spatial_shape=(10,), input_channels=2, hidden_dims=(4, 4),
                local_kernel_sizes=(3,), slow_hidden_dim=4,
                slow_num_layers=1, local_hidden_dim=3,
                interact_hidden_dim=3, num_groups=2, seed=0)
    args.update(kwargs)
    return zoo.TerminatorBackbone(**args)


def test_block_outputs_are_standardised_without_residual():
    block = layers.TerminatorBlock(6, rank=1, num_groups=2,
                                   local_kernel_sizes=(3,),
                                   statistics="batch", seed=0)
    y = _np(block(_rand(8, 10, 2)))
    assert y.shape == (8, 10, 6)
    # GELU of standardised values: per-channel mean near GELU's mean on
    # N(0, 1) (about 0.28) for the batch-standardised group.
    assert np.all(np.abs(y[..., :3].mean(axis=(0, 1)) - 0.28) < 0.1)


@pytest.mark.parametrize("statistics", ["sample", "running"])
@pytest.mark.parametrize("rank", [1, 2])
def test_block_prediction_does_not_depend_on_the_batch(rank, statistics):
    block = layers.TerminatorBlock(6, rank=rank, num_groups=2,
                                   local_kernel_sizes=(3,),
                                   statistics=statistics, seed=0)
    x = _rand(5, *((6,) * rank), 3)
    full = _np(block(x, training=False))
    alone = np.concatenate([_np(block(x[i:i + 1], training=False))
                            for i in range(5)])
    np.testing.assert_allclose(alone, full, atol=1e-5)
    # The reference's batch statistics do depend on it.
    ref = layers.TerminatorBlock(6, rank=rank, num_groups=2,
                                 local_kernel_sizes=(3,),
                                 statistics="batch", seed=0)
    full = _np(ref(x))
    assert np.abs(_np(ref(x[:1])) - full[:1]).max() > 1e-3


def test_block_has_no_parameter_before_a_standardisation():
    # Biases directly before a standardisation over the same axis, and a
    # 1x1 mixer on a single channel before an instance standardisation,
    # get a zero gradient in exact arithmetic: they are not created.
    block = layers.TerminatorBlock(4, rank=1, num_groups=2,
                                   local_kernel_sizes=(3,), seed=0)
    block(_rand(2, 6, 3))
    names = {w.path.split("/", 1)[1] for w in block.weights}
    for dead in ("bottleneck/bias", "mix/bias", "rgu_x/output/bias",
                 "rgu_z/output/bias", "local_conv_0/mixer/bias"):
        assert dead not in names, dead
    assert "rgu_x/key/bias" in names and "mix/kernel" in names
    single = layers.TerminatorBlock(4, rank=1, num_groups=2,
                                    local_kernel_sizes=(3,), seed=0)
    single(_rand(2, 6, 1))
    names = {w.path.split("/", 1)[1] for w in single.weights}
    assert "mix/kernel" not in names
    assert "local_conv_0/mixer/kernel" not in names


def test_stem_lifts_single_channel_inputs():
    backbone = _tiny_backbone(input_channels=1, stem_channels=3)
    assert backbone.blocks[0].rgu_x.mixers[0].kernel.shape == (3, 3)
    assert backbone.stem.kernel.shape == (1, 3)
    with pytest.raises(ValueError, match="stem_channels"):
        _tiny_backbone(stem_channels=0)


def test_ablation_switches_remove_branches():
    full = _tiny_backbone()
    no_global = _tiny_backbone(global_branch=False)
    no_local = _tiny_backbone(local_branches=False)
    names = [w.path for w in no_global.weights]
    assert not any("hyper_interaction" in n for n in names)
    assert not any("local_conv" in n for n in [w.path for w in
                                                 no_local.weights])
    # Bottleneck widths: (2 + 5 global + 1 local) branches x channels.
    assert full.blocks[0].bottleneck.kernel.shape[0] == 8 * 2
    assert no_global.blocks[0].bottleneck.kernel.shape[0] == 3 * 2
    assert no_local.blocks[0].bottleneck.kernel.shape[0] == 7 * 2


def test_backbone_rejects_bad_configs():
    with pytest.raises(ValueError, match="square"):
        zoo.TerminatorBackbone(spatial_shape=(8, 6))
    with pytest.raises(ValueError, match="num_concat_pre"):
        zoo.TerminatorBackbone(spatial_shape=(8,), hidden_dims=(4, 4),
                               num_concat_pre=(0, 1))
    with pytest.raises(ValueError, match="spatial_shape"):
        zoo.TerminatorBackbone(spatial_shape=(8, 8, 8))


def test_default_skip_pattern_matches_reference():
    bb = zoo.TerminatorBackbone(spatial_shape=(6,), hidden_dims=(4,) * 5,
                                local_kernel_sizes=(), slow_hidden_dim=4,
                                interact_hidden_dim=3, num_groups=2)
    assert bb.num_concat_pre == (0, 0, 1, 1, 2)
    # Block 4 concatenates blocks 2 and 1: 7 branches x 4 + 8.
    assert bb.blocks[4].bottleneck.kernel.shape[0] == 7 * 4 + 8


def test_slow_loss_is_pairwise_mse_of_channel_summed_kernels():
    bb = _tiny_backbone(hidden_dims=(4, 4, 4))
    ks = [_np(b.global_kernel())[0].sum(-1) for b in bb.blocks]
    expected = sum(np.mean((ks[j] - ks[i]) ** 2)
                   for i in range(3) for j in range(i))
    np.testing.assert_allclose(_np(bb.slow_loss()), expected, rtol=1e-5)


def test_classifier_adds_slow_loss_in_training_only():
    model = zoo.TerminatorClassifier(_tiny_backbone(), num_classes=3,
                                     slow_loss_weight=2.0)
    model.compile()
    x, y = _rand(6, 10, 2), np.arange(6) % 3
    pred = model(x)
    train = _np(model.compute_loss(x, y, pred, training=True))
    test = _np(model.compute_loss(x, y, pred, training=False))
    np.testing.assert_allclose(
        train - test, 2.0 * _np(model.backbone.slow_loss()), rtol=1e-4
    )


def test_flatten_pooling_reads_every_position_batch_independently():
    # pooling="flatten" (issue 22, shuffled MNIST-1D): a dense read-out
    # over positions instead of global average pooling.
    backbone = _tiny_backbone()
    model = zoo.TerminatorClassifier(backbone, num_classes=3,
                                     pooling="flatten", dropout=0.1)
    avg = zoo.TerminatorClassifier(_tiny_backbone(), num_classes=3)
    head = model.count_params() - backbone.count_params()
    assert head == 10 * 4 * 3 + 3
    assert avg.count_params() - avg.backbone.count_params() == 4 * 3 + 3
    x = _rand(4, 10, 2)
    full = _np(model.predict(x, verbose=0))
    alone = np.concatenate([_np(model.predict(x[i:i + 1], verbose=0))
                            for i in range(4)])
    np.testing.assert_allclose(alone, full, atol=1e-5)
    # Permuting the positions of the backbone's output changes the
    # prediction (average pooling would not see it).
    feats = _np(backbone(x))
    w = _np(model.get_layer("predictions").kernel)
    perm = feats[:, ::-1].reshape(4, -1) @ w
    plain = feats.reshape(4, -1) @ w
    assert np.abs(perm - plain).max() > 1e-4
    config = model.get_config()
    assert config["pooling"] == "flatten"
    assert "pooling" not in avg.get_config()  # old configs unchanged
    again = zoo.TerminatorClassifier.from_config(config)
    assert again.count_params() == model.count_params()
    with pytest.raises(ValueError, match="pooling"):
        zoo.TerminatorClassifier(_tiny_backbone(), num_classes=3,
                                 pooling="max")


def test_build_terminator_passes_classifier_options():
    from zoo.terminator.terminator_presets import build_terminator

    model = build_terminator("terminator_1d_mnist1d_shuffled",
                             num_train=100, hidden_dims=(8,),
                             stem_channels=4, local_kernel_sizes=(3,),
                             pooling="flatten", head_dropout=0.2,
                             mixup_alpha=0.2)
    assert model.get_config()["pooling"] == "flatten"
    assert model.dropout == 0.2
    assert model.mixup_alpha == 0.2
    assert model.output_shape == (None, 10)


def test_input_mixup_mixes_inputs_and_loss_in_training_only():
    # mixup_alpha (issue 22, shuffled MNIST-1D): opt-in, off by default.
    model = zoo.TerminatorClassifier(_tiny_backbone(), num_classes=3,
                                     slow_loss_weight=0.0, mixup_alpha=0.4,
                                     mixup_seed=1)
    model.compile()
    x, y = _rand(6, 10, 2), np.arange(6) % 3
    mixer = model.input_mixup
    np.testing.assert_allclose(_np(mixer(x)), x)  # identity at inference
    mixed = _np(mixer(x, training=True))
    perm, lam = (_np(t) for t in mixer.last_mix)
    assert sorted(perm.tolist()) == list(range(6)) and 0 <= lam <= 1
    np.testing.assert_allclose(mixed, lam * x + (1 - lam) * x[perm],
                               atol=1e-5)
    pred = model(x, training=True)
    perm, lam = (_np(t) for t in mixer.last_mix)
    loss = _np(model.compute_loss(x, y, pred, training=True))
    plain = _np(model.compute_loss(x, y, pred, training=False))
    other = _np(model.compute_loss(x, y[perm], pred, training=False))
    np.testing.assert_allclose(loss, lam * plain + (1 - lam) * other,
                               rtol=1e-4)
    model.fit(x, y, batch_size=3, epochs=1, verbose=0)  # the train step
    assert np.isfinite(_np(model.compute_loss(x, y, model(x))))
    config = model.get_config()
    assert config["mixup_alpha"] == 0.4
    again = zoo.TerminatorClassifier.from_config(config)
    assert again.count_params() == model.count_params()
    plain_model = zoo.TerminatorClassifier(_tiny_backbone(), num_classes=3)
    assert plain_model.input_mixup is None
    assert "mixup_alpha" not in plain_model.get_config()
    with pytest.raises(ValueError, match="mixup_alpha"):
        zoo.TerminatorClassifier(_tiny_backbone(), num_classes=3,
                                 mixup_alpha=-1.0)


def test_label_smoothing_crossentropy_formula():
    logits = _rand(5, 4)
    y = np.array([0, 1, 2, 3, 1])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    eps = 0.09
    expected = np.mean((1 - eps) * -log_p[np.arange(5), y]
                       + eps / 4 * -log_p.sum(-1))
    loss = SparseLabelSmoothingCrossentropy(eps)
    np.testing.assert_allclose(_np(loss(y, logits)), expected, rtol=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(
        _np(SparseLabelSmoothingCrossentropy(0.0)(y, logits)),
        _np(plain(y, logits)), rtol=1e-5,
    )
    with pytest.raises(ValueError, match="label_smoothing"):
        SparseLabelSmoothingCrossentropy(1.5)


def test_kar3_steps_by_signs_then_updates_averages():
    w = keras.Variable(np.zeros(3, "float32"))
    opt = Kar3(learning_rate=0.1, beta_1=0.5, beta_2=0.9)
    g1 = np.array([1.0, -2.0, 0.5], "float32")
    g2 = np.array([-1.0, 1.0, -4.0], "float32")
    opt.apply_gradients([(g1, w)])
    # First step: the averages are still zero, only sign(g) moves.
    np.testing.assert_allclose(_np(w), -0.1 * np.sign(g1), atol=1e-7)
    opt.apply_gradients([(g2, w)])
    m1, m2 = 0.5 * g1, 0.1 * g1
    step = np.sign(g2) + np.sign(m1) + np.sign(m2)
    np.testing.assert_allclose(_np(w), -0.1 * np.sign(g1) - 0.1 * step,
                               atol=1e-6)
    with pytest.raises(ValueError, match="beta_1"):
        Kar3(beta_1=1.0)


def test_kar3_round_trips_through_config():
    opt = Kar3(0.01, beta_1=0.75, beta_2=0.99)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(again, Kar3)
    assert (again.beta_1, again.beta_2) == (0.75, 0.99)


# ----------------------------------------------------------------------
# Bundled presets (once)
# ----------------------------------------------------------------------
def test_every_recipe_preset_is_bundled_within_its_parameter_budget():
    from zoo.terminator.terminator_presets import PRESETS

    for name, cfg in PRESETS.items():
        meta = zoo.read_metadata(name)
        assert zoo.registry.family_of(name).name == "terminator"
        params = meta["metrics"]["parameters"]
        assert params == meta["parameter_count"]
        if cfg["dataset"] == "mnist1d":
            assert params <= 100_000  # the MNIST-1D budget


@pytest.mark.once
@pytest.mark.parametrize("name", ["terminator_1d_mnist1d",
                                  "terminator_1d_mnist1d_shuffled"])
def test_bundled_preset_reproduces_its_metadata(name):
    # terminator_2d_digits: through the CLI below.
    meta = zoo.read_metadata(name)
    model = zoo.load(name)
    metrics = zoo.registry.get_preset_spec(name).evaluate(model, "test")
    # `accuracy` is computed at batch 1; a batch-independent model gives
    # the same answers at batch 100 (up to a float32 tie: 1 signal).
    assert metrics["accuracy"] == pytest.approx(
        meta["metrics"]["accuracy"], abs=2e-3
    )
    assert metrics["accuracy_batch100"] == pytest.approx(
        metrics["accuracy"], abs=1e-3
    )
    assert metrics["parameters"] == meta["metrics"]["parameters"]


@pytest.mark.once
def test_cli_eval_prints_accuracy_and_parameters(capsys):
    # In process (the `python -m zoo` subprocess is tested in test_cli).
    from zoo import cli

    assert cli.main(["eval", "terminator_2d_digits", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"accuracy", "parameters"} <= set(result)
    meta = zoo.read_metadata("terminator_2d_digits")["metrics"]
    assert result["accuracy"] == pytest.approx(meta["accuracy"], abs=2e-3)
    assert result["parameters"] == meta["parameters"]


def test_mnist1d_paper_baselines_have_the_papers_sizes():
    # The MNIST-1D paper's ConvBase (kernels 5, 3, 3, stride 2, padding 1)
    # has 5,210 parameters and its bidirectional GRU(6) 5,134.
    from zoo.terminator.terminator_baselines import PAPER_RECIPE
    from zoo.terminator.terminator_baselines import build_baseline

    cnn = build_baseline("mnist1d_cnn", num_train=100)
    gru = build_baseline("mnist1d_gru", num_train=100, **PAPER_RECIPE)
    assert cnn.count_params() == 5210
    assert gru.count_params() == 5134
    assert cnn(np.zeros((2, 40, 1), "float32")).shape == (2, 10)
    assert isinstance(gru.optimizer, keras.optimizers.Adam)
    assert float(_np(gru.optimizer.learning_rate)) == pytest.approx(1e-2)
    with pytest.raises(ValueError, match="schedule"):
        build_baseline("mnist1d_cnn", schedule="linear")
    # The paper's MLP 40-100-100-10 has 15,210 parameters.
    mlp = build_baseline("mnist1d_mlp", num_train=100)
    assert mlp.count_params() == 15210
    strong = build_baseline("strong_mlp", num_train=100)
    assert strong(np.zeros((2, 40, 1), "float32")).shape == (2, 10)
