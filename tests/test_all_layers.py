"""Every layer case of `tests/cases.py` through the shared harness."""

import keras
import numpy as np
import pytest

from tests import grad_audit
from tests import harness
from tests.cases import LAYER_CASES


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_harness(name, tmp_path):
    harness.run_case(name, LAYER_CASES[name], tmp_path)


def test_gradient_check_flags_dead_and_declared_weights():
    # The key bias of attention is dead by construction (softmax shift).
    case = LAYER_CASES["relative_causal_attention"]
    model, x, y = grad_audit.layer_case_model(case)
    with pytest.raises(AssertionError, match="key/bias"):
        harness.check_gradients(model, x, y, None)
    harness.check_gradients(model, x, y, case["zero_grad_weights"])
    declared = dict(case["zero_grad_weights"])
    with pytest.raises(AssertionError, match="structurally zero but"):
        harness.check_gradients(model, x, y,
                                {r"/query/bias$": "wrong", **declared})
    with pytest.raises(AssertionError, match="match nothing"):
        harness.check_gradients(model, x, y, {"absent": "wrong", **declared})


def test_batch_independence_check_flags_batch_statistics():
    inputs = keras.Input((3,))
    centred = keras.layers.Lambda(
        lambda t: t - keras.ops.mean(t, axis=0, keepdims=True)
    )(inputs)
    model = keras.Model(inputs, centred)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    with pytest.raises(AssertionError, match="other samples"):
        harness.check_batch_independence(model, x)
    harness.check_batch_independence(keras.Model(inputs, inputs * 2.0), x)
