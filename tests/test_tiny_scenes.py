"""The procedural tiny-scenes VQA generator (`zoo.data.tiny_scenes`)."""

import hashlib

import numpy as np
import pytest

from zoo.data import tiny_scenes as ts


def _scene_hashes(images):
    return {hashlib.sha1(im.tobytes()).hexdigest() for im in images}


def test_scenes_are_seeded_and_splits_disjoint():
    a, ya, ia = ts.make_scenes_vqa("train", 300, seed=0)
    b, yb, _ = ts.make_scenes_vqa("train", 300, seed=0)
    np.testing.assert_array_equal(a["images"], b["images"])
    np.testing.assert_array_equal(a["token_ids"], b["token_ids"])
    np.testing.assert_array_equal(ya, yb)
    c, _, _ = ts.make_scenes_vqa("train", 300, seed=0, chunk=1)
    assert not np.array_equal(a["images"], c["images"])
    train = _scene_hashes(ts.make_scenes_vqa("train", 2000, 0)[0]["images"])
    for split in ("val", "test"):
        other = _scene_hashes(ts.make_scenes_vqa(split, 500, 0)[0]["images"])
        assert not train & other, split
    # Families cycle in order: equal shares.
    assert np.bincount(ia["family"]).tolist() == [60] * 5


def test_shapes_sit_in_distinct_cells():
    rng = np.random.default_rng(3)
    sizes = {"square": 9, "circle": 5, "triangle": 4, "bar": 3}
    for _ in range(50):
        image, shapes = ts.make_scene(rng)
        assert 1 <= len(shapes) <= ts.MAX_SHAPES
        assert image.shape == (24, 24, 3) and image.dtype == np.float32
        cells = set()
        for s in shapes:
            y0, x0, y1, x1 = s["box"]
            cell = (y0 // ts.CELL, x0 // ts.CELL)
            # The whole shape lies inside one cell of the patch grid.
            assert ((y1 - 1) // ts.CELL, (x1 - 1) // ts.CELL) == cell
            cells.add(cell)
            lit = image[y0:y1, x0:x1].max(-1) > 0
            assert lit.sum() == sizes[s["kind"]]
            # Its pixels carry its colour's hue.
            rgb = image[y0:y1, x0:x1][lit]
            hue = np.asarray(ts.RGB[s["colour"]])
            np.testing.assert_allclose(rgb / rgb.max(-1, keepdims=True),
                                       np.broadcast_to(hue, rgb.shape),
                                       atol=1e-6)
        assert len(cells) == len(shapes)
        total = sum(sizes[s["kind"]] for s in shapes)
        assert (image.max(-1) > 0).sum() == total


def test_answers_follow_the_scene():
    x, y, info = ts.make_scenes_vqa("val", 500, seed=1)
    # Rebuild the scenes with the same stream: the stored answers are
    # the answers of the questions about those scenes.
    for i in range(len(y)):
        words = tuple(ts.VOCABULARY[t] for t in x["token_ids"][i]
                      if ts.VOCABULARY[t] not in ("<pad>", "<bos>"))
        family, parsed = ts.parse_question(" ".join(words))
        assert family == ts.FAMILIES[info["family"][i]]
        assert parsed == words
    dist = ts.answer_distribution(y, info)
    for family in ("exist", "compare", "spatial"):
        assert set(dist[family]) == {"no", "yes"}
        assert 0.35 < dist[family]["yes"] < 0.65, (family, dist[family])
    assert set(dist["colour"]) <= set(ts.COLOURS)


def test_answer_question_hand_cases():
    shapes = [
        {"kind": "circle", "colour": "red", "cy": 5.0, "cx": 3.0},
        {"kind": "square", "colour": "blue", "cy": 9.0, "cx": 15.0},
        {"kind": "triangle", "colour": "yellow", "cy": 12.0, "cx": 3.2},
        {"kind": "bar", "colour": "red", "cy": 20.0, "cx": 3.5},
        {"kind": "bar", "colour": "green", "cy": 1.0, "cx": 9.0},
    ]

    def ask(text):
        return ts.answer_question(shapes, *ts.parse_question(text))

    assert ask("is there a red circle?") == "yes"
    assert ask("is there a blue circle?") == "no"
    assert ask("what colour is the square?") == "blue"
    assert ask("what colour is the bar?") is None  # two bars
    assert ask("how many bar?") == "2"
    assert ask("how many red?") == "2"
    assert ask("how many triangle?") == "1"
    assert ask("are there more red than blue?") == "yes"
    assert ask("are there more blue than green?") == "no"  # a tie
    assert ask("is the circle left of the square?") == "yes"
    assert ask("is the circle right of the square?") == "no"
    assert ask("is the circle above the square?") == "yes"
    assert ask("is the square below the circle?") == "yes"
    assert ask("is the square above the circle?") == "no"
    # Centres within one pixel on the asked axis: no answer.
    assert ask("is the triangle left of the circle?") is None
    assert ask("is the triangle below the circle?") == "yes"
    assert ask("is the bar left of the square?") is None  # two bars


def test_encoding_and_bad_inputs():
    ids = ts.encode_words(("how", "many", "circle", "?"))
    assert ids.shape == (9,) and ids[0] == ts.VOCABULARY.index("<bos>")
    assert ids[-1] == ts.VOCABULARY.index("?")
    assert (ids[1:5] == ts.VOCABULARY.index("<pad>")).all()
    with pytest.raises(ValueError, match="Unknown words"):
        ts.encode_words(("how", "many", "dogs", "?"))
    with pytest.raises(ValueError, match="at most 8"):
        ts.encode_words(("is",) * 9)
    with pytest.raises(ValueError, match="templates"):
        ts.parse_question("is the circle left of the circle?")
    with pytest.raises(ValueError, match="templates"):
        ts.parse_question("is the circle above of the square?")
    with pytest.raises(ValueError, match="split"):
        ts.make_scenes_vqa("trainval", 10)
    with pytest.raises(ValueError, match="num"):
        ts.make_scenes_vqa("train", 0)
    with pytest.raises(ValueError, match="families"):
        ts.make_scenes_vqa("train", 10, families=("size",))
    with pytest.raises(ValueError, match="num_shapes"):
        ts.make_scene(np.random.default_rng(0), num_shapes=7)
