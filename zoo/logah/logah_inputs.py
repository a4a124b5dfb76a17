"""`python -m zoo predict` input of the LoGAH preset: a JSON document.

The document names an MLP architecture and holds MNIST-1D signals:
`{"hidden_widths": [48, 40], "signals": [[40 floats], ...]}`. The GHN
predicts the MLP's weights from its layer graph and classifies the
signals with it.
"""

import numpy as np

from zoo.data.mnist_1d import load_mnist1d
from zoo.inputs import check_document

DOCUMENT = ("a JSON object with `hidden_widths` (list of ints) and "
            "`signals` (list of MNIST-1D signals of 40 floats)")


def parse_logah_document(document, model, metadata):
    """Turns a JSON document into the LoGAH model's input dict.

    Args:
        document: the parsed JSON: `hidden_widths` (list of positive
            ints, each `<= max_ck`) and `signals` (`N` lists of
            `input_dim` numbers).
        model: the loaded `zoo.LogahClassifier`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"features": float32 (N, input_dim), "node_features",
        "adjacency", "node_mask"}` (the graph repeated `N` times).

    Raises:
        ValueError: not an object, a missing or malformed field, or an
            architecture the GHN cannot predict; the message names it.

    Example:

    ```python
    x = parse_logah_document({"hidden_widths": [48, 40],
                              "signals": x_test[:2].tolist()}, model, {})
    ```
    """
    check_document(document, ("hidden_widths", "signals"), DOCUMENT)
    widths = document["hidden_widths"]
    if not isinstance(widths, list) or not all(
            isinstance(w, int) and not isinstance(w, bool) for w in widths):
        raise ValueError(
            "`hidden_widths` must be a list of ints, e.g. [48, 40]. "
            f"Received: {widths!r}")
    try:
        signals = np.asarray(document["signals"], "float32")
    except (TypeError, ValueError):
        signals = None
    dim = model.input_dim
    if (signals is None or signals.ndim != 2 or signals.shape[1] != dim
            or len(signals) == 0 or not np.all(np.isfinite(signals))):
        raise ValueError(
            f"`signals` must be a non-empty list of finite {dim}-number "
            "signals.")
    graph = model.graph_inputs(widths, len(signals))
    return {"features": signals, **graph}


def example_logah_document(model, metadata):
    """A valid document: two test signals and a held-out architecture.

    Args:
        model: the loaded `zoo.LogahClassifier`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict, a JSON-serialisable document.

    Example:

    ```python
    example_logah_document(model, {})["hidden_widths"]  # [48, 40]
    ```
    """
    x, _ = load_mnist1d("test")
    return {"hidden_widths": [48, 40], "signals": x[:2].tolist()}
