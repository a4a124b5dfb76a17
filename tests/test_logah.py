"""Tests of LoGAH: the decoder's slicing, layer graphs, the GHN family.

Layer harness cases (`tests/cases.py`, `logah_*`) and the tiny model
(`logah_classifier`) run through the shared harness; these tests check
what the harness cannot: the LoGAH layout and rank, the padded
predicted MLP against an ordinary Keras MLP, and the evaluator.
"""

import keras
import numpy as np
import pytest

import layers
from zoo.logah.logah_backbone import LogahBackbone
from zoo.logah.logah_classifier import LogahClassifier
from zoo.logah.logah_graph import architecture_graph
from zoo.logah.logah_graph import build_mlp
from zoo.logah.logah_graph import check_architecture


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_slice_kernel_follows_logah_layout():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 8)).astype("float32")  # torch (out, in)
    block = w.T  # Keras (in, out)
    # Dense: the top-left (out, in) corner, transposed.
    np.testing.assert_array_equal(
        _np(layers.slice_kernel(block, (3, 5), 8)), w[:5, :3].T)
    # Conv2d: W[:c_out*kh, :c_in*kw] viewed as (c_out, kh, c_in, kw).
    kh, kw, c_in, c_out = 2, 3, 2, 4
    ref = w[:c_out * kh, :c_in * kw].reshape(c_out, kh, c_in, kw)
    np.testing.assert_array_equal(
        _np(layers.slice_kernel(block, (kh, kw, c_in, c_out), 8)),
        ref.transpose(1, 3, 2, 0))
    with pytest.raises(ValueError, match="larger than max_ck=8"):
        layers.slice_kernel(block, (3, 3, 3, 2), 8)
    with pytest.raises(ValueError, match="larger than max_ck=4"):
        layers.LowRankWeightDecoder(max_ck=4, kernel_shape=(5, 2))


def test_low_rank_decoder_rank_and_parameter_counts():
    emb = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    dec = layers.LowRankWeightDecoder(max_ck=16, rank=2,
                                      hidden_units=(8,), seed=0)
    w = _np(dec(emb))
    assert w.shape == (3, 16, 16)
    assert all(np.linalg.matrix_rank(m, tol=1e-5) <= 2 for m in w)
    full = layers.LowRankWeightDecoder(max_ck=16, rank=2, hidden_units=(8,),
                                       full_rank=True, seed=0)
    full(emb)
    # MLP 6*8+8; low-rank head 8*8+8 and factor 2*16+16; full head 8*256+256.
    assert dec.num_decoder_params() == 56 + 72 + 48
    assert full.num_decoder_params() == 56 + 8 * 256 + 256


def test_architecture_graph_and_checks():
    g = architecture_graph((32, 16), 40, 10, max_ck=64, max_nodes=6)
    np.testing.assert_array_equal(g["node_mask"], [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(np.argwhere(g["adjacency"]),
                                  [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_allclose(g["node_features"][1, 3:5], [40 / 64, 0.5])
    assert g["node_features"][3, 2] == 1  # output dense
    with pytest.raises(ValueError, match="above max_ck=64"):
        check_architecture((65,), 64, 6)
    with pytest.raises(ValueError, match="at most 4 hidden layers"):
        check_architecture((8,) * 5, 64, 6)


@pytest.fixture(scope="module")
def tiny():
    backbone = LogahBackbone(max_nodes=5, max_ck=12, input_dim=6,
                             num_classes=3, hidden_dim=6, rank=3,
                             decoder_units=(8,), seed=0)
    return LogahClassifier(backbone)


def test_predicted_model_equals_the_padded_forward(tiny):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 6)).astype("float32")
    archs = [(12, 5), (), (3, 9, 12)]
    # One batch mixing four architectures (one graph per sample).
    graphs = [tiny.graph_inputs(a) for a in archs]
    batch = {k: np.concatenate([g[k] for g in graphs]) for k in graphs[0]}
    mixed = _np(tiny({"features": x, **batch}))
    for i, arch in enumerate(archs):
        mlp = tiny.predicted_model(arch)
        assert [layer.units for layer in mlp.layers] == list(arch) + [3]
        np.testing.assert_allclose(_np(mlp(x[i:i + 1]))[0], mixed[i],
                                   rtol=1e-5, atol=1e-5)


def test_params_mask_slices_and_normalises():
    from zoo.logah.logah_backbone import LogahParamsMask

    rng = np.random.default_rng(0)
    g = architecture_graph((5,), 3, 2, max_ck=6, max_nodes=4)
    feats, mask = g["node_features"][None], g["node_mask"][None]
    kernels = rng.normal(size=(1, 4, 6, 6)).astype("float32")
    biases = rng.normal(size=(1, 4, 6)).astype("float32")
    out = LogahParamsMask(6)(kernels, biases, feats, mask)
    k, b = _np(out["kernels"])[0], _np(out["biases"])[0]
    assert not k[0].any() and not k[3].any()  # input node, padding
    for node, (fan_in, fan_out, gain) in {1: (3, 5, 2), 2: (5, 2, 1)}.items():
        block = k[node]
        assert not block[fan_in:].any() and not block[:, fan_out:].any()
        np.testing.assert_allclose(
            np.sqrt((block[:fan_in, :fan_out] ** 2).mean()),
            np.sqrt(gain / fan_in), rtol=1e-5)
        np.testing.assert_array_equal(b[node, :fan_out],
                                      biases[0, node, :fan_out])
        assert not b[node, fan_out:].any()


def test_build_mlp_random_init_shapes():
    mlp = build_mlp((5, 4), 6, 3, kernel_initializer="glorot_uniform",
                    seed=0)
    assert [tuple(w.shape) for w in mlp.weights] == [
        (6, 5), (5,), (5, 4), (4,), (4, 3), (3,)]


def test_accuracy_after_k_steps_small():
    from zoo.logah.logah_eval import accuracy_after_k_steps
    from zoo.logah.logah_training import build_logah_classifier

    model = build_logah_classifier(seed=0, hidden_dim=4, rank=2,
                                   decoder_units=(4,))
    acc = accuracy_after_k_steps(model, (24,), "logah", steps=(0, 2))
    assert set(acc) == {0, 2} and all(0 <= a <= 1 for a in acc.values())


def test_predict_document_parsing(tiny):
    from zoo.logah.logah_inputs import parse_logah_document

    signals = np.zeros((2, 6)).tolist()
    x = parse_logah_document({"hidden_widths": [4, 5], "signals": signals},
                             tiny, {})
    assert x["features"].shape == (2, 6)
    assert x["node_features"].shape == (2, 5, 7)
    assert _np(tiny(x)).shape == (2, 3)
    for doc, message in [
        ({"signals": signals}, "hidden_widths"),
        ({"hidden_widths": "4", "signals": signals}, "list of ints"),
        ({"hidden_widths": [4], "signals": [[0.0] * 5]}, "6-number"),
        ({"hidden_widths": [13], "signals": signals}, "above max_ck=12"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_logah_document(doc, tiny, {})
