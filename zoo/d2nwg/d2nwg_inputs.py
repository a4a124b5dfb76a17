"""The JSON input of `python -m zoo predict` for D2NWG presets."""

import numpy as np

from zoo.inputs import check_document
from zoo.inputs import json_numbers

DOCUMENT = ("a JSON object with `support` (ways x shots x features, or a "
            "batch of those), optional `latent` (latent_dim) and `time` "
            "(in [0, 1])")


def parse_flow_document(document, model, metadata):
    """Turns a JSON document into one flow step's input (the velocity).

    Args:
        document: the parsed JSON: `support` (`ways x shots x
            feature_dim` numbers, or one more leading batch axis);
            optional `latent` (`latent_dim` or `batch x latent_dim`;
            default zeros) and `time` (a number or one per task;
            default 0).
        model: the loaded `zoo.D2NWGGenerator`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"support": float32 (B, ways, shots, d), "latent": float32 (B,
        latent_dim), "time": float32 (B,)}`.

    Raises:
        ValueError: a missing or malformed field, named.

    Example:

    ```python
    x = parse_flow_document({"support": s.tolist()}, model, {})
    ```
    """
    check_document(document, ("support",), DOCUMENT)
    backbone = model.backbone
    support = json_numbers(document["support"], "support", DOCUMENT)
    if support.ndim == 3:
        support = support[None]
    if (support.ndim != 4 or support.shape[1] != backbone.ways
            or support.shape[3] != backbone.feature_dim
            or support.shape[2] < 1):
        raise ValueError(
            f"`support` must have shape ({backbone.ways}, shots, "
            f"{backbone.feature_dim}) or a batch of those. Received: "
            f"{support.shape}")
    batch = len(support)
    shapes = {"latent": (batch, backbone.latent_dim), "time": (batch,)}
    values = {}
    for field, shape in shapes.items():
        value = json_numbers(document.get(field, 0.0), field, DOCUMENT)
        try:
            values[field] = np.broadcast_to(value, shape).astype("float32")
        except ValueError:
            raise ValueError(
                f"`{field}` must broadcast to {shape}. Received shape "
                f"{value.shape}") from None
    if np.any(values["time"] < 0) or np.any(values["time"] > 1):
        raise ValueError(f"`time` must be in [0, 1]. Received: "
                         f"{values['time']}")
    return {"support": support.astype("float32"),
            "latent": values["latent"], "time": values["time"]}


def example_document(model, metadata):
    """A valid document: a 5-shot support set of digits 0, 1, 2, 3, 6.

    Args:
        model: the loaded `zoo.D2NWGGenerator`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict with `support` (nested lists), `latent` and `time`.

    Example:

    ```python
    json.dump(example_document(model, {}), open("support.json", "w"))
    ```
    """
    from zoo.d2nwg.d2nwg_eval import make_episodes

    backbone = model.backbone
    if backbone.ways == 5 and backbone.feature_dim == 64:
        support = make_episodes([(0, 1, 2, 3, 6)], 5)[0][0]
    else:
        support = np.zeros((backbone.ways, 2, backbone.feature_dim))
    return {"support": support.tolist(),
            "latent": [0.0] * backbone.latent_dim, "time": 0.5}
