"""`zoo._inference_shim.compiled_forward` on the current backend.

Run once per backend (jax, tensorflow, torch): the compiled forward of a
tiny digits CNN equals `model.predict` (inference mode).
"""

import keras
import numpy as np
import pytest

import zoo
from zoo._inference_shim import compiled_forward


def _tiny_cnn(seed=0):
    keras.utils.set_random_seed(seed)
    backbone = zoo.DigitsCNNBackbone(filters=(3, 5), seed=seed)
    model = zoo.DigitsCNNClassifier(backbone, num_classes=10)
    # Non-trivial BatchNormalization statistics, so that inference mode
    # (moving statistics) differs from training mode.
    for norm in backbone.norms:
        width = norm.moving_mean.shape[0]
        norm.moving_mean.assign(np.linspace(-0.5, 0.5, width))
        norm.moving_variance.assign(np.linspace(0.5, 2.0, width))
    return model


@pytest.mark.parametrize("batch", [1, 4])
def test_compiled_forward_equals_predict(batch):
    model = _tiny_cnn()
    x = np.random.default_rng(0).random((batch, 8, 8, 1), "float32")
    forward = compiled_forward(model)
    out = forward(x)
    assert isinstance(out, np.ndarray) and out.shape == (batch, 10)
    np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=1e-5)
    # A second call (compiled path) gives the same values.
    np.testing.assert_allclose(forward(x), out, atol=1e-6)
    # Inference mode: not the batch-statistics output of training mode.
    train_out = keras.ops.convert_to_numpy(model(x, training=True))
    assert not np.allclose(out, train_out, atol=1e-3)


def test_compiled_forward_after_fit_and_other_inputs():
    model = _tiny_cnn(1)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(1)
    x = rng.random((8, 8, 8, 1), "float32")
    model.fit(x, rng.integers(0, 10, 8), epochs=1, verbose=0)
    forward = compiled_forward(model)
    for batch in (x[:1], x[1:3]):
        np.testing.assert_allclose(forward(batch),
                                   model.predict(batch, verbose=0),
                                   atol=1e-5)
