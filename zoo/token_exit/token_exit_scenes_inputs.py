"""What `python -m zoo predict token_exit_vlm_scenes FILE` reads.

A JSON document: a question about a tiny scene, the scene given as a
24x24 RGB nested list (or a list of them) or drawn from a seed by
`zoo.data.tiny_scenes.make_scene`. `predict` runs the full model (or the
document's `exit_layer`) and prints the answer classes
(`zoo.data.tiny_scenes.ANSWERS`); the routers' dynamic exit is
`TokenExitVLM.predict_with_exit` (Python API, demo tab).
"""

import numpy as np

from zoo.data import tiny_scenes as scenes
from zoo.inputs import check_document
from zoo.inputs import json_numbers
from zoo.token_exit.token_exit_inputs import _exit_layers

SCENES_DOCUMENT = (
    "a JSON object {\"question\": the question's words (e.g. \"how many "
    "circle?\", \"is the bar left of the square?\"), and either \"image\": "
    "a 24x24x3 nested list of RGB values in [0, 1] (or a list of them) or "
    "\"scene_seed\": an int >= 0 (the scene tiny_scenes.make_scene draws "
    "from numpy.random.default_rng(seed)), \"exit_layer\": optional, "
    "-1..num_layers-1 (default: the full model)}"
)


def _scene_images(document):
    if "image" in document:
        arr = json_numbers(document["image"], "image", SCENES_DOCUMENT)
        if arr.ndim == 3:
            arr = arr[None]
        shape = (scenes.CANVAS, scenes.CANVAS, 3)
        if arr.ndim != 4 or arr.shape[1:] != shape or len(arr) == 0:
            raise ValueError(
                f"`image` must be a {shape} nested list of RGB values, or "
                f"a list of them. Received: an array of shape {arr.shape}"
            )
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                "`image` values must be in [0, 1]. Received values in "
                f"[{arr.min()}, {arr.max()}]"
            )
        return arr.astype("float32")
    seed = document.get("scene_seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(
            "`scene_seed` must be an int >= 0 (or give `image`). "
            f"Received: scene_seed={seed!r}"
        )
    image, _ = scenes.make_scene(np.random.default_rng(seed))
    return image[None]


def parse_scenes_document(document, model, metadata):
    """Turns a JSON document into the model's input dict.

    Args:
        document: the parsed JSON (`SCENES_DOCUMENT`).
        model: the loaded `TokenExitVLM` (its number of layers bounds
            `exit_layer`).
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"images": float32 (n, 24, 24, 3), "token_ids": int32 (n, 9),
        "exit_layers": int32 (n,)}`: the same question for every image.

    Raises:
        ValueError: not an object, a missing field, or a malformed
            `image`, `scene_seed`, `question` or `exit_layer`; the
            message names the field.

    Example:

    ```python
    x = parse_scenes_document({"scene_seed": 3,
                               "question": "how many circle?"}, model, {})
    ```
    """
    check_document(document, ("question",), SCENES_DOCUMENT)
    if "image" not in document and "scene_seed" not in document:
        raise ValueError(
            f"The document needs `image` or `scene_seed` ({SCENES_DOCUMENT})."
        )
    images = _scene_images(document)
    question = document["question"]
    if not isinstance(question, str):
        raise ValueError(
            f"`question` must be a string. Received: question={question!r}")
    _, words = scenes.parse_question(question)
    token_ids = np.tile(scenes.encode_words(words)[None], (len(images), 1))
    return {"images": images, "token_ids": token_ids,
            "exit_layers": _exit_layers(document, model, len(images))}


def example_scenes_document(model, metadata):
    """A valid document: scene seed 0 and a counting question.

    Args:
        model: the loaded `TokenExitVLM` (unused).
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict `{"scene_seed": 0, "question": "how many circle?"}`.

    Example:

    ```python
    json.dump(example_scenes_document(model, {}), open("q.json", "w"))
    ```
    """
    return {"scene_seed": 0, "question": "how many circle?"}
