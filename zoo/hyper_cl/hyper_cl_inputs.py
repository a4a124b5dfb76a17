"""What `python -m zoo predict hyper_cl_permuted_digits FILE` reads.

The model takes a dict `{"features": (batch, 64), "task_id": (batch,)}`:
the features are the digit as the given task presents it (task 0: the
plain 8x8 digit; task t: the digit permuted by
`zoo.data.continual_digits.task_permutation(t)`), and the task id picks
the weights the hypernetwork generates.

Decision: two kinds of file.
- A JSON document `{"features": ..., "task_id": ...}`
  (`parse_task_document`): any task, the features given as the model
  sees them.
- A picture (`TaskZeroPictureInput`): a picture is a plain, unpermuted
  digit, which is exactly task 0's input, so it is classified with task
  0's weights. Task inference (the demo's "which task would the model
  pick", `HyperCLClassifier.infer_task`) is not offered: `predict` runs
  `model.predict` on the input, and inferring the task needs every
  task's weights, which the Python API and the demo tab provide.
"""

import numpy as np

from zoo.inputs import PictureInput
from zoo.inputs import check_document
from zoo.inputs import json_numbers

DOCUMENT = (
    "a JSON object {\"features\": 64 numbers, an 8x8 nested list or a "
    "list of either, \"task_id\": an int or one int per sample}"
)


def _features(value):
    arr = json_numbers(value, "features", DOCUMENT)
    if arr.shape[-2:] == (8, 8):
        arr = arr.reshape(arr.shape[:-2] + (64,))
    if arr.shape == (64,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 64 or len(arr) == 0:
        raise ValueError(
            "`features` must be 64 values, an 8x8 nested list, or a list "
            f"of either. Received: an array of shape {np.shape(value)}"
        )
    return arr.astype("float32")


def _task_ids(value, num_samples, num_tasks):
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = None
    ok = arr is not None and arr.dtype.kind in "iuf" and arr.ndim <= 1
    if ok and arr.dtype.kind == "f":
        ok = bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))
    if not ok:
        raise ValueError(
            "`task_id` must be an integer or a list of integers, one per "
            f"sample. Received: task_id={value!r}"
        )
    arr = np.broadcast_to(arr.astype("int32"), (num_samples,)) \
        if arr.ndim == 0 else arr.astype("int32")
    if len(arr) != num_samples:
        raise ValueError(
            f"`task_id` holds {len(arr)} ids for {num_samples} samples of "
            "`features`; give one id, or one per sample."
        )
    if np.any(arr < 0) or np.any(arr >= num_tasks):
        raise ValueError(
            f"`task_id` must be in [0, {num_tasks - 1}] (the {num_tasks} "
            f"tasks the model learned). Received: task_id={value!r}"
        )
    return np.array(arr)


def parse_task_document(document, model, metadata):
    """Turns a JSON document into the model's input dict.

    Args:
        document: the parsed JSON: an object with `features` (64
            numbers, an 8x8 nested list, or a list of either: the digit
            as the task presents it, i.e. already permuted for tasks > 0)
            and `task_id` (an int for every sample, or one int per
            sample).
        model: the loaded `HyperCLClassifier` (its number of tasks bounds
            `task_id`).
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"features": float32 (n, 64), "task_id": int32 (n,)}`.

    Raises:
        ValueError: not an object, a missing field, or a malformed
            `features` or `task_id`; the message names the field.

    Example:

    ```python
    x = parse_task_document({"features": [0.0] * 64, "task_id": 3},
                            model, {})
    ```
    """
    check_document(document, ("features", "task_id"), DOCUMENT)
    features = _features(document["features"])
    task_id = _task_ids(document["task_id"], len(features),
                        int(model.backbone.num_tasks))
    return {"features": features, "task_id": task_id}


def example_document(model, metadata):
    """A valid document: the first test digit as task 1 presents it.

    Args:
        model: the loaded `HyperCLClassifier`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict `{"features": 8x8 nested list, "task_id": 1}` (task 0 when
        the model has a single task).

    Example:

    ```python
    json.dump(example_document(model, {}), open("digit.json", "w"))
    ```
    """
    from zoo.data import load_digits
    from zoo.data.continual_digits import permute_features

    task = 1 if model.backbone.num_tasks > 1 else 0
    x, _ = load_digits("test")
    features = permute_features(x[0], task).reshape(8, 8)
    return {"features": np.round(features, 4).tolist(), "task_id": task}


class TaskZeroPictureInput(PictureInput):
    """A digit picture, classified with task 0's weights.

    Task 0 of permuted digits is the plain 8x8 digit, so a picture is
    task 0's input: it is read by `zoo.inputs.PictureInput` and given
    `task_id` 0.

    Example:

    ```python
    TaskZeroPictureInput()
    ```
    """

    kind = "picture (classified as task 0, the plain digits)"

    def __init__(self):
        super().__init__((64,))

    def read(self, path, metadata, load_model):
        features, model = super().read(path, metadata, load_model)
        return {"features": features,
                "task_id": np.zeros(len(features), "int32")}, model
