"""What `python -m zoo predict unem_gaussian_5shot FILE` reads.

The model classifies the queries of few-shot episodes: its input is a
dict `{"support": (B, Ns, d), "support_labels": (B, Ns), "query": (B,
Nq, d)}` of feature vectors (`d = 32` for the preset: the features of
the synthetic Gaussian class world, not images) and support labels, the
class indices `0..K-1` of the task (`K = 16`). Its output is `log U`,
the log soft assignment of every query to the `K` classes, so `predict`
prints the top classes of each query.

A JSON document holds one episode (`support` an `Ns x d` nested list,
`support_labels` `Ns` ints, `query` an `Nq x d` nested list) or a batch
of episodes (one more leading axis on each field).
"""

import numpy as np

from zoo.inputs import check_document

DOCUMENT = (
    "a few-shot episode: a JSON object {\"support\": Ns feature vectors, "
    "\"support_labels\": Ns class indices, \"query\": Nq feature vectors}"
    " (or one more leading axis on each for several episodes)"
)


def _array(document, key, kinds):
    value = document[key]
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in kinds or arr.size == 0:
        raise ValueError(
            f"`{key}` must be a non-empty nested list of numbers "
            f"({DOCUMENT}). Received: {str(value)[:80]}"
        )
    return arr


def _features(document, key, feature_dim):
    arr = _array(document, key, "iuf")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[-1] != feature_dim:
        raise ValueError(
            f"`{key}` must be a list of feature vectors of {feature_dim} "
            f"values each (or one such list per episode). Received: an "
            f"array of shape {arr.shape}"
        )
    return arr.astype("float32")


def _labels(document, support, num_classes):
    arr = _array(document, "support_labels", "iuf")
    if arr.dtype.kind == "f" and not (np.all(np.isfinite(arr))
                                      and np.all(arr == np.round(arr))):
        raise ValueError(
            "`support_labels` must be whole numbers (class indices). "
            f"Received: {str(document['support_labels'])[:80]}"
        )
    arr = arr.reshape((1,) + arr.shape) if arr.ndim == 1 else arr
    if arr.shape != support.shape[:2]:
        raise ValueError(
            "`support_labels` must hold one class index per support "
            f"vector: expected shape {support.shape[:2]} (or "
            f"{support.shape[1:2]} for one episode). Received: an array "
            f"of shape {arr.shape}"
        )
    if np.any(arr < 0) or np.any(arr >= num_classes):
        raise ValueError(
            f"`support_labels` must be class indices in [0, "
            f"{num_classes - 1}] (the model's {num_classes} classes per "
            f"task). Received values from {arr.min()} to {arr.max()}"
        )
    return arr.astype("int32")


def parse_episode_document(document, model, metadata):
    """Turns a JSON episode document into the model's input dict.

    Args:
        document: the parsed JSON: an object with `support` (`Ns`
            feature vectors), `support_labels` (`Ns` class indices) and
            `query` (`Nq` feature vectors); each may carry one more
            leading axis, one entry per episode.
        model: the loaded `zoo.UNEMFewShotClassifier` (its feature size
            and number of classes bound the fields).
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"support": float32 (B, Ns, d), "support_labels": int32 (B,
        Ns), "query": float32 (B, Nq, d)}`.

    Raises:
        ValueError: not an object, a missing field, or a malformed
            field; the message names the field.

    Example:

    ```python
    x = parse_episode_document(
        {"support": s.tolist(), "support_labels": ys.tolist(),
         "query": q.tolist()}, model, {})
    ```
    """
    check_document(document, ("support", "support_labels", "query"), DOCUMENT)
    feature_dim = int(model.backbone.feature_dim)
    support = _features(document, "support", feature_dim)
    query = _features(document, "query", feature_dim)
    if len(query) != len(support):
        raise ValueError(
            f"`query` holds {len(query)} episodes and `support` "
            f"{len(support)}; give one query set per support set."
        )
    labels = _labels(document, support, int(model.num_classes))
    return {"support": support, "support_labels": labels, "query": query}


def example_episode(model, metadata):
    """A valid document: one 5-shot meta-test episode, 10 queries.

    Drawn from the Gaussian class world the preset was trained on
    (`zoo.data.few_shot_episodes.GaussianClassWorld` with the model's
    number of classes and feature size; the preset's own world for 16
    classes and 32 features), with the evaluation's test seed.

    Args:
        model: the loaded `zoo.UNEMFewShotClassifier`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict with `support`, `support_labels` and `query` as nested
        lists (one episode).

    Example:

    ```python
    json.dump(example_episode(model, {}), open("episode.json", "w"))
    ```
    """
    from zoo.data.few_shot_episodes import GaussianClassWorld

    k = int(model.num_classes)
    world = GaussianClassWorld(num_classes=(k, k, k),
                               dim=int(model.backbone.feature_dim))
    batch, _ = world.episodes("test", 1, shots=5, num_query=10,
                              k_eff=min(5, k), seed=1)
    return {
        "support": np.round(batch["support"][0], 4).tolist(),
        "support_labels": batch["support_labels"][0].tolist(),
        "query": np.round(batch["query"][0], 4).tolist(),
    }
