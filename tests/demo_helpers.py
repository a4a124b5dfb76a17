"""Fixtures and helpers shared by the demo tests (`tests/test_demo*.py`).

A test module uses the fixtures by importing them, e.g.
`from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)`:
pytest registers a fixture in every module that holds it. The digits
test split is the fixture `test_digits`, imported as `digits_test_split`
(so that the test arguments do not shadow the import).
"""

import contextlib
import socket

import gradio as gr
import pytest

from zoo.data import load_digits


@pytest.fixture(autouse=True)
def gradio_env(tmp_path, monkeypatch):
    """No analytics; Gradio's cache and the demo examples in tmp_path."""
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))


@pytest.fixture(scope="module", name="test_digits")
def digits_test_split():
    """The fixture `test_digits`: `load_digits(split="test")`, `(x, y)`."""
    return load_digits(split="test")


def free_port():
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(blocks):
    """Launches `blocks` on a free loopback port; yields a Client."""
    from gradio_client import Client

    client = None
    try:
        _, url, _ = blocks.launch(
            server_name="127.0.0.1",
            server_port=free_port(),
            prevent_thread_lock=True,
            share=False,
            ssr_mode=False,
            quiet=True,
        )
        client = Client(url, verbose=False)
        yield client
    finally:
        if client is not None:
            client.close()
        blocks.close()


def hub_tabs(blocks):
    """The hub's model tabs (`gr.Tab` with an `elem_id` `"tab-..."`)."""
    return [b for b in blocks.blocks.values() if isinstance(b, gr.Tab)
            and (b.elem_id or "").startswith("tab-")]


def api_names(blocks, visibility="public"):
    """The sorted endpoint names of `blocks` with that visibility."""
    return sorted(
        fn.api_name for fn in blocks.fns.values()
        if fn.api_visibility == visibility
    )
