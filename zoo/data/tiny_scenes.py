"""Tiny scenes VQA: procedural RGB scenes and one-token questions.

Unlimited offline data for the DyVTE family (`zoo.token_exit`): every
scene is a 24x24 RGB canvas (black background), a 6x6 grid of 4x4
cells, with 1-6 shapes in distinct cells, each drawn at a random
offset of 0 or 1 pixel inside its cell:

| kind | footprint |
|---|---|
| `square` | filled 3x3 |
| `circle` | a 3x3 disc (plus sign, 5 pixels) |
| `triangle` | apex up: 1 pixel over 3 (4 pixels) |
| `bar` | 1x3 or 3x1 |

Colours are `red`, `green`, `blue` and `yellow`, each drawn with a
brightness in `[0.7, 1.0]`. The preset cuts the canvas into 4x4 patches
aligned with the cells, so each of its 36 image tokens holds at most one
shape: the object-level tokens a trained vision tower hands an MLLM (a
from-scratch model on shapes that straddle patches did not leave the
text-only plateau within 30k questions). Image tokens are 80 % of the
prompt (1 prefix + 36 image + 8 instruction tokens; LLaVA's 576 are
~87 %).

Question families (graded visual difficulty), each answered by one
token of `ANSWERS`:

| family | question (8 tokens, left-padded) | answer |
|---|---|---|
| `exist` | is there a {colour} {kind} ? | `yes` / `no` (balanced) |
| `colour` | what colour is the {kind} ? | the colour (kind unique) |
| `count` | how many {kind} ? / how many {colour} ? | `0`..`6` |
| `compare` | are there more {colour} than {colour} ? | `yes` / `no` |
| `spatial` | is the {kind} {relation} the {kind} ? | `yes` / `no` |

`exist` and `compare` draw the answer first (yes with probability 1/2)
and then a question that has it; `{relation}` is `left of`, `right
of`, `above` or `below`; `colour` and `spatial` ask only about
kinds that occur once (spatial compares the shapes' centres along the
asked axis, and never asks about two shapes whose centres are within one
pixel on that axis). `count` has the natural, skewed distribution of
the counts (most often 0-2): a text-only model gets its majority answer;
`scripts/bench_token_exit.py --part scenes-text-only` measures it.

Splits are disjoint seed streams: scene `i` of split `s` is drawn from
`numpy.random.default_rng([seed, SPLITS.index(s), chunk])`; the
continuous brightness draws make two identical scenes practically
impossible, and `tests/test_tiny_scenes.py` checks that no image of a
test sample appears in the train sample. The digits questions of
`zoo.data.digits_vqa` are kept in their own data set (and preset).

Numpy only; used by the DyVTE recipe, evaluator, benchmark and demo.
"""

import numpy as np

CANVAS = 24
CELL = 4
GRID = CANVAS // CELL
KINDS = ("square", "circle", "triangle", "bar")
COLOURS = ("red", "green", "blue", "yellow")
RGB = {"red": (1.0, 0.1, 0.1), "green": (0.1, 1.0, 0.1),
       "blue": (0.15, 0.3, 1.0), "yellow": (1.0, 1.0, 0.1)}
FAMILIES = ("exist", "colour", "count", "compare", "spatial")
RELATIONS = ("left", "right", "above", "below")
ANSWERS = ("no", "yes") + tuple(str(i) for i in range(7)) + COLOURS
VOCABULARY = (("<pad>", "<bos>", "is", "there", "a", "?", "what", "colour",
               "the", "how", "many", "are", "more", "than", "of")
              + KINDS + COLOURS + RELATIONS)
NUM_TEXT_TOKENS = 8
MAX_SHAPES = 6
SPLITS = ("train", "val", "test")
BRIGHTNESS = (0.7, 1.0)


def _stencils():
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    tri = np.array([[0, 0, 0], [0, 1, 0], [1, 1, 1]], bool)
    return {
        "square": [np.ones((3, 3), bool)],
        "circle": [cross],
        "triangle": [tri],
        "bar": [np.ones((1, 3), bool), np.ones((3, 1), bool)],
    }


STENCILS = _stencils()


def make_scene(rng, num_shapes=None):
    """Draws one scene: a list of shapes and its RGB image.

    The shapes occupy distinct cells of the `GRID` x `GRID` grid of
    `CELL` x `CELL` cells, each drawn at a random offset of 0 or 1 pixel
    inside its cell.

    Args:
        rng: `numpy.random.Generator`.
        num_shapes: int in `1..6`, or `None` (uniform in `1..6`).

    Returns:
        `(image, shapes)`: a float32 `(24, 24, 3)` array in `[0, 1]` and
        a list of dicts with `kind`, `colour`, `cy`, `cx` (centre of its
        pixels) and `box` (`y0, x0, y1, x1`).

    Example:

    ```python
    image, shapes = make_scene(np.random.default_rng(0))
    ```
    """
    if num_shapes is None:
        num_shapes = int(rng.integers(1, MAX_SHAPES + 1))
    if isinstance(num_shapes, bool) or not isinstance(
        num_shapes, (int, np.integer)
    ) or not 1 <= num_shapes <= MAX_SHAPES:
        raise ValueError(
            f"`num_shapes` must be an int in 1..{MAX_SHAPES} or None. "
            f"Received: num_shapes={num_shapes!r}"
        )
    image = np.zeros((CANVAS, CANVAS, 3), np.float32)
    cells = rng.choice(GRID * GRID, num_shapes, replace=False)
    shapes = []
    for cell in cells:
        kind = KINDS[int(rng.integers(len(KINDS)))]
        options = STENCILS[kind]
        stencil = options[int(rng.integers(len(options)))]
        h, w = stencil.shape
        y0 = int(cell // GRID) * CELL + int(rng.integers(0, CELL - h + 1))
        x0 = int(cell % GRID) * CELL + int(rng.integers(0, CELL - w + 1))
        colour = COLOURS[int(rng.integers(len(COLOURS)))]
        level = rng.uniform(*BRIGHTNESS)
        rgb = np.asarray(RGB[colour], np.float32) * np.float32(level)
        image[y0:y0 + h, x0:x0 + w][stencil] = rgb
        ys, xs = np.nonzero(stencil)
        shapes.append({"kind": kind, "colour": colour,
                       "cy": float(y0 + ys.mean()), "cx": float(x0 + xs.mean()),
                       "box": (y0, x0, y0 + h, x0 + w)})
    return image, shapes


def question_words(family, **slots):
    """The words of one question (without padding or `<bos>`).

    Args:
        family: str. One of `FAMILIES`.
        **slots: `kind`, `colour` (exist); `kind` (colour); `kind` or
            `colour` (count); `colour`, `other` (compare); `kind`,
            `relation`, `other` (spatial).

    Returns:
        A tuple of words.

    Example:

    ```python
    question_words("exist", colour="red", kind="circle")
    ```
    """
    if family == "exist":
        return ("is", "there", "a", slots["colour"], slots["kind"], "?")
    if family == "colour":
        return ("what", "colour", "is", "the", slots["kind"], "?")
    if family == "count":
        return ("how", "many", slots.get("kind") or slots["colour"], "?")
    if family == "compare":
        return ("are", "there", "more", slots["colour"], "than",
                slots["other"], "?")
    if family == "spatial":
        rel = slots["relation"]
        of = ("of",) if rel in ("left", "right") else ()
        return ("is", "the", slots["kind"], rel) + of + (
            "the", slots["other"], "?")
    raise ValueError(
        f"`family` must be one of {FAMILIES}. Received: family={family!r}")


def encode_words(words):
    """Token ids `[<bos>] + <pad>... + words` (9 ids, left-padded).

    Args:
        words: sequence of vocabulary words (at most 8).

    Returns:
        An int32 numpy array of `1 + NUM_TEXT_TOKENS` ids.

    Example:

    ```python
    encode_words(("how", "many", "circle", "?"))
    ```
    """
    words = tuple(words)
    if len(words) > NUM_TEXT_TOKENS:
        raise ValueError(
            f"A question has at most {NUM_TEXT_TOKENS} words. Received "
            f"{len(words)}: {' '.join(words)!r}"
        )
    unknown = [w for w in words if w not in VOCABULARY]
    if unknown:
        raise ValueError(
            f"Unknown words {unknown} in the question; the vocabulary is "
            f"{list(VOCABULARY[2:])}."
        )
    padded = ("<bos>",) + ("<pad>",) * (NUM_TEXT_TOKENS - len(words)) + words
    return np.array([VOCABULARY.index(w) for w in padded], "int32")


def parse_question(text):
    """The family and words of a question written out.

    Case, spaces and a `?` stuck to the last word do not matter; the
    words must follow one of the family templates of the module table.

    Args:
        text: str, e.g. `"Is the circle left of the square?"`.

    Returns:
        `(family, words)`.

    Example:

    ```python
    parse_question("how many red?")  # ("count", ("how", "many", ...))
    ```
    """
    words = tuple(str(text).lower().replace("?", " ?").split())
    kinds, colours = set(KINDS), set(COLOURS)
    n = len(words)
    ok = {
        "exist": n == 6 and words[:3] == ("is", "there", "a")
        and words[3] in colours and words[4] in kinds,
        "colour": n == 6 and words[:4] == ("what", "colour", "is", "the")
        and words[4] in kinds,
        "count": n == 4 and words[:2] == ("how", "many")
        and words[2] in kinds | colours,
        "compare": n == 7 and words[:3] == ("are", "there", "more")
        and words[3] in colours and words[4] == "than"
        and words[5] in colours and words[3] != words[5],
        "spatial": n >= 7 and words[:2] == ("is", "the")
        and words[2] in kinds and words[3] in RELATIONS
        and words[4:-2] == (("of", "the") if words[3] in ("left", "right")
                            else ("the",))
        and words[-2] in kinds and words[2] != words[-2],
    }
    for family, good in ok.items():
        if good and words[-1] == "?":
            return family, words
    raise ValueError(
        "`question` must follow one of the templates: 'is there a "
        "{colour} {kind}?', 'what colour is the {kind}?', 'how many "
        "{kind or colour}?', 'are there more {colour} than {colour}?', "
        "'is the {kind} {left of|right of|above|below} the {kind}?' with "
        f"kind in {list(KINDS)} and colour in {list(COLOURS)}. "
        f"Received: question={text!r}"
    )


def answer_question(shapes, family, words):
    """The answer (a word of `ANSWERS`) of a question about a scene.

    Args:
        shapes: the shape list of `make_scene`.
        family: str. One of `FAMILIES`.
        words: the question's words (`question_words`/`parse_question`).

    Returns:
        A word of `ANSWERS`, or `None` when the question has no answer
        for this scene (`colour`/`spatial` about a kind that does not
        occur exactly once, or a spatial relation within one pixel).

    Example:

    ```python
    answer_question(shapes, *parse_question("how many circle?"))
    ```
    """
    kinds = [s["kind"] for s in shapes]
    colours = [s["colour"] for s in shapes]
    if family == "exist":
        present = any(s["colour"] == words[3] and s["kind"] == words[4]
                      for s in shapes)
        return "yes" if present else "no"
    if family == "colour":
        if kinds.count(words[4]) != 1:
            return None
        return shapes[kinds.index(words[4])]["colour"]
    if family == "count":
        target = words[2]
        n = kinds.count(target) if target in KINDS else colours.count(target)
        return str(n)
    if family == "compare":
        return "yes" if colours.count(words[3]) > colours.count(
            words[5]) else "no"
    if family == "spatial":
        a, rel, b = words[2], words[3], words[-2]
        if kinds.count(a) != 1 or kinds.count(b) != 1:
            return None
        sa, sb = shapes[kinds.index(a)], shapes[kinds.index(b)]
        axis = "cx" if rel in ("left", "right") else "cy"
        gap = sa[axis] - sb[axis]
        if abs(gap) <= 1.0:
            return None
        before = gap < 0  # a is left of / above b
        return "yes" if before == (rel in ("left", "above")) else "no"
    raise ValueError(
        f"`family` must be one of {FAMILIES}. Received: family={family!r}")


def _ask(rng, shapes, family):
    """One question of `family` with an answer for `shapes`, or `None`."""
    kinds = [s["kind"] for s in shapes]
    colours = [s["colour"] for s in shapes]
    if family == "exist":
        pairs = {(s["colour"], s["kind"]) for s in shapes}
        if rng.random() < 0.5:
            colour, kind = sorted(pairs)[int(rng.integers(len(pairs)))]
        else:
            absent = [(c, k) for c in COLOURS for k in KINDS
                      if (c, k) not in pairs]
            colour, kind = absent[int(rng.integers(len(absent)))]
        return question_words("exist", colour=colour, kind=kind)
    if family == "colour":
        unique = [k for k in KINDS if kinds.count(k) == 1]
        if not unique:
            return None
        kind = unique[int(rng.integers(len(unique)))]
        return question_words("colour", kind=kind)
    if family == "count":
        if rng.random() < 0.5:
            return question_words(
                "count", kind=KINDS[int(rng.integers(len(KINDS)))])
        return question_words(
            "count", colour=COLOURS[int(rng.integers(len(COLOURS)))])
    if family == "compare":
        want = rng.random() < 0.5
        pairs = [(a, b) for a in COLOURS for b in COLOURS if a != b
                 and (colours.count(a) > colours.count(b)) == want]
        if not pairs:
            return None
        a, b = pairs[int(rng.integers(len(pairs)))]
        return question_words("compare", colour=a, other=b)
    if family == "spatial":
        unique = [k for k in KINDS if kinds.count(k) == 1]
        if len(unique) < 2:
            return None
        i, j = rng.choice(len(unique), 2, replace=False)
        rel = RELATIONS[int(rng.integers(len(RELATIONS)))]
        words = question_words("spatial", kind=unique[i], relation=rel,
                               other=unique[j])
        return words if answer_question(shapes, "spatial", words) else None
    raise ValueError(
        f"`family` must be one of {FAMILIES}. Received: family={family!r}")


def _check_args(split, num, families):
    if split not in SPLITS:
        raise ValueError(
            f"`split` must be one of {SPLITS}. Received: split={split!r}")
    if not isinstance(num, (int, np.integer)) or num < 1:
        raise ValueError(
            f"`num` must be a positive int. Received: num={num!r}")
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        raise ValueError(
            f"`families` must be a non-empty subset of {FAMILIES}. "
            f"Received: families={families!r}"
        )


def make_scenes_vqa(split="train", num=1000, seed=0, families=FAMILIES,
                    chunk=0):
    """`num` question/answer examples about fresh scenes of one split.

    Families are cycled in order (equal shares); each example is a new
    scene (a scene that cannot carry the family's question is redrawn).

    Args:
        split: str. `"train"`, `"val"` or `"test"`.
        num: int. Examples.
        seed: int.
        families: tuple of `FAMILIES` names.
        chunk: int >= 0. Independent draws of the same split (the
            training recipe takes a new chunk every epoch: unlimited
            data).

    Returns:
        `(x, y, info)`: `x` the backbone's input dict (`images` float32
        `(num, 24, 24, 3)`, `token_ids` int32 `(num, 9)`), `y` int32
        indices into `ANSWERS` and `info` a dict with `family` (int
        index into `FAMILIES`) and `num_shapes` arrays.

    Example:

    ```python
    x, y, info = make_scenes_vqa("val", num=100)
    ```
    """
    families = tuple(families)
    _check_args(split, num, families)
    if not isinstance(chunk, (int, np.integer)) or chunk < 0:
        raise ValueError(
            f"`chunk` must be an int >= 0. Received: chunk={chunk!r}")
    rng = np.random.default_rng([seed, SPLITS.index(split), chunk])
    images = np.zeros((num, CANVAS, CANVAS, 3), np.float32)
    tokens = np.zeros((num, 1 + NUM_TEXT_TOKENS), np.int32)
    answers = np.zeros(num, np.int32)
    fam = np.zeros(num, np.int32)
    counts = np.zeros(num, np.int32)
    for i in range(num):
        family = families[i % len(families)]
        while True:
            image, shapes = make_scene(rng)
            words = _ask(rng, shapes, family)
            if words is not None:
                break
        images[i] = image
        tokens[i] = encode_words(words)
        answers[i] = ANSWERS.index(answer_question(shapes, family, words))
        fam[i] = FAMILIES.index(family)
        counts[i] = len(shapes)
    x = {"images": images, "token_ids": tokens}
    return x, answers, {"family": fam, "num_shapes": counts}


def answer_distribution(y, info):
    """Share of each answer per family (documents the data set).

    Args:
        y: answers of `make_scenes_vqa`.
        info: its info dict.

    Returns:
        A dict family -> {answer word: share}.

    Example:

    ```python
    answer_distribution(*make_scenes_vqa("val", 500)[1:])
    ```
    """
    out = {}
    for f, family in enumerate(FAMILIES):
        sel = y[info["family"] == f]
        if len(sel) == 0:
            continue
        words, num = np.unique(sel, return_counts=True)
        out[family] = {ANSWERS[w]: round(float(c) / len(sel), 4)
                       for w, c in zip(words, num)}
    return out
