"""Shared pytest setup: offline, quiet, one backend per process."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("KERAS_HOME", os.path.join(
    os.path.dirname(__file__), "..", ".keras_home"))

if os.environ.get("KERAS_BACKEND") == "torch":
    # Import torch before TensorFlow (keras core does the same).
    import torch  # noqa: F401

import keras  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Each test starts with a clear session and the float32 policy."""
    keras.backend.clear_session()
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def pytest_report_header(config):
    return f"keras {keras.version()}, backend {keras.backend.backend()}"
