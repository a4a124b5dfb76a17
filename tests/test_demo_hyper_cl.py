"""Tests of the continual-learning demo tab (`demos/hyper_cl_digits.py`).

All tests are marked `demo` (run once, on torch, by `tests/run_suite.sh`):
they share one tiny HyperCL model (3 permuted tasks, 3 epochs each,
about 8 s on a 2-core CPU), trained once per module.
"""

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from demos import components
from demos import hub as hub_module
from demos import hyper_cl_digits as cl
from demos import hyper_mlp_digits as digits
from tests.demo_helpers import api_names
from tests.demo_helpers import digits_test_split  # noqa: F401 (fixture)
from tests.demo_helpers import gradio_env  # noqa: F401 (autouse fixture)
from tests.demo_helpers import serve
from zoo.data import DIGITS_CLASS_NAMES
from zoo.data.continual_digits import permute_features
from zoo.hyper_mlp import digit_image_to_features
from zoo.hyper_mlp import features_to_image

pytestmark = pytest.mark.demo

NUM_TASKS = 3
TAB = "hyper_cl_permuted_digits"


@pytest.fixture(scope="module")
def model():
    return cl.build_tiny_model(num_tasks=NUM_TASKS)


def _softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


# ----------------------------------------------------------------------
# predict (pure function)
# ----------------------------------------------------------------------
def test_predict_structure(model, test_digits):
    x, _ = test_digits
    top3, picture, inferred = cl.predict(features_to_image(x[1]), 1, model)
    assert len(top3) == 3 and set(top3) <= set(DIGITS_CLASS_NAMES)
    probs = np.array(list(top3.values()))
    assert np.all(probs >= 0) and probs.sum() <= 1 + 1e-6
    assert list(probs) == sorted(probs, reverse=True)
    assert picture.dtype == np.uint8 and picture.shape == (128, 128)
    assert inferred.startswith("Without the task id")
    assert f"over {NUM_TASKS} tasks" in inferred


def test_predict_applies_the_task_permutation(model, test_digits):
    x, _ = test_digits
    image = features_to_image(x[1])
    features = digit_image_to_features(image)
    pictures = []
    for task in range(NUM_TASKS):
        permuted = permute_features(features[None], task)
        top3, picture, inferred = cl.predict(image, task, model)
        probs = _softmax(model.predict_task(permuted, task)[0])
        expected = np.argsort(-probs, kind="stable")[:3]
        assert list(top3) == [DIGITS_CLASS_NAMES[i] for i in expected]
        np.testing.assert_allclose(
            list(top3.values()), probs[expected], atol=1e-5
        )
        np.testing.assert_array_equal(
            picture, features_to_image(permuted[0], 16)
        )
        task_ids, labels = model.infer_task(permuted)
        assert f"task {task_ids[0]} (" in inferred
        assert f"label {labels[0]}." in inferred
        assert f"the chosen task {task})" in inferred
        pictures.append(picture)
    # The permutation really changes what the target network sees.
    assert not np.array_equal(pictures[0], pictures[1])
    # Same picture, other task: the logits differ (other weights and
    # other pixel order).
    a = model.predict_task(permute_features(features[None], 1), 1)
    b = model.predict_task(permute_features(features[None], 2), 2)
    assert not np.allclose(a, b)


def test_predict_accepts_sketchpad_and_task_id_forms(model, test_digits):
    x, _ = test_digits
    gray = features_to_image(x[0], 8)
    rgba = np.zeros(gray.shape + (4,), dtype="uint8")
    rgba[..., 3] = 255 - gray
    expected, _, _ = cl.predict(gray, 2, model)
    for image, task in ((rgba, 2), ({"composite": rgba, "layers": []}, 2),
                        (gray, 2.0), (gray, "2"), (gray, np.int64(2))):
        top3, _, _ = cl.predict(image, task, model)
        assert list(top3) == list(expected)


@pytest.mark.parametrize(
    "image, task_id, message",
    [
        (None, 0, "No picture received for `image`"),
        ({"composite": None}, 0, "No picture received for `image`"),
        ({"layers": []}, 0, "without a 'composite' picture"),
        ("blank", 0, "Could not read a digit from `image`.*blank"),
        ("digit", NUM_TASKS, r"`task_id` .*\[0, 2\]"),
        ("digit", -1, r"`task_id` .*\[0, 2\]"),
        ("digit", 1.5, r"Received: task_id=1.5"),
        ("digit", "two", r"Received: task_id='two'"),
        ("digit", None, r"Received: task_id=None"),
        ("digit", True, r"Received: task_id=True"),
    ],
    ids=["none", "sketch-none", "sketch-no-composite", "blank",
         "task-too-big", "task-negative", "task-float", "task-str",
         "task-none", "task-bool"],
)
def test_predict_errors(model, test_digits, image, task_id, message):
    x, _ = test_digits
    if isinstance(image, str):
        image = (np.full((64, 64, 3), 255, "uint8") if image == "blank"
                 else features_to_image(x[0]))
    with pytest.raises(gr.Error, match=message):
        cl.predict(image, task_id, model)


# ----------------------------------------------------------------------
# accuracy chart
# ----------------------------------------------------------------------
def test_task_accuracies_and_figure(model):
    accs = cl.task_accuracies(model)
    assert len(accs["now"]) == NUM_TASKS
    assert all(0 <= a <= 1 for a in accs["now"])
    # Stored right after learning: every task but the last.
    assert accs["stored"][-1] is None
    assert all(0 <= a <= 1 for a in accs["stored"][:-1])
    assert accs["now"][-1] > 0.3  # the task just learned
    picture = cl.accuracy_figure(model, accs)
    assert picture.dtype == np.uint8 and picture.shape == (320, 640, 3)
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 3


# ----------------------------------------------------------------------
# demo and hub construction, gradio_client
# ----------------------------------------------------------------------
def test_standalone_demo_and_hub_build(model):
    demo = cl.build_demo(model)
    assert api_names(demo) == ["classify", "classify_drawing"]
    assert api_names(demo, "undocumented") == ["load_example"]
    assert demo._queue.max_size == components.QUEUE_MAX_SIZE
    assert any(t.preset == TAB and t.module == "demos.hyper_cl_digits"
               for t in hub_module.tabs())
    hub = hub_module.build_hub({TAB: model})
    assert api_names(hub) == [f"{TAB}_classify", f"{TAB}_classify_drawing"]
    with pytest.raises(ValueError, match="HyperCLClassifier"):
        cl.build_demo(digits.build_tiny_model(train=False))


def test_header_reads_preset_metrics(model, monkeypatch):
    monkeypatch.setattr(
        components, "read_metadata",
        lambda name: {"metrics": {"average_accuracy": 0.9512,
                                  "forgetting": 0.0123}},
    )
    header = cl._header(model, TAB)
    assert "95.1%" in header and "1.2%" in header
    assert "not available" in cl._header(model, None)


def test_client_classify(model, test_digits, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    x, _ = test_digits
    png = str(tmp_path / "digit.png")
    Image.fromarray(features_to_image(x[1], 16)).save(png)
    expected, _, inferred = cl.predict(np.asarray(Image.open(png)), 1, model)
    with serve(cl.build_demo(model)) as client:
        label, permuted, text = client.predict(
            handle_file(png), 1, api_name="/classify"
        )
        assert label["label"] == next(iter(expected))
        assert [c["label"] for c in label["confidences"]] == list(expected)
        assert np.asarray(Image.open(permuted)).shape[:2] == (128, 128)
        assert text == inferred
        with pytest.raises(AppError, match="task_id"):
            client.predict(handle_file(png), NUM_TASKS,
                           api_name="/classify")
