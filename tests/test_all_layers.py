"""Every layer case of `tests/cases.py` through the shared harness."""

import pytest

from tests import harness
from tests.cases import LAYER_CASES


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_harness(name, tmp_path):
    harness.run_case(name, LAYER_CASES[name], tmp_path)
