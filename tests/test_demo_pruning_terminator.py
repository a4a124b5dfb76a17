"""Tests of the Terminator pruning tab (`demos/pruning_terminator.py`).

The tab reuses `demos.pruning` (tested in test_demo_pruning.py); these
tests check that it works on a Terminator: a tiny untrained one (one
block of 4 filters) is pruned, the tab and the hub build, and the model
is left as it was. The bundled preset is not needed.
"""

import keras
import numpy as np
import pytest

from demos import hub as hub_module
from demos import pruning
from demos import pruning_terminator
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import hub_tabs
from zoo.pruning import is_prunable


@pytest.fixture(scope="module")
def model():
    return pruning_terminator.build_tiny_model()


def test_prunes_every_terminator_kernel_without_touching_the_model(model):
    before = [keras.ops.convert_to_numpy(w) for w in model.weights]
    x, y = pruning.digits_test()
    kernels = [v for v in model.trainable_variables if is_prunable(v)]
    n = sum(int(np.prod(v.shape)) for v in kernels)
    result = pruning.prune_and_evaluate(model, "Global MP", 80, x[:40],
                                        y[:40])
    # Every prunable kernel of the Terminator, implicit-kernel networks
    # included, is ranked together: round(n * 0.2) weights kept in all.
    assert len(result["layers"]) == len(kernels)
    assert any("hidden_kernel" in r["path"] for r in result["layers"])
    assert result["prunable"] == n
    assert sum(r["kept"] for r in result["layers"]) == round(n * 0.2)
    # Plain Global MP empties some of the small kernels; MT does not.
    assert min(r["kept"] for r in result["layers"]) == 0
    mt = pruning.prune_and_evaluate(model, "Global MP + MT", 80, x[:40],
                                    y[:40])
    assert min(r["kept"] for r in mt["layers"]) >= mt["min_weights"] >= 1
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))


def test_tab_and_hub_build(model):
    assert api_names(pruning_terminator.build_demo(model)) == ["prune"]
    tab = hub_module.get_tab("pruning_terminator")
    assert tab.preset == "terminator_2d_digits"
    hub = hub_module.build_hub({"pruning_terminator": model})
    assert [(t.elem_id, t.label) for t in hub_tabs(hub)] == [
        ("tab-pruning_terminator", pruning_terminator.TITLE)]
    assert api_names(hub) == ["pruning_terminator_prune"]
