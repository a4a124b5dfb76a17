"""CAFA: shifts, statistics, loss, and BN-only test-time adaptation.

Unmarked tests use a tiny CNN and run on every backend; the `once`
tests evaluate the bundled `cafa_digits_encoder` preset.
"""

import json

import keras
import numpy as np
import pytest

import zoo
from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data import shifted_digits
from zoo.unem import cafa


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def digits():
    x, y = zoo.data.load_digits("val", layout="image")
    return x[:60], y[:60] % 3


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    model = DigitsCNNClassifier(DigitsCNNBackbone(filters=(4, 6), seed=0),
                                num_classes=3)
    return model


def test_shifts(digits):
    x, _ = digits
    shift_digits = shifted_digits.shift_digits
    for kind in shifted_digits.SHIFTS:
        out = shift_digits(x, kind, seed=1)
        assert out.shape == x.shape and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
        assert np.abs(out - x).mean() > 0.02
        np.testing.assert_array_equal(out, shift_digits(x, kind, seed=1))
    c = shifted_digits.SHIFT_PARAMS["contrast"]
    np.testing.assert_allclose(shift_digits(x, "contrast"),
                               x * c + (1 - c) / 2, atol=1e-6)
    for kwargs, message in [
        (dict(kind="blur"), "`kind` must be one of"),
        (dict(kind="noise", severity=0), "`severity` must be > 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            shift_digits(x, **kwargs)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        shift_digits(np.zeros((3, 64)), "noise")


def test_mahalanobis_and_loss_match_numpy():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(5, 4)).astype("float32")
    means = rng.normal(size=(3, 4)).astype("float32")
    a = rng.normal(size=(4, 4))
    precision = (a @ a.T + np.eye(4)).astype("float32")
    diff = feats[:, None] - means[None]
    want = np.einsum("ncp,pq,ncq->nc", diff, precision, diff)
    got = _np(cafa.mahalanobis_distances(feats, means, precision))
    np.testing.assert_allclose(got, want, rtol=1e-4)
    logits = rng.normal(size=(5, 3)).astype("float32")
    pred = logits.argmax(-1)
    ratio = np.log(want[np.arange(5), pred] / want.sum(-1)).mean()
    loss = cafa.CAFALoss(means, precision)
    value = _np(loss(np.zeros((5, 1)), np.concatenate([logits, feats], -1)))
    np.testing.assert_allclose(value, ratio, rtol=1e-4)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    entropy = -(probs * np.log(probs)).sum(-1).mean()
    np.testing.assert_allclose(
        _np(cafa.EntropyLoss(3)(np.zeros((5, 1)),
                                np.concatenate([logits, feats], -1))),
        entropy, rtol=1e-5)


def test_source_statistics(tiny, digits):
    x, y = digits
    stats = cafa.source_statistics(tiny, x, y, 3)
    assert stats["means"].shape == (3, 6)
    p = stats["precision"].astype("float64")
    np.testing.assert_allclose(p, p.T, rtol=1e-4, atol=1e-4)
    assert np.linalg.eigvalsh((p + p.T) / 2).min() > 0
    with pytest.raises(ValueError, match="missing"):
        cafa.source_statistics(tiny, x[y < 2], y[y < 2], 3)
    with pytest.raises(ValueError, match="`shrinkage`"):
        cafa.source_statistics(tiny, x, y, 3, shrinkage=2.0)


def test_cafa_updates_only_batch_norm_of_a_copy(tiny, digits):
    x, y = digits
    stats = cafa.source_statistics(tiny, x, y, 3)
    before = {w.path: _np(w).copy() for w in tiny.weights}
    logits, adapted = cafa.test_time_adapt(
        tiny, cafa.shift_digits(x, "noise"), "cafa", stats, epochs=2,
        learning_rate=1e-2, batch_size=30)
    assert logits.shape == (60, 3) and np.isfinite(logits).all()
    for w in tiny.weights:  # the source model is untouched
        np.testing.assert_array_equal(_np(w), before[w.path])
    changed = {
        w.path.split("/")[-1]
        for w in adapted.weights
        if not np.array_equal(_np(w), before[w.path])
    }
    # gamma and beta adapt; moving statistics move as a side effect of
    # training-mode calls; kernels and the head stay frozen.
    assert {"gamma", "beta"} <= changed
    assert not changed & {"kernel", "bias"}, changed
    shifted = cafa.shift_digits(x, "contrast")
    source, _ = cafa.test_time_adapt(tiny, shifted, "source")
    bn, _ = cafa.test_time_adapt(tiny, shifted, "bn_adapt", batch_size=30)
    assert not np.allclose(source, bn)  # batch vs moving statistics
    with pytest.raises(ValueError, match="needs `source_stats`"):
        cafa.test_time_adapt(tiny, x, "cafa")
    with pytest.raises(ValueError, match="`method`"):
        cafa.test_time_adapt(tiny, x, "dua")


@pytest.mark.once
def test_cafa_improves_the_preset_under_every_shift(capsys):
    # In process (the `python -m zoo` subprocess is tested in test_cli).
    from zoo import cli

    if "cafa_digits_encoder" not in zoo.list_presets():
        pytest.skip("preset cafa_digits_encoder is not bundled")
    assert cli.main(["eval", "cafa_digits_encoder", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["accuracy"] > 0.95
    for shift in cafa.SHIFTS:
        assert metrics[f"accuracy_{shift}_cafa"] > \
            metrics[f"accuracy_{shift}_source"], shift
