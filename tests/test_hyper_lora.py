"""HyperLoRA: the layer on keras-hub backbones and the personalisation family.

The harness covers the layer case `hyper_lora_vit` and the tiny model
`hyper_lora_classifier`; these tests check what the harness cannot:
identity at init and with the adapter off on a ViT, a BERT (dict inputs
and outputs) and a Gemma backbone, the per-sample update against an
explicitly merged kernel (including Gemma's transposed
`btd,ndh->btnh`), training from the zero adapter, LiDB bases, the
output regulariser, `personalize` and the writers' data. Gradients to
every hypernetwork weight are the harness's check on three backends.
"""

import keras
import keras_hub
import numpy as np
import pytest
from keras import ops

from layers import HyperLoRA
from layers.hyper_lora import kernel_delta


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _vit():
    return keras_hub.models.ViTBackbone(
        image_shape=(8, 8, 1), patch_size=4, num_layers=1, num_heads=2,
        hidden_dim=8, mlp_dim=8)


def _bert():
    return keras_hub.models.BertBackbone(
        vocabulary_size=20, num_layers=1, num_heads=2, hidden_dim=8,
        intermediate_dim=8, max_sequence_length=6)


def _gemma():
    return keras_hub.models.GemmaBackbone(
        vocabulary_size=20, num_layers=1, num_query_heads=2,
        num_key_value_heads=1, hidden_dim=8, intermediate_dim=8,
        head_dim=4)


def _inputs(kind, rng):
    if kind == "vit":
        return rng.uniform(size=(3, 8, 8, 1)).astype("float32")
    x = {"token_ids": rng.integers(1, 20, (3, 5)).astype("int32"),
         "padding_mask": np.ones((3, 5), "int32")}
    x["padding_mask"][2, 3:] = 0
    if kind == "bert":
        x["segment_ids"] = np.zeros((3, 5), "int32")
    return x


def _flat(y):
    if isinstance(y, dict):
        return np.concatenate([_np(v).ravel() for _, v in sorted(
            y.items())])
    return _np(y).ravel()


BUILDERS = {"vit": _vit, "bert": _bert, "gemma": _gemma}
_CACHE = {}


def _backbone(kind):
    # One backbone of each kind per module: building keras-hub models is
    # the slow part. HyperLoRA wrappers on the same model chain their
    # patched calls, each active only inside its own call.
    if kind not in _CACHE:
        _CACHE[kind] = BUILDERS[kind]()
    return _CACHE[kind]
TARGETS = {"vit": "query|value|dense_1", "bert": "query|value|feedforward",
           "gemma": "query|value|ffw"}


def test_identity_at_init_and_with_adapter_off():
    rng = np.random.default_rng(0)
    base = _backbone("vit")
    x = _inputs("vit", rng)
    cond = rng.normal(size=(3, 4)).astype("float32")
    expected = _flat(base(x))
    at_init = HyperLoRA(base, 4, targets=TARGETS["vit"], rank=2, seed=0)
    np.testing.assert_array_equal(_flat(at_init(x, condition=cond)),
                                  expected)
    # A non-zero adapter changes the output; switched off it does not.
    live = HyperLoRA(base, 4, targets=TARGETS["vit"], rank=2, seed=0,
                     zero_init=False)
    assert np.abs(_flat(live(x, condition=cond)) - expected).max() > 1e-4
    np.testing.assert_array_equal(
        _flat(live(x, condition=cond, use_adapter=False)), expected)
    # The wrapped model is still an ordinary model outside the call.
    np.testing.assert_array_equal(_flat(base(x)), expected)


@pytest.mark.parametrize("kind,target", [("vit", "mlp/dense_1"),
                                         ("gemma", "attention/query")])
def test_per_sample_update_equals_merged_kernel(kind, target):
    # Gemma's query kernel is (heads, d, head_dim) with the input axis in
    # the middle; the ViT MLP dense has a GELU after the update.
    rng = np.random.default_rng(1)
    base = _backbone(kind)
    x = _inputs(kind, rng)
    cond = rng.normal(size=(3, 4)).astype("float32")
    if kind == "gemma":
        # Identity at init on the language backbone too.
        at_init = HyperLoRA(base, 4, targets=TARGETS[kind], rank=2)
        np.testing.assert_array_equal(
            _np(at_init(x, condition=cond)), _np(base(x)))
    hyper = HyperLoRA(base, 4, targets=target, rank=2, seed=0,
                      zero_init=False, alpha=3.0)
    adapted = _np(hyper(x, condition=cond))
    layer = [lay for lay in base._flatten_layers()
             if lay.path in hyper.target_paths][0]
    factors = hyper.generate(cond)[layer.path]
    kernel = _np(layer.kernel)
    for i in range(3):
        delta = _np(kernel_delta(layer, factors[0][i], factors[1][i]))
        layer.kernel.assign(kernel + 1.5 * delta)  # alpha / rank
        xi = keras.tree.map_structure(lambda v: v[i:i + 1], x)
        np.testing.assert_allclose(_np(base(xi))[0], adapted[i],
                                   atol=2e-5)
        layer.kernel.assign(kernel)


def test_bert_dict_inputs_identity_at_init_and_adapter_off():
    # Dict inputs and dict outputs; the gradients are the harness's
    # (`hyper_lora_vit` on three backends).
    rng = np.random.default_rng(2)
    bert = _backbone("bert")
    x = _inputs("bert", rng)
    cond = rng.normal(size=(3, 4)).astype("float32")
    expected = _flat(bert(x))
    hyper = HyperLoRA(bert, 4, targets=TARGETS["bert"], rank=2, seed=0)
    np.testing.assert_array_equal(_flat(hyper(x, condition=cond)),
                                  expected)
    live = HyperLoRA(bert, 4, targets=TARGETS["bert"], rank=2, seed=0,
                     zero_init=False)
    out = live(x, condition=cond)
    assert set(out) == {"sequence_output", "pooled_output"}
    assert np.abs(_flat(out) - expected).max() > 1e-4
    np.testing.assert_array_equal(
        _flat(live(x, condition=cond, use_adapter=False)), expected)


def test_zero_init_trains_b_first_and_lidb_bases_are_orthonormal():
    rng = np.random.default_rng(3)
    vit = _backbone("vit")
    x = _inputs("vit", rng)
    cond = rng.normal(size=(3, 4)).astype("float32")
    hyper = HyperLoRA(vit, 4, targets="query|value", rank=2, basis_dim=3,
                      seed=0, output_regularization=0.5)
    inp = keras.Input(batch_shape=x.shape)
    c = keras.Input(batch_shape=(3, 4))
    model = keras.Model([inp, c], hyper(inp, condition=c))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.train_on_batch([x, cond], np.zeros((3, 5, 8), "float32"))
    # After one step the B heads moved away from zero: a live adapter.
    assert np.abs(_np(hyper.b_heads[0].bias)).max() > 0
    small = hyper.generate_train_factors(cond)
    full = hyper.generate(cond)
    path = hyper.target_paths[0]
    assert tuple(small[path][0].shape) == (3, 3, 2)
    assert tuple(full[path][0].shape) == (3, 8, 2)
    basis = _np(hyper.a_bases[0])
    np.testing.assert_allclose(basis.T @ basis, np.eye(3), atol=1e-5)
    # The regulariser equals the Frobenius norm of the full update.
    expected = sum(
        (_np(ops.matmul(a, b)) ** 2).sum(axis=(1, 2))
        for a, b in full.values())
    np.testing.assert_allclose(_np(hyper.adapter_norm(cond)), expected,
                               rtol=1e-4, atol=1e-7)
    hyper(x, condition=cond)
    assert len(hyper.losses) == 1


def test_bad_targets_are_rejected():
    with pytest.raises(ValueError, match="matching targets"):
        HyperLoRA(_backbone("vit"), 4, targets="nothing_here")
    inp = keras.Input((3,))
    odd = keras.Model(inp, keras.layers.EinsumDense("...i,ij->...j", 2)(inp))
    with pytest.raises(ValueError, match="batch axis"):
        HyperLoRA(odd, 4, targets=".")


def test_personalize_returns_an_ordinary_merged_model():
    from zoo.hyper_lora.hyper_lora_eval import AdapterTuner
    from zoo.hyper_lora.hyper_lora_family import _build_tiny
    from zoo.hyper_lora.hyper_lora_family import _example_batch

    model = _build_tiny(0)
    x, y = _example_batch(4)
    sx, sy = x["support_images"][0], x["support_labels"][0]
    shared = {"images": x["images"],
              "support_images": np.repeat(sx[None], 4, 0),
              "support_labels": np.repeat(sy[None], 4, 0)}
    expected = _np(model.predict_on_batch(shared))
    personal = model.personalize(sx, sy)
    assert not any("hyper" in w.path for w in personal.weights)
    np.testing.assert_allclose(_np(personal(x["images"])), expected,
                               atol=1e-5)
    tuner = AdapterTuner(model)
    tuner.reset(model.adapter_weights(sx, sy))
    np.testing.assert_allclose(_np(tuner.model(x["images"])), expected,
                               atol=1e-5)
    # Resetting Adam's state keeps its learning rate.
    tuner.set_learning_rate(0.5)
    tuner.reset(None)
    assert float(_np(tuner.model.optimizer.learning_rate)) == 0.5


def test_writers_are_seeded_styles_of_the_digits():
    from zoo.hyper_lora.hyper_lora_data import episode_batch
    from zoo.hyper_lora.hyper_lora_data import subject_episode
    from zoo.hyper_lora.hyper_lora_data import subject_seeds

    a = subject_episode(subject_seeds("test")[0], num_queries=6)
    b = subject_episode(subject_seeds("test")[0], num_queries=6)
    c = subject_episode(subject_seeds("test")[1], num_queries=6)
    np.testing.assert_array_equal(a["query_images"], b["query_images"])
    assert a["support_images"].shape == (5, 16, 16, 1)
    assert a["query_images"].min() >= 0 and a["query_images"].max() <= 1
    assert np.abs(a["support_images"] - c["support_images"]).max() > 0
    assert min(subject_seeds("test")) > 100_000  # unseen in training
    x, y = episode_batch(np.random.default_rng(0), batch_size=8,
                         subjects_per_batch=2)
    assert x["support_images"].shape == (8, 5, 16, 16, 1)
    # Queries of one writer share its support set.
    np.testing.assert_array_equal(x["support_labels"][0],
                                  x["support_labels"][3])
    assert y.shape == (8,)
