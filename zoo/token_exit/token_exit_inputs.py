"""What `python -m zoo predict token_exit_vlm_digits FILE` reads.

The model takes a dict `{"images": (batch, 16, 16, 1), "token_ids":
(batch, 6), "exit_layers": (batch,)}`: the 8x8 digit upsampled to 16x16
(ink 1, background 0), the question's token ids
(`zoo.data.digits_vqa.encode_question`) and the layer after which the
image tokens are masked. `predict` prints the answer classes
(`zoo.data.digits_vqa.ANSWERS`).

Decision: two kinds of file, both answered by the full model
(`exit_layers = num_layers - 1`, unless the document gives
`exit_layer`): `predict` runs `model.predict` on the input, while the
routers' dynamic exit is `TokenExitVLM.predict_with_exit` (Python API,
demo tab).
- A JSON document (`parse_vqa_document`): one or more 8x8 (or 16x16)
  images and a question, by its words or its type.
- A picture (`DigitQuestionPictureInput`): read as an 8x8 digit and
  asked the default question, "which digit is it?".
"""

import numpy as np

from zoo.data.digits_vqa import QUESTION_TYPES
from zoo.data.digits_vqa import encode_question
from zoo.data.digits_vqa import parse_question
from zoo.data.digits_vqa import upsample
from zoo.inputs import PictureInput
from zoo.inputs import check_document
from zoo.inputs import json_numbers

DOCUMENT = (
    "a JSON object {\"image\": an 8x8 (or 16x16) nested list of pixels in "
    "[0, 1] (ink 1) or a list of them, \"question\": the question's words "
    "(e.g. \"which digit is it?\", \"how many bright row3?\") or a type "
    f"of {list(QUESTION_TYPES)}, \"row\": 0..7 (row_count types only, "
    "default 0), \"exit_layer\": optional, -1..num_layers-1 (default: the "
    "full model)}"
)
DEFAULT_QUESTION = "which digit is it?"


def _images(value):
    arr = json_numbers(value, "image", DOCUMENT)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] not in ((8, 8), (16, 16)) \
            or len(arr) == 0:
        raise ValueError(
            "`image` must be an 8x8 or 16x16 nested list, or a list of "
            f"them. Received: an array of shape {np.shape(value)}"
        )
    arr = arr.astype("float32")[..., None]
    return upsample(arr) if arr.shape[1] == 8 else arr


def _question(document):
    question = document["question"]
    if not isinstance(question, str):
        raise ValueError(
            f"`question` must be a string ({DOCUMENT}). Received: "
            f"question={question!r}"
        )
    if question not in QUESTION_TYPES:
        try:
            return encode_question(*parse_question(question))
        except ValueError as e:
            raise ValueError(
                f"{e} Or give a question type of {list(QUESTION_TYPES)}."
            ) from None
    row = document.get("row", 0) if question == "row_count" else 0
    if isinstance(row, bool):
        raise ValueError(f"`row` must be an int in 0..7. Received: {row!r}")
    return encode_question(question, row)


def _exit_layers(document, model, num_samples):
    last = model.backbone.num_layers - 1
    k = document.get("exit_layer", last)
    if isinstance(k, bool) or not isinstance(k, int) or not -1 <= k <= last:
        raise ValueError(
            f"`exit_layer` must be an int in [-1, {last}] ({last} = the "
            f"full model). Received: exit_layer={k!r}"
        )
    return np.full(num_samples, k, "int32")


def parse_vqa_document(document, model, metadata):
    """Turns a JSON document into the model's input dict.

    Args:
        document: the parsed JSON: an object with `image` (an 8x8 or
            16x16 nested list of pixels in `[0, 1]`, ink 1, or a list of
            them), `question` (the words of a question, e.g. `"which
            digit is it?"` or `"how many bright row3?"`, or a question
            type of `QUESTION_TYPES` with `row`) and optionally `row`
            and `exit_layer` (default: the full model).
        model: the loaded `TokenExitVLM` (its number of layers bounds
            `exit_layer`).
        metadata: dict. The preset's metadata (unused).

    Returns:
        `{"images": float32 (n, 16, 16, 1), "token_ids": int32 (n, 6),
        "exit_layers": int32 (n,)}`: the same question for every image.

    Raises:
        ValueError: not an object, a missing field, or a malformed
            `image`, `question`, `row` or `exit_layer`; the message names
            the field.

    Example:

    ```python
    x = parse_vqa_document({"image": [[0.0] * 8] * 8,
                            "question": "is it above four?"}, model, {})
    ```
    """
    check_document(document, ("image", "question"), DOCUMENT)
    images = _images(document["image"])
    token_ids = np.tile(_question(document)[None], (len(images), 1))
    return {"images": images, "token_ids": token_ids,
            "exit_layers": _exit_layers(document, model, len(images))}


def example_document(model, metadata):
    """A valid document: the first test digit and a row question.

    Args:
        model: the loaded `TokenExitVLM` (unused).
        metadata: dict. The preset's metadata (unused).

    Returns:
        dict `{"image": 8x8 nested list, "question": "how many bright
        row3?"}`.

    Example:

    ```python
    json.dump(example_document(model, {}), open("question.json", "w"))
    ```
    """
    from zoo.data import load_digits

    images, _ = load_digits("test", layout="image")
    return {"image": np.round(images[0, :, :, 0], 4).tolist(),
            "question": "how many bright row3?"}


class DigitQuestionPictureInput(PictureInput):
    """A digit picture, asked "which digit is it?" by the full model.

    The picture is read as an 8x8 digit by `zoo.inputs.PictureInput`,
    upsampled to the model's 16x16 and paired with the default question
    (`DEFAULT_QUESTION`); every layer sees the image (no exit).

    Example:

    ```python
    DigitQuestionPictureInput()
    ```
    """

    kind = "picture (asked \"which digit is it?\")"

    def __init__(self):
        super().__init__((8, 8, 1))

    def read(self, path, metadata, load_model):
        images, model = super().read(path, metadata, load_model)
        n = len(images)
        token_ids = encode_question(*parse_question(DEFAULT_QUESTION))
        return {"images": upsample(images.astype("float32")),
                "token_ids": np.tile(token_ids[None], (n, 1)),
                "exit_layers": _exit_layers({}, model, n)}, model
