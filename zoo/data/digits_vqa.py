"""Digits VQA: templated questions about the 8x8 digits (numpy only).

Scikit-learn 8x8 digits, upsampled (nearest) to 16x16 and cut into 2x2
patches by the model, so each image gives 64 image tokens against 1
prefix token and 5 instruction tokens (image tokens are 91 % of the
70-token prompt, as in LLaVA). Four templated questions of different
visual difficulty, each answered by one token from `ANSWERS`:

| type | question tokens | answer |
|---|---|---|
| `digit` | which digit is it ? | `0`..`9` |
| `above_four` | is it above four ? | `yes` / `no` |
| `left_brighter` | is left half brighter ? | ink in columns 0-3 > 4-7 |
| `row_count` | how many bright row{k} ? | pixels > 0.5 in row k, `0`..`8` |

The answer is a classification over `ANSWERS` at the last prompt token
(one answer position; a one-token answer needs no generation). Used by
the DyVTE family (`zoo.token_exit`): its recipe, evaluator, benchmark
and demo.
"""

import numpy as np

from zoo.data.digits import load_digits

QUESTION_TYPES = ("digit", "above_four", "left_brighter", "row_count")
VOCABULARY = (("<pad>", "<bos>", "which", "digit", "is", "it", "?",
               "above", "four", "left", "half", "brighter", "how", "many",
               "bright") + tuple(f"row{k}" for k in range(8)))
ANSWERS = tuple(str(i) for i in range(10)) + ("no", "yes")
_TEMPLATES = {
    "digit": ("which", "digit", "is", "it", "?"),
    "above_four": ("is", "it", "above", "four", "?"),
    "left_brighter": ("is", "left", "half", "brighter", "?"),
    "row_count": ("how", "many", "bright", "row{k}", "?"),
}
BRIGHT = 0.5
IMAGE_SIZE = 16
VQA_SPLITS = ("train", "val", "test", "trainval")


def _check_split(split):
    if split not in VQA_SPLITS:
        raise ValueError(
            "`split` must be 'train', 'val', 'test' or 'trainval'. "
            f"Received: split={split!r}"
        )


def encode_question(qtype, row=0):
    """Token ids `[<bos>] + template` of one question.

    Args:
        qtype: str. One of `QUESTION_TYPES`.
        row: int in `0..7` (only for `row_count`).

    Returns:
        An int32 numpy array of 6 ids.

    Example:

    ```python
    encode_question("row_count", 3)
    ```
    """
    if qtype not in _TEMPLATES:
        raise ValueError(
            f"`qtype` must be one of {QUESTION_TYPES}. Received: "
            f"qtype={qtype!r}"
        )
    if not isinstance(row, (int, np.integer)) or not 0 <= row < 8:
        raise ValueError(f"`row` must be an int in 0..7. Received: {row!r}")
    words = ("<bos>",) + tuple(w.format(k=row) for w in _TEMPLATES[qtype])
    return np.array([VOCABULARY.index(w) for w in words], "int32")


def parse_question(text):
    """The question type and row of a question written out in words.

    Case, spaces and a `?` stuck to the last word do not matter:
    `"Which digit is it?"`, `"how many bright row3 ?"`.

    Args:
        text: str. The words of one template of the table above (the
            row of `row_count` written `row0`..`row7`).

    Returns:
        `(qtype, row)`: a name of `QUESTION_TYPES` and an int (0 unless
        `row_count`).

    Raises:
        ValueError: not one of the templates; the message lists them.

    Example:

    ```python
    parse_question("How many bright row3?")  # ("row_count", 3)
    ```
    """
    words = tuple(str(text).lower().replace("?", " ?").split())
    for qtype, template in _TEMPLATES.items():
        for row in range(8 if qtype == "row_count" else 1):
            if words == tuple(w.format(k=row) for w in template):
                return qtype, row
    known = [" ".join(t).replace(" ?", "?") for t in _TEMPLATES.values()]
    raise ValueError(
        f"`question` must be one of {known} (row{{k}}: row0..row7). "
        f"Received: question={text!r}"
    )


def answer(image8, digit, qtype, row=0):
    """The answer index (into `ANSWERS`) of a question about an image.

    Args:
        image8: float array `(8, 8)` in `[0, 1]`.
        digit: int label.
        qtype: str. One of `QUESTION_TYPES`.
        row: int. Row of `row_count` questions.

    Returns:
        An int.

    Example:

    ```python
    ANSWERS[answer(x[0, :, :, 0], y[0], "above_four")]
    ```
    """
    yes, no = ANSWERS.index("yes"), ANSWERS.index("no")
    if qtype == "digit":
        return int(digit)
    if qtype == "above_four":
        return yes if digit > 4 else no
    if qtype == "left_brighter":
        return yes if image8[:, :4].sum() > image8[:, 4:].sum() else no
    if qtype == "row_count":
        return int((image8[row] > BRIGHT).sum())
    raise ValueError(f"Unknown question type {qtype!r}.")


def upsample(images8):
    """`(N, 8, 8, 1)` digits to `(N, 16, 16, 1)` (nearest neighbour).

    Args:
        images8: float array `(N, 8, 8, 1)`.

    Returns:
        A float array `(N, 16, 16, 1)`: each pixel becomes a 2x2 block,
        i.e. exactly one image token of the 2x2 patch embedding.

    Example:

    ```python
    upsample(np.zeros((1, 8, 8, 1))).shape  # (1, 16, 16, 1)
    ```
    """
    factor = IMAGE_SIZE // images8.shape[1]
    return np.repeat(np.repeat(images8, factor, axis=1), factor, axis=2)


def make_vqa(split="train", seed=0, row_questions=1):
    """Question/answer examples about the digits of one split.

    Every image gets one `digit`, `above_four` and `left_brighter`
    question and `row_questions` `row_count` questions on distinct random
    rows (seeded by `seed` and the split).

    Args:
        split: str. `"train"`, `"val"`, `"test"` or `"trainval"`.
        seed: int.
        row_questions: int in `1..8`.

    Returns:
        `(x, y, info)`: `x` the backbone's input dict (`images` float32
        `(N, 16, 16, 1)`, `token_ids` int32 `(N, 6)`, `exit_layers` filled
        with a large value, i.e. the full model), `y` int32 answers and
        `info` a dict with `qtype` (int index into `QUESTION_TYPES`),
        `row` and `image_index` arrays.

    Example:

    ```python
    x, y, info = make_vqa("test")
    len(y)  # 2160
    ```
    """
    _check_split(split)
    if not isinstance(row_questions, int) or not 1 <= row_questions <= 8:
        raise ValueError(
            "`row_questions` must be an int in 1..8. Received: "
            f"row_questions={row_questions!r}"
        )
    images, digits = load_digits(split, layout="image")
    rng = np.random.default_rng([seed, VQA_SPLITS.index(split)])
    rows_tok, answers, qtypes, rows, index = [], [], [], [], []
    for i in range(len(images)):
        img8 = images[i, :, :, 0]
        asked = [(t, 0) for t in QUESTION_TYPES[:3]]
        asked += [("row_count", int(r)) for r in
                  rng.choice(8, row_questions, replace=False)]
        for qtype, row in asked:
            rows_tok.append(encode_question(qtype, row))
            answers.append(answer(img8, digits[i], qtype, row))
            qtypes.append(QUESTION_TYPES.index(qtype))
            rows.append(row)
            index.append(i)
    index = np.array(index, "int32")
    x = {
        "images": upsample(images)[index].astype("float32"),
        "token_ids": np.stack(rows_tok),
        "exit_layers": np.full(len(index), 1 << 20, "int32"),
    }
    info = {"qtype": np.array(qtypes, "int32"),
            "row": np.array(rows, "int32"), "image_index": index}
    return x, np.array(answers, "int32"), info
