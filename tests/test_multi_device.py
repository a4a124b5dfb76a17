"""Data-parallel training on several (fake) JAX CPU devices.

Run by `make test` in its own process with
`KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=4`.
"""

import keras
import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.multi_device


class _SyncDispatch(keras.callbacks.Callback):
    """Keeps Keras' batch-end callbacks synchronous.

    With every callback async-safe, Keras on JAX reads each batch's logs
    in a thread pool while the main thread dispatches the next step. On
    the fake 4-device CPU platform that once aborted XLA inside a clean
    CI run under load (2026-12-07: `Fatal Python error: Aborted`, the
    pool threads in `convert_to_numpy` of the logs, the main thread in
    the metrics' `result`); 3 reruns alone passed. A callback that
    overrides the batch-end hooks makes Keras dispatch them in the main
    thread, which this test does not need to exercise.
    """

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


SYNC = [_SyncDispatch()]


@pytest.fixture
def devices():
    if keras.backend.backend() != "jax":
        pytest.skip("multi-device CPU tests run on the JAX backend")
    devs = keras.distribution.list_devices("cpu")
    if len(devs) < 4:
        pytest.skip(
            "needs 4 CPU devices: set "
            "XLA_FLAGS=--xla_force_host_platform_device_count=4"
        )
    return devs[:4]


def test_data_parallel_fit_of_a_zoo_model(devices):
    from zoo.hyper_mlp.hyper_mlp_presets import build_digits_classifier

    x, y = zoo.data.load_digits("train")
    n = (len(x) // 32) * 32  # every batch must split over 4 devices
    x, y = x[:n], y[:n]
    distribution = keras.distribution.DataParallel(devices=devices)
    with distribution.scope():
        model = build_digits_classifier(seed=0)
        history = model.fit(x, y, batch_size=32, epochs=2, verbose=0,
                            callbacks=SYNC)
    losses = history.history["loss"]
    assert losses[1] < losses[0]
    kernel = model.backbone.get_layer("hyper_dense_0").kernel_head
    # Variables are replicated on the 4 devices of the mesh.
    assert len(kernel.value.sharding.device_set) == 4
    x_test, y_test = zoo.data.load_digits("test")
    probs = model.predict(x_test, verbose=0, callbacks=SYNC)
    acc = (np.argmax(probs, 1) == y_test).mean()
    assert acc > 0.5


def test_data_parallel_continual_learning_step(devices):
    # The output regulariser (non-trainable targets) is replicated too.
    from zoo.data.continual_digits import make_tasks
    from zoo.hyper_cl.hyper_cl_presets import build_cl_classifier

    tasks = make_tasks("permuted", "train", 2)
    distribution = keras.distribution.DataParallel(devices=devices)
    with distribution.scope():
        model = build_cl_classifier("permuted", "chunked", beta=0.05,
                                    num_tasks=2, hidden_dims=(16,),
                                    chunk_size=128, hidden_units=(16,))
        model.start_task(1)
        x, y = tasks[1]
        n = 256
        history = model.fit(
            {"features": x[:n], "task_id": np.ones(n, "int32")}, y[:n],
            batch_size=32, epochs=2, verbose=0, callbacks=SYNC,
        )
    losses = history.history["loss"]
    assert losses[1] < losses[0]
    targets = model.regularizer.targets
    assert len(targets.value.sharding.device_set) == 4
