"""`python -m zoo predict` input of the HyperLoRA preset: a JSON document.

The document holds a writer's labelled examples and the images to
classify: `{"support_images": [5 images], "support_labels": [5 ints],
"images": [N images]}`, each image a 16x16 list of numbers in [0, 1].
The hypernetwork personalises the base ViT to the writer and the
adapted model classifies the images.
"""

import numpy as np

from zoo.hyper_lora.hyper_lora_data import subject_episode
from zoo.hyper_lora.hyper_lora_data import subject_seeds
from zoo.inputs import check_document

DOCUMENT = ("a JSON object with `support_images` (k images, each a "
            "square list of lists of numbers in [0, 1]), `support_labels` "
            "(k ints) and `images` (N images of the same size)")


def _images(document, key, size):
    try:
        x = np.asarray(document[key], "float32")
    except (TypeError, ValueError):
        x = None
    if (x is None or x.ndim != 3 or x.shape[1:] != (size, size)
            or len(x) == 0 or not np.all(np.isfinite(x))):
        raise ValueError(
            f"`{key}` must be a non-empty list of {size}x{size} images "
            "of finite numbers.")
    return x[..., None]


def parse_hyper_lora_document(document, model, metadata):
    """Turns a JSON document into the HyperLoRA model's input dict.

    Args:
        document: the parsed JSON (see the module docstring).
        model: the loaded `zoo.HyperLoRAClassifier`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"images": (N, s, s, 1), "support_images": (N, k, s, s, 1),
        "support_labels": (N, k)}` (the support set repeated).

    Raises:
        ValueError: not an object, a missing or malformed field; the
            message names it.

    Example:

    ```python
    x = parse_hyper_lora_document(example_hyper_lora_document(model, {}),
                                  model, {})
    ```
    """
    check_document(document, ("support_images", "support_labels",
                              "images"), DOCUMENT)
    backbone = model.backbone
    size, k = backbone.image_size, backbone.support_size
    support = _images(document, "support_images", size)
    images = _images(document, "images", size)
    labels = document["support_labels"]
    if (not isinstance(labels, list) or len(labels) != k
            or len(support) != k or not all(
                isinstance(v, int) and not isinstance(v, bool)
                and 0 <= v < backbone.num_classes for v in labels)):
        raise ValueError(
            f"`support_images` and `support_labels` must hold {k} "
            f"examples, with int labels in [0, {backbone.num_classes}).")
    n = len(images)
    return {
        "images": images,
        "support_images": np.repeat(support[None], n, 0),
        "support_labels": np.repeat(
            np.asarray(labels, "int32")[None], n, 0),
    }


def example_hyper_lora_document(model, metadata):
    """A valid document: an unseen writer's 5 examples and 2 digits.

    Args:
        model: the loaded `zoo.HyperLoRAClassifier`.
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict, a JSON-serialisable document.

    Example:

    ```python
    example_hyper_lora_document(model, {})["support_labels"]
    ```
    """
    ep = subject_episode(subject_seeds("test")[0], "test",
                         model.backbone.support_size, num_queries=2)
    return {
        "support_images": ep["support_images"][..., 0].round(4).tolist(),
        "support_labels": [int(v) for v in ep["support_labels"]],
        "images": ep["query_images"][..., 0].round(4).tolist(),
    }
