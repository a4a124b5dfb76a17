"""Registry loop: every model in `zoo` goes through the model harness."""

import pytest

import zoo
from tests import harness


def test_registry_is_not_empty():
    assert len(zoo.list_models()) >= 3


@pytest.mark.parametrize("name", zoo.list_models())
def test_model_harness(name, tmp_path):
    spec = zoo.get_model_spec(name)
    # Every declared model has golden outputs (tests/make_goldens.py).
    harness.run_model_test(spec, tmp_path, golden=name)
