"""UNEM heads, episodes, baselines and the UNEM classifier.

Unmarked tests are small and run on every backend; `once` tests (meta-
training convergence, the bundled preset through the CLI) run once.
"""

import json

import keras
import numpy as np
import pytest
from scipy import special as sp

import layers
import zoo
from layers import unem
from zoo.data.few_shot_episodes import FeatureBankWorld
from zoo.data.few_shot_episodes import GaussianClassWorld
from zoo.data.few_shot_episodes import ZeroShotLogitsWorld
from zoo.data.few_shot_episodes import sample_episodes
from zoo.unem import baselines
from zoo.unem.unem_eval import predict_labels
from zoo.unem.unem_inputs import example_episode
from zoo.unem.unem_inputs import parse_episode_document
from zoo.unem.unem_presets import build_unem_gaussian
from zoo.unem.unem_training import train_unem_gaussian


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _compiled(fn):
    """`fn` compiled as the backend would in `fit` (op-by-op eager JAX
    compiles every op separately, which is slow on 2 CPUs)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    return fn


def _numpy_em(q, s, ys, k, lambdas, temps, scale):
    """Plain numpy transcription of the reference forward pass."""
    q, s = q.astype("float64") * scale, s.astype("float64") * scale
    us = np.eye(k)[ys]
    w = np.einsum("bsk,bsd->bkd", us, s) / us.sum(1)[..., None]
    v = np.ones(w.shape[:2])
    for lam, t in zip(lambdas, temps):
        logits = (np.einsum("bqd,bkd->bqk", q, w)
                  - 0.5 * (w**2).sum(-1)[:, None]
                  - 0.5 * (q**2).sum(-1)[..., None])
        z = (logits + lam * v[:, None]) / t
        z = z - z.max(-1, keepdims=True)
        u = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        v = np.log(u.mean(1) + 1e-6) + 1
        w = ((np.einsum("bqk,bqd->bkd", u, q)
              + np.einsum("bsk,bsd->bkd", us, s))
             / (u.sum(1) + us.sum(1))[..., None])
    return u


@pytest.fixture(scope="module")
def episode():
    world = GaussianClassWorld(num_classes=(4, 4, 4), dim=6, seed=3)
    return world.episodes("test", num_tasks=3, shots=2, num_query=7,
                          k_eff=2, seed=0)


def test_gaussian_em_matches_numpy_reference(episode):
    batch, _ = episode
    lambdas, temps = [0.5, 3.0, 8.0], [1.0, 2.0, 1.5]
    em = _compiled(lambda q, s, ys: layers.gaussian_em(
        q, s, ys, 4, lambdas, temps, scale=0.7))
    got = _np(em(batch["query"], batch["support"], batch["support_labels"]))
    want = _numpy_em(batch["query"], batch["support"],
                     batch["support_labels"], 4, lambdas, temps, 0.7)
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_head_is_the_em_with_its_learned_parameters(episode):
    batch, _ = episode
    head = layers.UNEMGaussianHead(4, num_layers=3, initial_lambda=2.0,
                                   initial_temperature=1.5,
                                   initial_scale=0.5, output_mode="probs")
    got = _np(head(batch["query"], support=batch["support"],
                   support_labels=batch["support_labels"]))
    params = {k: _np(v) for k, v in head.layer_parameters().items()}
    np.testing.assert_allclose(params["lambdas"], [2.0] * 3, rtol=1e-5)
    np.testing.assert_allclose(params["temperatures"], [1.5] * 3,
                               rtol=1e-5)
    np.testing.assert_allclose(params["scale"], 0.5, rtol=1e-5)
    want = _numpy_em(batch["query"], batch["support"],
                     batch["support_labels"], 4, [2.0] * 3, [1.5] * 3, 0.5)
    np.testing.assert_allclose(got, want, atol=2e-5)
    log_head = layers.UNEMGaussianHead(4, num_layers=3, initial_lambda=2.0,
                                       initial_temperature=1.5,
                                       initial_scale=0.5)
    log_u = _np(log_head(batch["query"], support=batch["support"],
                         support_labels=batch["support_labels"]))
    np.testing.assert_allclose(np.exp(log_u), want, atol=2e-5)


def test_absent_classes_keep_support_centroids():
    # One task, 3 classes, queries only from class 0: with lambda = 0 and
    # one iteration the centroids of classes 1, 2 are their support means.
    s = np.array([[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]], "float32")
    q = np.zeros((1, 4, 2), "float32")
    u = _np(layers.gaussian_em(q, s, np.array([[0, 1, 2]]), 3, 0.0,
                               num_iterations=2))
    assert (u.argmax(-1) == 0).all()
    assert u[0, 0, 1] == pytest.approx(np.exp(-50) / (1 + 2 * np.exp(-50)))


def test_inverse_softplus_round_trip():
    for y in (1e-3, 0.5, 1.3, 40.0):
        r = unem.inverse_softplus(y)
        assert np.log1p(np.exp(r)) == pytest.approx(y, rel=1e-6)
    with pytest.raises(ValueError, match="`y` must be > 0"):
        unem.inverse_softplus(0.0)


def test_dirichlet_mm_reaches_the_mle_fixed_point():
    rng = np.random.default_rng(0)
    x = rng.dirichlet([2.0, 5.0, 1.0], size=(2, 400))
    mean_log = np.log(x).mean(1).astype("float32")  # (2, 3)
    steps = _compiled(lambda a, m: keras.ops.fori_loop(
        0, 150, lambda _, v: unem.dirichlet_mm_step(v, m), a))
    alpha = _np(steps(np.ones((2, 3), "float32"), mean_log))
    alpha = alpha.astype("float64")
    residual = sp.digamma(alpha) - sp.digamma(alpha.sum(-1, keepdims=True))
    np.testing.assert_allclose(residual, mean_log, atol=2e-3)
    np.testing.assert_allclose(alpha, [[2.0, 5.0, 1.0]] * 2, rtol=0.25)


def test_dirichlet_em_classifies_zero_shot_logits():
    world = ZeroShotLogitsWorld(seed=0)
    batch, yq = sample_episodes(world, "test", 20, shots=4, seed=0)
    k = world.split_classes("test")
    log_x = lambda v: np.log(sp.softmax(v, -1) + 1e-15)  # noqa: E731
    em = _compiled(lambda q, s, ys: layers.dirichlet_em(
        q, s, ys, k, 0.0, num_iterations=3, mm_steps=5))
    u = _np(em(log_x(batch["query"]), log_x(batch["support"]),
               batch["support_labels"]))
    assert u.shape == (20, 75, k)
    np.testing.assert_allclose(u.sum(-1), 1.0, atol=1e-5)
    zero_shot = baselines.accuracy(batch["query"].argmax(-1), yq)
    assert baselines.accuracy(u.argmax(-1), yq) > zero_shot


HEAD_ERRORS = [
    (dict(num_classes=0), "`num_classes` must be a positive integer"),
    (dict(num_classes=3, num_layers=2.5), "`num_layers`"),
    (dict(num_classes=3, initial_temperature=1.0), "initial_temperature"),
    (dict(num_classes=3, initial_lambda=-1.0), "initial_lambda"),
    (dict(num_classes=3, output_mode="logits"), "`output_mode`"),
]


def test_head_arguments_are_validated():
    for kwargs, message in HEAD_ERRORS:
        with pytest.raises(ValueError, match=message):
            layers.UNEMGaussianHead(**kwargs)


def test_heads_need_support_and_shapes(episode):
    batch, _ = episode
    with pytest.raises(ValueError, match="needs `support`"):
        layers.UNEMGaussianHead(4)(batch["query"])
    with pytest.raises(ValueError, match="last query dimension must be 3"):
        layers.UNEMDirichletHead(3)(batch["query"],
                                    support=batch["support"],
                                    support_labels=batch["support_labels"])
    with pytest.raises(ValueError, match="`num_iterations` is needed"):
        layers.gaussian_em(batch["query"], batch["support"],
                           batch["support_labels"], 4, 1.0)


def test_unem_loss_modes():
    log_u = np.log(np.array([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]],
                            "float32"))
    y = np.array([[0, 2]])
    nll = _np(zoo.unem.UNEMLoss("nll")(y, log_u))
    np.testing.assert_allclose(nll, -np.log([0.7, 0.8]).mean(), rtol=1e-5)
    u = np.exp(log_u[0])
    ref = (-u[[0, 1], [0, 2]] + np.log(np.exp(u).sum(-1))).mean()
    np.testing.assert_allclose(_np(zoo.unem.UNEMLoss("reference")(y, log_u)),
                               ref, rtol=1e-5)
    with pytest.raises(ValueError, match="`mode`"):
        zoo.unem.UNEMLoss("mse")


# ----------------------------------------------------------------------
# Episodes and baselines (numpy)
# ----------------------------------------------------------------------
def test_episodes_follow_the_realistic_protocol():
    world = GaussianClassWorld(seed=0)
    batch, yq = world.episodes("val", num_tasks=20, shots=3, seed=5)
    assert batch["support"].shape == (20, 48, 32)
    assert batch["query"].shape == (20, 75, 32)
    assert batch["support_labels"].dtype == np.int32
    for t in range(20):
        assert sorted(set(batch["support_labels"][t])) == list(range(16))
        assert 1 <= len(set(yq[t])) <= 5
    again, yq2 = world.episodes("val", num_tasks=20, shots=3, seed=5)
    np.testing.assert_array_equal(again["query"], batch["query"])
    # Disjoint class sets: no mean is shared between splits.
    means = np.concatenate([world.means[s] for s in ("train", "val",
                                                      "test")])
    assert len(np.unique(means.round(6), axis=0)) == 48
    with pytest.raises(ValueError, match="`k_eff` must be <="):
        world.episodes("test", 2, 1, k_eff=17)
    with pytest.raises(ValueError, match="`split`"):
        world.episodes("meta", 2, 1)


def test_feature_bank_never_repeats_a_sample_in_a_task():
    feats = np.arange(40, dtype="float32").reshape(20, 2)
    labels = np.repeat(np.arange(2), 10)
    world = FeatureBankWorld({"test": feats}, {"test": labels})
    batch, yq = sample_episodes(world, "test", 5, shots=2, num_query=6,
                                k_eff=2, seed=0)
    for t in range(5):
        rows = np.concatenate([batch["support"][t], batch["query"][t]])
        assert len(np.unique(rows[:, 0])) == len(rows)
        np.testing.assert_array_equal(rows[:2, 0] < 20, True)


def test_baselines_on_separable_tasks():
    world = GaussianClassWorld(num_classes=(3, 3, 3), dim=8, noise=0.05)
    batch, yq = world.episodes("test", 4, shots=2, num_query=10, k_eff=2)
    for pred in (baselines.nearest_prototype(batch, 3),
                 baselines.inductive_softmax(batch, 3),
                 baselines.fixed_lambda_em(batch, 3, 1.0)):
        assert baselines.accuracy(pred, yq) == 1.0
    with pytest.raises(ValueError, match="equal"):
        baselines.accuracy(np.zeros((2, 3)), yq)
    with pytest.raises(ValueError, match="Missing"):
        baselines.nearest_prototype({"query": 1}, 3)


def test_center_l2_normalize(episode):
    rng = np.random.default_rng(0)
    base = rng.random((50, 6)).astype("float32") + 2.0
    feats = rng.random((3, 7, 6)).astype("float32")
    out = baselines.center_l2_normalize(feats, base_features=base)
    assert out.shape == feats.shape and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0,
                               rtol=1e-5)
    want = feats - base.mean(0)
    want = want / np.linalg.norm(want, axis=-1, keepdims=True)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    # Invariant to a common rescaling of the extractor's features.
    np.testing.assert_allclose(
        baselines.center_l2_normalize(5 * feats, base_features=5 * base),
        out, rtol=1e-4, atol=1e-6)
    # L2 only without base features; zero vectors stay zero.
    l2 = baselines.center_l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(l2, [[0.6, 0.8], [0.0, 0.0]])
    with pytest.raises(ValueError, match="feature size"):
        baselines.center_l2_normalize(feats, base_features=base[:, :4])
    # The normalised episode feeds the EM on every backend.
    batch, yq = episode
    norm = {k: baselines.center_l2_normalize(batch[k], base)
            for k in ("support", "query")}
    u = _np(layers.gaussian_em(norm["query"], norm["support"],
                               batch["support_labels"], 4, 1.0,
                               scale=5.0, num_iterations=2))
    assert u.shape == yq.shape + (4,) and np.all(np.isfinite(u))
    np.testing.assert_allclose(u.sum(-1), 1.0, rtol=1e-5)


def test_whiten_episodes():
    # Two classes apart along x0; a huge within-class noise on x1 that
    # fools the Euclidean distance but not the Mahalanobis one.
    rng = np.random.default_rng(0)
    b, ns, nq = 4, 40, 30
    ys = np.tile(np.repeat([0, 1], ns // 2), (b, 1))
    yq = rng.integers(0, 2, (b, nq))

    def draw(y):
        x = rng.normal(size=y.shape + (2,)) * [0.3, 20.0]
        x[..., 0] += 2.0 * y
        return x.astype("float32")

    batch = {"support": draw(ys), "support_labels": ys, "query": draw(yq)}
    white = baselines.whiten_episodes(batch, 2, shrinkage=0.0)
    assert white["query"].shape == batch["query"].shape
    assert white["support"].dtype == np.float32
    # The support's pooled within-class covariance becomes the identity.
    s = white["support"].astype("float64")
    means = np.stack([s[ys == c].reshape(b, -1, 2).mean(1)
                      for c in (0, 1)], 1)
    resid = s - np.take_along_axis(means, ys[..., None], 1)
    cov = np.einsum("bsd,bse->bde", resid, resid) / ns
    np.testing.assert_allclose(cov, np.broadcast_to(np.eye(2), cov.shape),
                               atol=1e-3)
    acc = baselines.accuracy
    assert acc(baselines.nearest_prototype(white, 2), yq) > 0.95
    assert acc(baselines.nearest_prototype(batch, 2), yq) < 0.8
    # Shrinkage 1 is an isotropic rescaling: the same prototypes win.
    iso = baselines.whiten_episodes(batch, 2, shrinkage=1.0)
    np.testing.assert_array_equal(baselines.nearest_prototype(iso, 2),
                                  baselines.nearest_prototype(batch, 2))
    # The whitened episode feeds the Gaussian EM on every backend.
    u = _np(layers.gaussian_em(white["query"], white["support"], ys, 2,
                               1.0, num_iterations=2))
    assert u.shape == (b, nq, 2) and np.all(np.isfinite(u))
    with pytest.raises(ValueError, match="shrinkage"):
        baselines.whiten_episodes(batch, 2, shrinkage=1.5)


# ----------------------------------------------------------------------
# Classifier
# ----------------------------------------------------------------------
@pytest.mark.once
def test_dirichlet_classifier_builds_and_predicts():
    backbone = zoo.UNEMBackbone(feature_dim=3)
    model = zoo.UNEMFewShotClassifier(
        backbone, num_classes=3, head="dirichlet", num_layers=1,
        mm_steps=1, head_kwargs=dict(initial_lambda=2.0))
    revived = zoo.UNEMFewShotClassifier.from_config(model.get_config())
    assert revived.head_kwargs == {"initial_lambda": 2.0}
    np.testing.assert_allclose(
        model.layer_parameters()["lambdas"], [2.0], rtol=1e-5)
    x, _ = zoo.get_model_spec("unem_gaussian_classifier").example_batch(2)
    x = {k: (v[..., :3] if v.ndim == 3 else v) for k, v in x.items()}
    out = _np(model(x))
    assert out.shape == (2, 5, 3)
    np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="projection_dim=None"):
        zoo.UNEMFewShotClassifier(zoo.UNEMBackbone(3, projection_dim=2),
                                  num_classes=3, head="dirichlet")


def test_classifier_arguments_are_validated():
    for kwargs, message in [(dict(head="laplace"), "`head`"),
                            (dict(loss_mode="mse"), "`loss_mode`")]:
        with pytest.raises(ValueError, match=message):
            zoo.UNEMFewShotClassifier(zoo.UNEMBackbone(4), num_classes=3,
                                      **kwargs)
    with pytest.raises(ValueError, match="`feature_dim`"):
        zoo.UNEMBackbone(0)
    with pytest.raises(ValueError, match="`head_kwargs`"):
        zoo.UNEMFewShotClassifier(zoo.UNEMBackbone(4), num_classes=3,
                                  head_kwargs={"num_layers": 2})


def test_json_episode_becomes_the_model_input():
    model = zoo.get_model_spec("unem_gaussian_classifier").build_tiny(0)
    document = example_episode(model, {})
    x = parse_episode_document(document, model, {})
    assert x["support"].shape == (1, 15, 6)
    assert x["support_labels"].shape == (1, 15)
    assert x["support_labels"].dtype == np.int32
    assert x["query"].shape == (1, 10, 6)
    np.testing.assert_allclose(x["support"][0], document["support"])
    assert _np(model(x)).shape == (1, 10, 3)
    # Several episodes: one more leading axis on each field.
    batched = {k: [v, v] for k, v in document.items()}
    assert parse_episode_document(batched, model, {})["query"].shape == (
        2, 10, 6)
    good = dict(document, support_labels=[float(v) for v in
                                          document["support_labels"]])
    assert parse_episode_document(good, model, {})[
        "support_labels"].dtype == np.int32
    for change, field in (({"support": None}, "support"),
                          ({"query": [[0.0] * 5]}, "query"),
                          ({"support": [["a"] * 6] * 15}, "support"),
                          ({"support_labels": [0] * 14}, "support_labels"),
                          ({"support_labels": [3] * 15}, "support_labels"),
                          ({"support_labels": [0.5] * 15},
                           "support_labels"),
                          ({"query": [[[0.0] * 6]] * 2}, "query")):
        bad = {k: v for k, v in dict(document, **change).items()
               if v is not None}
        with pytest.raises(ValueError, match=field):
            parse_episode_document(bad, model, {})
    with pytest.raises(ValueError, match="JSON list"):
        parse_episode_document([], model, {})


# ----------------------------------------------------------------------
# once: meta-training and the bundled preset
# ----------------------------------------------------------------------
@pytest.mark.once
def test_gaussian_world_difficulty():
    world = GaussianClassWorld()
    batch, yq = world.episodes("test", 300, shots=1, seed=1)
    acc = baselines.accuracy(baselines.nearest_prototype(batch, 16), yq)
    assert 0.4 < acc < 0.6  # the "1-shot nearest centroid ~50%" design


@pytest.mark.once
def test_meta_training_learns_better_than_its_initialisation():
    keras.utils.set_random_seed(0)
    world = GaussianClassWorld()
    batch, yq = world.episodes("val", 200, shots=5, seed=7)
    untrained = build_unem_gaussian()
    before = baselines.accuracy(predict_labels(untrained, batch), yq)
    model = train_unem_gaussian(steps=30, num_tasks=200)
    after = baselines.accuracy(predict_labels(model, batch), yq)
    assert after > before + 0.02, (before, after)
    lambdas = model.layer_parameters()["lambdas"]
    assert np.all(lambdas > 0) and not np.allclose(lambdas, lambdas[1])


@pytest.mark.once
def test_preset_eval_through_the_cli(capsys):
    # In process (the `python -m zoo` subprocess is tested in test_cli).
    from zoo import cli

    if "unem_gaussian_5shot" not in zoo.list_presets():
        pytest.skip("preset unem_gaussian_5shot is not bundled")
    assert cli.main(["eval", "unem_gaussian_5shot", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("accuracy", "accuracy_best_fixed_lambda",
                "accuracy_default_lambda"):
        assert 0.0 <= metrics[key] <= 1.0
    stored = zoo.read_metadata("unem_gaussian_5shot")["metrics"]
    assert metrics["accuracy"] == pytest.approx(stored["accuracy"],
                                                abs=2e-3)
