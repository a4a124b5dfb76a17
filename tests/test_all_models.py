"""Registry loop: every model in `zoo` goes through the model harness."""

import pytest

import zoo
from tests import harness
from tests.cases import MODEL_GOLDENS


def test_registry_is_not_empty():
    assert len(zoo.list_models()) >= 3


@pytest.mark.parametrize("name", zoo.list_models())
def test_model_harness(name, tmp_path):
    spec = zoo.get_model_spec(name)
    golden = name if name in MODEL_GOLDENS else None
    assert golden is not None, f"{name} has no golden file"
    harness.run_model_test(spec, tmp_path, golden=golden)
