"""Shared pytest setup: offline, quiet, one backend per process."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("KERAS_HOME", os.path.join(
    os.path.dirname(__file__), "..", ".keras_home"))

if os.environ.get("KERAS_BACKEND") == "torch":
    # Import torch before TensorFlow (keras core does the same).
    import torch

    if os.environ.get("HYPERZOO_TORCH_FLUSH_DENORMAL") == "1":
        # Denormals flushed to zero: the suite must not depend on them.
        torch.set_flush_denormal(True)

import gc  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402


def pytest_collection_finish(session):
    """Moves everything imported at collection out of the collector's way.

    TensorFlow, JAX, PyTorch, Gradio and keras-hub leave millions of
    long-lived objects; a full `gc.collect()` walks them all (0.4 s
    alone, seconds on a loaded 2-core box). Frozen objects are skipped.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True, scope="module")
def _collect_garbage_per_module():
    """One full garbage collection per test module (bounds memory)."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with a clear session and the float32 policy.

    The session is cleared without Keras's `gc.collect()` (seconds per
    test on the CI box); `_collect_garbage_per_module` collects instead.
    """
    keras.backend.clear_session(free_memory=False)
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def pytest_report_header(config):
    return f"keras {keras.version()}, backend {keras.backend.backend()}"
