"""`zoo.optimizers.InplaceAdam` equals Keras's Adam on every backend."""

import keras
import numpy as np

from tests.harness import to_numpy
from zoo.optimizers import InplaceAdam


def _train(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                              keras.layers.Dense(3)])
    model.compile(optimizer=optimizer, loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.normal(size=(32, 3)).astype("float32")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return [to_numpy(w) for w in model.weights]


def test_same_updates_as_keras_adam():
    ours = _train(InplaceAdam(1e-2))
    ref = _train(keras.optimizers.Adam(1e-2))
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours[0], _train(InplaceAdam(1e-3))[0])


def test_schedule_and_serialization():
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 2, 0.5)
    ours = _train(InplaceAdam(schedule))
    ref = _train(keras.optimizers.Adam(schedule))
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    config = keras.optimizers.serialize(InplaceAdam(3e-3, beta_1=0.8))
    assert config["registered_name"] == "hyperzoo>InplaceAdam"
    revived = keras.optimizers.deserialize(config)
    assert isinstance(revived, InplaceAdam) and revived.beta_1 == 0.8
