"""HyperCL family: continual-learning behaviour, baselines, metrics and
the bundled preset (the registry harness is in test_all_models.py)."""

import json

import keras
import numpy as np
import pytest

import zoo
from tests.harness import to_numpy
from zoo.data import continual_digits
from zoo.hyper_cl import continual
from zoo.hyper_cl.baselines import MaskedMLP
from zoo.hyper_cl.hyper_cl_inputs import parse_task_document
from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier

PRESET = "hyper_cl_permuted_digits"


def _tiny(scenario="permuted", beta=0.01, seed=0):
    return build_cl_classifier(scenario, "chunked", seed=seed, beta=beta,
                               hidden_dims=(8,), chunk_size=64,
                               hidden_units=(16,))


def test_task_streams():
    np.testing.assert_array_equal(continual_digits.task_permutation(0),
                                  np.arange(64))
    p3 = continual_digits.task_permutation(3)
    assert sorted(p3) == list(range(64))
    np.testing.assert_array_equal(p3, continual_digits.task_permutation(3))
    perm = continual_digits.make_tasks("permuted", "test", 3)
    np.testing.assert_array_equal(perm[2][0], perm[0][0][:,
                                  continual_digits.task_permutation(2)])
    split = continual_digits.make_tasks("split", "test")
    assert len(split) == 5
    assert all(set(np.unique(y)) == {0, 1} for _, y in split)
    with pytest.raises(ValueError, match="scenario"):
        continual_digits.make_tasks("rotated")
    with pytest.raises(ValueError, match="num_tasks"):
        continual_digits.make_tasks("split", num_tasks=6)


def test_json_document_becomes_the_model_input():
    model = _tiny()
    digit = np.linspace(0, 1, 64).reshape(8, 8)
    x = parse_task_document({"features": digit.tolist(), "task_id": 3},
                            model, {})
    np.testing.assert_allclose(x["features"], digit.reshape(1, 64))
    np.testing.assert_array_equal(x["task_id"], [3])
    x = parse_task_document({"features": [[0.5] * 64] * 2,
                             "task_id": [1, 2.0]}, model, {})
    assert x["features"].shape == (2, 64)
    assert x["task_id"].dtype == np.int32
    for document, field in (([], "object"), ({"task_id": 0}, "features"),
                            ({"features": [0.0] * 64}, "task_id"),
                            ({"features": [0.0] * 10, "task_id": 0},
                             "features"),
                            ({"features": ["a"] * 64, "task_id": 0},
                             "features"),
                            ({"features": [0.0] * 64, "task_id": 10},
                             "task_id"),
                            ({"features": [0.0] * 64, "task_id": 1.5},
                             "task_id"),
                            ({"features": [0.0] * 64, "task_id": [0, 1]},
                             "task_id")):
        with pytest.raises(ValueError, match=field):
            parse_task_document(document, model, {})


def test_cl_metrics():
    r = np.array([[0.9, 0.1, 0.0], [0.7, 0.95, 0.2], [0.6, 0.85, 1.0]])
    m = continual.cl_metrics(r)
    np.testing.assert_allclose(m["average_accuracy"], (0.6 + 0.85 + 1) / 3)
    np.testing.assert_allclose(m["forgetting"], ((0.9 - 0.6)
                                                 + (0.95 - 0.85)) / 2)
    with pytest.raises(ValueError, match="square"):
        continual.cl_metrics(np.zeros((2, 3)))


def test_start_task_keeps_targets_unless_refreshed():
    model = _tiny()
    model.start_task(2)
    assert model.regularizer.stored_tasks() == [0, 1]
    first = model.stored_weights(0).copy()
    hnet = model.backbone.hypernetwork
    hnet.task_embeddings.assign(to_numpy(hnet.task_embeddings) + 1.0)
    model.start_task(3)
    np.testing.assert_array_equal(model.stored_weights(0), first)
    model.start_task(3, refresh=True)
    assert not np.allclose(model.stored_weights(0), first)
    with pytest.raises(ValueError, match="task_id"):
        model.start_task(10)
    with pytest.raises(ValueError, match="No weights"):
        model.stored_weights(5)


@pytest.mark.once
def test_output_regulariser_protects_the_old_task():
    # Task 0, then task 1 trained with and without the regulariser: the
    # weights generated for task 0 move less with beta > 0.
    tasks = continual_digits.make_tasks("permuted", "train", 2)
    drift = {}
    for beta in (0.0, 1.0):
        model = _tiny(beta=beta)
        keras.utils.set_random_seed(0)
        x, y = tasks[0]
        model.fit({"features": x[:128], "task_id": np.zeros(128, "int32")},
                  y[:128], epochs=2, batch_size=32, verbose=0)
        model.start_task(1)
        before = model.stored_weights(0)
        x, y = tasks[1]
        model.fit({"features": x[:128], "task_id": np.ones(128, "int32")},
                  y[:128], epochs=2, batch_size=32, verbose=0)
        after = to_numpy(model.backbone.hypernetwork.generate(np.array(0)))
        drift[beta] = float(np.linalg.norm(after - before))
    assert drift[1.0] < 0.5 * drift[0.0], drift


def test_predict_task_matches_keras_predict_and_checks_input():
    model = _tiny()
    x = np.random.default_rng(0).uniform(0, 1, (5, 64)).astype("float32")
    ids = np.full(5, 1, "int32")
    np.testing.assert_allclose(
        model.predict_task(x, 1),
        to_numpy(model.predict({"features": x, "task_id": ids}, verbose=0)),
        atol=1e-5,
    )
    with pytest.raises(ValueError, match="x"):
        model.predict_task(np.zeros((2, 10), "float32"), 0)
    with pytest.raises(ValueError, match="task_labels"):
        zoo.HyperCLClassifier(model.backbone, task_labels=[[0, 1]])


def test_infer_task_maps_local_to_global_labels():
    model = _tiny("split")
    x = np.random.default_rng(1).uniform(0, 1, (6, 64)).astype("float32")
    task_ids, labels = model.infer_task(x)
    assert task_ids.shape == labels.shape == (6,)
    table = np.asarray(continual_digits.SPLIT_TASK_LABELS)
    for t, label in zip(task_ids, labels):
        assert label in table[t]


def test_infer_task_scores_and_temperature():
    # Every score picks, per sample, the task that is the most confident
    # under its own rule (recomputed here from `predict_task`).
    model = _tiny()
    x = np.random.default_rng(2).uniform(0, 1, (7, 64)).astype("float32")
    logits = np.stack([model.predict_task(x, t) for t in range(10)], 1)
    z = logits.astype("float64")
    lse = np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1)) + z.max(-1)
    p = np.exp(z - lse[..., None])
    z2 = z / 2.0
    lse2 = np.log(np.exp(z2 - z2.max(-1, keepdims=True)).sum(-1)) + (
        z2.max(-1))
    p2 = np.exp(z2 - lse2[..., None])
    expected = {
        ("entropy", 1.0): (p * np.log(p)).sum(-1),
        ("entropy", 2.0): (p2 * np.log(p2)).sum(-1),
        ("max_softmax", 1.0): p.max(-1),
        ("energy", 1.0): lse,
    }
    for (score, temperature), confidence in expected.items():
        task_ids, labels = model.infer_task(x, score=score,
                                            temperature=temperature)
        np.testing.assert_array_equal(task_ids, confidence.argmax(1))
        np.testing.assert_array_equal(
            labels, logits[np.arange(7), task_ids].argmax(1))
    default = model.infer_task(x)
    np.testing.assert_array_equal(default[0], model.infer_task(
        x, score="entropy", temperature=1.0)[0])
    with pytest.raises(ValueError, match="score"):
        model.infer_task(x, score="margin")
    with pytest.raises(ValueError, match="temperature"):
        model.infer_task(x, temperature=0.0)
    ci = continual.class_incremental_accuracy(
        model, [(x, np.zeros(7, "int32"))], score="energy")
    assert 0.0 <= ci["accuracy"] <= 1.0


def test_ood_weight_adds_uniform_cross_entropy_and_trains():
    # The outlier term is a cross-entropy to the uniform distribution
    # over 10 classes, so it adds at least ood_weight * log(10).
    plain = _tiny()
    ood = build_cl_classifier("permuted", "chunked", seed=0,
                              hidden_dims=(8,), chunk_size=64,
                              hidden_units=(16,), ood_weight=0.5)
    x = {"features": np.random.default_rng(3).uniform(
        0, 1, (4, 64)).astype("float32"),
        "task_id": np.array([0, 1, 1, 2], "int32")}
    y = np.array([0, 1, 2, 3], "int32")
    losses = [float(to_numpy(m.compute_loss(x=x, y=y, y_pred=m(x),
                                            training=True)))
              for m in (plain, ood)]
    assert losses[1] - losses[0] >= 0.5 * np.log(10) - 1e-4
    assert float(to_numpy(ood.compute_loss(
        x=x, y=y, y_pred=ood(x), training=False))) == pytest.approx(
        losses[0], abs=1e-5)
    history = ood.fit(x, y, epochs=2, batch_size=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert ood.get_config()["ood_weight"] == 0.5
    clone = zoo.HyperCLClassifier.from_config(ood.get_config())
    assert clone.ood_weight == 0.5
    assert "ood_weight" not in plain.get_config()
    with pytest.raises(ValueError, match="ood_weight"):
        zoo.HyperCLClassifier(plain.backbone, ood_weight=-1.0)


def test_ewc_fisher_matches_finite_differences():
    # Expected Fisher E_x sum_c p_c (d log p_c / d w)^2 of a tiny MLP,
    # by central differences, against the closed-form numpy backprop.
    model = MaskedMLP(3, (4,), 3, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))
    weights = [to_numpy(w).astype("float64") for w in model._dense_weights()]

    def log_probs(ws):
        h = np.maximum(x @ ws[0] + ws[1], 0)
        z = h @ ws[2] + ws[3]
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    p = np.exp(log_probs(weights))
    fisher = model.fisher_diagonal(x)
    eps = 1e-5
    for i, w in enumerate(weights):
        for idx in np.ndindex(w.shape):
            plus = [v.copy() for v in weights]
            minus = [v.copy() for v in weights]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            grad = (log_probs(plus) - log_probs(minus)) / (2 * eps)
            expected = np.mean(np.sum(p * grad**2, axis=1))
            np.testing.assert_allclose(fisher[i][idx], expected, rtol=1e-4,
                                       atol=1e-8)


@pytest.mark.once
def test_baselines_run_and_independent_does_not_forget():
    from zoo.hyper_cl.baselines import train_baseline_continual

    train = [(x[:200], y[:200])
             for x, y in continual_digits.make_tasks("split", "train", 2)]
    test = continual_digits.make_tasks("split", "test", 2)
    labels = continual_digits.SPLIT_TASK_LABELS[:2]
    for method in ("finetune", "ewc", "independent"):
        r, m = train_baseline_continual(method, train, test, labels,
                                        hidden_dims=(16,), epochs=3,
                                        ewc_lambda=10.0)
        assert r.shape == (2, 2)
        assert 0.0 <= m["average_accuracy"] <= 1.0
        if method == "independent":
            # Task 0's own network is never touched again.
            assert r[1, 0] == r[0, 0]
            assert m["forgetting"] == 0.0


# ----------------------------------------------------------------------
# The bundled preset
# ----------------------------------------------------------------------
def test_preset_is_bundled_and_verified():
    assert PRESET in zoo.list_presets()
    zoo.verify_preset(PRESET)
    meta = zoo.read_metadata(PRESET)
    assert meta["dataset"] == "permuted_digits"
    assert set(meta["metrics"]) >= {"average_accuracy", "forgetting",
                                    "compression_ratio"}


def test_preset_eval_json_is_computed_now(capsys):
    from zoo.cli import main

    assert main(["eval", PRESET, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    stored = zoo.read_metadata(PRESET)["metrics"]
    # Computed now, on this backend: equal to the stored figures up to
    # one test image of one task (float rounding across backends).
    tol = 1.0 / (540 * 10) + 1e-9
    assert abs(out["average_accuracy"] - stored["average_accuracy"]) <= tol
    assert abs(out["forgetting"] - stored["forgetting"]) <= 2 * tol
    assert out["compression_ratio"] == pytest.approx(
        stored["compression_ratio"])
    model = zoo.load(PRESET)
    assert model.regularizer.stored_tasks() == list(range(9))
