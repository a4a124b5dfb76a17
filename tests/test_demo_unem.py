"""Tests of the UNEM/CAFA demo tab (`demos/unem_fewshot.py`).

The pure functions are called with an untrained model (initial
parameters) and the demo is built, then launched and driven with
`gradio_client`. The whole module is marked `demo`: it runs once (on
jax), not per backend, since everything it calls is backend-independent
code already tested per backend in `test_unem.py` / `test_cafa.py`.
"""

import gradio as gr
import pytest

from demos import hub as hub_module
from demos import unem_fewshot as demo
from tests.demo_helpers import api_names
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve
from zoo.baselines.digits_cnn import DigitsCNNBackbone
from zoo.baselines.digits_cnn import DigitsCNNClassifier

pytestmark = pytest.mark.demo


@pytest.fixture(scope="module")
def model():
    return demo.build_tiny_model(train=False)


def test_compare_episode_rows(model):
    summary, rows = demo.compare_episode(model, shots=5, seed=3, lam=10.0)
    assert [r[0] for r in rows] == [
        "UNEM (learned per-layer lambda, T)",
        "fixed-lambda EM (your lambda)",
        "fixed-lambda EM (default)",
        "fixed-lambda EM (best on this task, oracle)",
    ]
    accs = [r[2] for r in rows]
    assert all(0 <= a <= 100 for a in accs)
    # The oracle is the best lambda of a grid that contains 10 and 75.
    assert accs[3] >= max(accs[1], accs[2])
    assert "seed 3, 5-shot" in summary
    again, rows2 = demo.compare_episode(model, shots=5, seed=3, lam=10.0)
    assert rows2 == rows and again == summary


@pytest.mark.parametrize("kwargs, message", [
    (dict(shots=3), r"`shots` must be an integer, one of \[1, 5, 10\]"),
    (dict(seed=-1), r"`seed` must be a whole number in \[0, 2\^31\)"),
    (dict(lam=200.0), r"`lam` must be a number in \[0, 150\]"),
    (dict(shots="five"), "`shots` must be an integer"),
    (dict(seed="x"), "`seed` must be a whole number"),
    (dict(lam=[1]), "`lam` must be a number"),
])
def test_compare_episode_errors(model, kwargs, message):
    with pytest.raises(gr.Error, match=message):
        demo.compare_episode(model, **kwargs)


def test_learned_parameters_table(model):
    rows = demo.learned_parameters(model)
    assert len(rows) == 10
    assert [r[0] for r in rows] == list(range(1, 11))
    assert all(r[2] > 1.0 and r[1] > 0 for r in rows)


def test_compare_cafa_with_a_small_encoder():
    encoder = DigitsCNNClassifier(DigitsCNNBackbone(filters=(4, 6), seed=0),
                                  10)
    summary, rows = demo.compare_cafa("contrast", encoder, epochs=1)
    assert [r[0] for r in rows] == [
        "clean test digits, no adaptation",
        "contrast: no adaptation",
        "contrast: test-batch BN statistics",
        "contrast: entropy minimisation (TENT)",
        "contrast: CAFA",
    ]
    assert all(0 <= r[1] <= 100 for r in rows)
    assert "contrast" in summary and "CAFA" in summary
    with pytest.raises(gr.Error, match="`shift` must be one of"):
        demo.compare_cafa("blur", encoder)


def test_demo_endpoints_and_model_check(model):
    blocks = demo.build_demo(model)
    assert api_names(blocks) == ["cafa", "sample_episode"]
    with pytest.raises(ValueError, match="Gaussian-head"):
        demo.build_demo(DigitsCNNClassifier(DigitsCNNBackbone(), 10))


def test_tab_is_in_the_hub():
    tab = hub_module.get_tab("unem_fewshot")
    assert tab.preset == "unem_gaussian_5shot"
    module = hub_module.tab_module("unem_fewshot")
    for attr in ("TITLE", "render", "build_demo", "build_tiny_model"):
        assert hasattr(module, attr)


def test_hub_client_sample_episode_and_cafa(model):
    from gradio_client.exceptions import AppError

    hub = hub_module.build_hub({"unem_fewshot": model})
    with serve(hub) as client:
        api = client.view_api(return_format="dict", print_info=False)
        assert {"/unem_fewshot_sample_episode", "/unem_fewshot_cafa"} <= set(
            api["named_endpoints"])
        summary, table = client.predict(
            5, 1, 75.0, api_name="/unem_fewshot_sample_episode")
        assert "UNEM" in summary
        assert len(table["data"]) == 4
        with pytest.raises(AppError, match=r"`lam` must be a number in "
                           r"\[0, 150\]"):
            client.predict(5, 1, 500.0,
                           api_name="/unem_fewshot_sample_episode")
        summary, table = client.predict("noise",
                                        api_name="/unem_fewshot_cafa")
        assert "CAFA" in summary and len(table["data"]) == 5
