"""What `python -m zoo predict hyper_crl_pendulum FILE` reads.

The model takes `{"state": (n, state_dim), "action": (n, action_dim),
"task_id": (n,)}` and returns the normalised predicted state change
(`HyperCRLBackbone.next_state` turns it into the next state). One kind of
file: a JSON document with the three fields.
"""

import numpy as np

from zoo.inputs import check_document
from zoo.inputs import json_numbers

DOCUMENT = (
    "a JSON object {\"state\": state_dim numbers or a list of them, "
    "\"action\": action_dim numbers or a list of them, \"task_id\": an "
    "int or one int per sample}"
)


def _rows(value, field, size):
    arr = json_numbers(value, field, DOCUMENT).astype("float32")
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != size or len(arr) == 0:
        raise ValueError(
            f"`{field}` must be {size} numbers or a list of rows of "
            f"{size} numbers. Received: an array of shape {arr.shape}"
        )
    return arr


def parse_transition_document(document, model, metadata):
    """Turns a JSON document into the dynamics model's input dict.

    Args:
        document: the parsed JSON object with `state`, `action` and
            `task_id`.
        model: the loaded `HyperCRLDynamics`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"state": float32 (n, state_dim), "action": float32 (n,
        action_dim), "task_id": int32 (n,)}`.

    Raises:
        ValueError: a missing or malformed field, named.

    Example:

    ```python
    x = parse_transition_document(
        {"state": [1.0, 0.0, 0.0], "action": [0.5], "task_id": 2},
        model, {})
    ```
    """
    check_document(document, ("state", "action", "task_id"), DOCUMENT)
    b = model.backbone
    state = _rows(document["state"], "state", b.state_dim)
    action = _rows(document["action"], "action", b.action_dim)
    if len(action) != len(state):
        raise ValueError(
            f"`action` holds {len(action)} rows for {len(state)} states; "
            "give one action per state."
        )
    ids = np.asarray(document["task_id"])
    if ids.dtype.kind not in "iu" or ids.ndim > 1:
        raise ValueError(
            "`task_id` must be an integer or a list of integers. "
            f"Received: task_id={document['task_id']!r}"
        )
    ids = np.broadcast_to(ids, (len(state),)) if ids.ndim == 0 else ids
    if len(ids) != len(state) or np.any(ids < 0) or np.any(
            ids >= b.num_tasks):
        raise ValueError(
            f"`task_id` must give one id in [0, {b.num_tasks - 1}] (or "
            f"one per sample). Received: task_id={document['task_id']!r}"
        )
    return {"state": state, "action": action,
            "task_id": np.array(ids, "int32")}


def example_document(model, metadata):
    """A valid document: the pendulum hanging down, a push, task 1.

    Args:
        model: the loaded `HyperCRLDynamics`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict with `state`, `action` and `task_id`.
    """
    b = model.backbone
    state = [-1.0, 0.0, 0.5] if b.state_dim == 3 else [0.0] * b.state_dim
    return {"state": state, "action": [1.0] * b.action_dim,
            "task_id": min(1, b.num_tasks - 1)}
