"""Gradio demo of the `token_exit_vlm_scenes` preset (DyVTE on scenes).

Pick a scene (a seed of `zoo.data.tiny_scenes.make_scene`: a 24x24 RGB
canvas with 1-6 coloured shapes) and a question, chosen from the
question families of the data set or typed; the VLM answers it with the
batch-1 exit path (`prefill_with_exit`): after each decoder layer a
router reads the question's hidden states and, once its exit
probability exceeds the preset's threshold, the image tokens are
removed for the remaining layers. The tab shows the answer (and the
true one), the layer after which the image tokens left, the share of
decoder FLOPs saved (analytic; without an early exit the routers are a
cost), the router's exit probability at every layer and the attention
of the last prompt token over the image-token grid (mean over heads)
at the exit layer (the last layer that still reads the image) and at
the last layer of the full model (what it would have read without the
exit). Endpoints `"answer"` (seed, question) and `"scene"` (seed)
(`"<tab>_answer"`, `"<tab>_scene"` inside the hub).

A question about a kind of shape that must occur once (the colour and
spatial families) is refused with a user error when the scene does not
have exactly one such shape. A family name as the question (e.g.
`"spatial"`) asks the first question of that family, in an order
shuffled by the seed, that has an answer for the scene.

A hub tab: the module contract is in `demos/hub.py`.
"""

import itertools

import gradio as gr
import keras
import numpy as np

from demos.components import check_whole_number
from demos.components import figure_axes
from demos.components import figure_to_picture
from demos.components import header_markdown
from demos.components import output_picture
from demos.components import run_controls
from demos.components import standalone_builder
from demos.components import top_classes_label
from demos.components import unchecked
from demos.components import user_error
from demos.components import wire
from demos.token_exit import exit_plot
from demos.token_exit import flops_change_text
from demos.token_exit import preset_accuracy_line
from zoo.data import tiny_scenes as scenes
from zoo.token_exit.token_exit_eval import flops_saved
from zoo.token_exit.token_exit_presets import build_scenes_model

TITLE = "Visual-token exit VLM on tiny scenes (DyVTE)"
SUMMARY = ("A VLM answers questions about generated scenes of coloured "
           "shapes and drops its image tokens once a router says the "
           "question no longer needs them.")
PRESET = "token_exit_vlm_scenes"
NUM_SEEDS = 1_000_000
PICTURE_SCALE = 12
TOP_BAND = 28
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six")


def _question_text(words):
    text = " ".join(words[:-1]) + "?"
    return text[0].upper() + text[1:]


def family_questions(family):
    """Every question of one family, as text (all slot values).

    Args:
        family: str. One of `zoo.data.tiny_scenes.FAMILIES`.

    Returns:
        A list of str, e.g. `"Is there a red circle?"` (exist: 16,
        colour: 4, count: 8, compare: 12, spatial: 48 questions).

    Raises:
        gr.Error: `family` is not a family name.

    Example:

    ```python
    demos.token_exit_scenes.family_questions("colour")[0]
    # 'What colour is the square?'
    ```
    """
    if not isinstance(family, str) or family not in scenes.FAMILIES:
        raise user_error(
            f"`family` must be one of {list(scenes.FAMILIES)}. Received: "
            f"family={family!r}"
        )
    q = scenes.question_words
    if family == "exist":
        words = [q("exist", colour=c, kind=k)
                 for c in scenes.COLOURS for k in scenes.KINDS]
    elif family == "colour":
        words = [q("colour", kind=k) for k in scenes.KINDS]
    elif family == "count":
        words = ([q("count", kind=k) for k in scenes.KINDS]
                 + [q("count", colour=c) for c in scenes.COLOURS])
    elif family == "compare":
        words = [q("compare", colour=a, other=b)
                 for a, b in itertools.permutations(scenes.COLOURS, 2)]
    else:
        words = [q("spatial", kind=a, relation=r, other=b)
                 for a, b in itertools.permutations(scenes.KINDS, 2)
                 for r in scenes.RELATIONS]
    return [_question_text(w) for w in words]


def draw_scene(seed):
    """The scene of a seed, as the data set draws it.

    Args:
        seed: int in `[0, NUM_SEEDS)` (an integral float or a string of
            digits is accepted, as UI components send).

    Returns:
        `(image, shapes)` of `zoo.data.tiny_scenes.make_scene` with
        `numpy.random.default_rng(seed)`.

    Raises:
        gr.Error: a bad `seed`; the message names the argument.

    Example:

    ```python
    image, shapes = demos.token_exit_scenes.draw_scene(7)
    ```
    """
    seed = check_whole_number(seed, "seed", NUM_SEEDS, "a scene")
    return scenes.make_scene(np.random.default_rng(seed))


def scene_picture(image, scale=PICTURE_SCALE):
    """A scene upsampled (nearest neighbour) to a uint8 RGB picture.

    Args:
        image: float array `(24, 24, 3)` in `[0, 1]`.
        scale: int. Pixels per scene pixel.

    Returns:
        uint8 array `(24 * scale, 24 * scale, 3)`.

    Example:

    ```python
    picture = demos.token_exit_scenes.scene_picture(draw_scene(0)[0])
    ```
    """
    image = np.clip(np.asarray(image, "float64"), 0, 1)
    big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    return (255 * big + 0.5).astype("uint8")


def describe_shapes(shapes):
    """The shapes of a scene in words, left to right.

    Args:
        shapes: the shape list of `make_scene`.

    Returns:
        A str, e.g. `"a red circle, a blue bar"`.

    Example:

    ```python
    demos.token_exit_scenes.describe_shapes(draw_scene(0)[1])
    ```
    """
    ordered = sorted(shapes, key=lambda s: (s["cx"], s["cy"]))
    return ", ".join(f"a {s['colour']} {s['kind']}" for s in ordered)


def _why_unanswerable(shapes, family, words):
    kinds = [s["kind"] for s in shapes]
    if family == "colour":
        asked = [words[4]]
    else:
        asked = [words[2], words[6]]
    for kind in asked:
        n = kinds.count(kind)
        if n != 1:
            plural = "" if n == 1 else "s"
            return (f"the scene has {NUMBER_WORDS[n]} {kind}{plural}; "
                    f"this question needs exactly one {kind}")
    axis = "horizontal" if words[3] in ("left", "right") else "vertical"
    return (f"the {words[2]} and the {words[6]} are within one pixel "
            f"of each other on the {axis} axis")


def resolve_question(shapes, question, seed=0):
    """The family, words and true answer of a question about a scene.

    Args:
        shapes: the shape list of `make_scene`.
        question: str. A question written out (see
            `zoo.data.tiny_scenes.parse_question`), or a family name:
            then the first question of `family_questions(question)`, in
            an order shuffled by `seed`, that has an answer.
        seed: int. Shuffles the family's questions.

    Returns:
        `(family, words, answer)`, `answer` a word of `ANSWERS`.

    Raises:
        gr.Error: the question does not parse, or has no answer for this
            scene (the message says why, e.g. "the scene has two
            circles").

    Example:

    ```python
    image, shapes = draw_scene(3)
    resolve_question(shapes, "How many red?")  # ('count', (...), '1')
    ```
    """
    if not isinstance(question, str) or not question.strip():
        raise user_error(
            "`question` must be a question (str) or a family name in "
            f"{list(scenes.FAMILIES)}. Received: question={question!r}"
        )
    name = question.strip().lower()
    if name in scenes.FAMILIES:
        texts = family_questions(name)
        order = np.random.default_rng(int(seed)).permutation(len(texts))
        for i in order:
            family, words = scenes.parse_question(texts[i])
            answer = scenes.answer_question(shapes, family, words)
            if answer is not None:
                return family, words, answer
        raise user_error(
            f"No {name} question has an answer for this scene: it needs "
            "kinds of shape that occur exactly once (colour) or two of "
            "them apart (spatial). Pick another scene or family."
        )
    try:
        family, words = scenes.parse_question(question)
    except ValueError as exc:
        raise user_error(str(exc)) from None
    answer = scenes.answer_question(shapes, family, words)
    if answer is None:
        raise user_error(
            f"The question {_question_text(words)!r} has no answer for "
            f"this scene: {_why_unanswerable(shapes, family, words)}."
        )
    return family, words, answer


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    ok = (
        hasattr(backbone, "prefill_with_exit")
        and getattr(backbone, "image_size", None) == scenes.CANVAS
        and getattr(backbone, "image_channels", None) == 3
        and getattr(backbone, "num_text_tokens", None)
        == scenes.NUM_TEXT_TOKENS
        and getattr(backbone, "num_prefix_tokens", None) == 1
        and getattr(backbone, "vocabulary_size", None)
        == len(scenes.VOCABULARY)
        and getattr(model, "num_answers", None) == len(scenes.ANSWERS)
    )
    if not ok:
        raise ValueError(
            "This demo needs a zoo.TokenExitVLM on 24x24 RGB scenes with 1 "
            f"prefix + {scenes.NUM_TEXT_TOKENS} question tokens, the "
            f"{len(scenes.VOCABULARY)}-word scenes vocabulary and "
            f"{len(scenes.ANSWERS)} answers. Received: "
            f"{type(model).__name__}."
        )


def full_model_trace(model, x):
    """Router probabilities and last-token attention of the full model.

    Runs the decoder without an exit (full length, positions `0..T-1`);
    before layer `i` it takes `attention_probs` of the state entering
    layer `i` (the row of the last prompt token, mean over heads), after
    it the router's exit probability. Up to the exit layer the exit
    path computes the same states, so row `k` is what layer `k` read
    just before the image left.

    Args:
        model: a `zoo.TokenExitVLM`.
        x: its input dict, batch 1.

    Returns:
        `(exit_probs, attention)`: float64 arrays `(num_layers,)` and
        `(num_layers, T)` (each attention row sums to 1).

    Example:

    ```python
    probs, attention = full_model_trace(model, x)
    ```
    """
    backbone = model.backbone
    images, token_ids = backbone._check_inputs(x)
    hidden = backbone.embed(images, token_ids)
    positions = np.arange(backbone.sequence_length)
    probs, rows = [], []
    for layer, router in zip(backbone.transformer_layers, backbone.routers):
        att = layer.attention_probs(hidden, position_ids=positions)
        att = keras.ops.convert_to_numpy(att)[0, :, -1, :]
        rows.append(att.astype("float64").mean(axis=0))
        hidden = layer(hidden, position_ids=positions)
        gate = keras.ops.softmax(keras.ops.cast(router(hidden), "float32"))
        probs.append(float(keras.ops.convert_to_numpy(gate)[0, 1]))
    return np.array(probs), np.stack(rows)


def image_grid(backbone, attention_row):
    """The image-token part of an attention row, as the patch grid.

    Args:
        backbone: the `TokenExitVLMBackbone`.
        attention_row: float array `(T,)`.

    Returns:
        A float64 array `(g, g)`, `g = image_size // patch_size` (its
        sum is the row's attention share on the image).

    Example:

    ```python
    grid = image_grid(model.backbone, attention[k])  # (6, 6)
    ```
    """
    start = backbone.num_prefix_tokens
    g = backbone.image_size // backbone.patch_size
    row = np.asarray(attention_row, "float64")
    return row[start:start + backbone.num_image_tokens].reshape(g, g)


def attention_plot(image, grids, titles, width=6.4, height=3.4, dpi=100):
    """Attention maps drawn over the scene, side by side, as a picture.

    The maps share one colour scale (the largest cell of either), so the
    two panels compare. A white band of `TOP_BAND` rows on top leaves
    room for the UI's label.

    Args:
        image: float array `(24, 24, 3)`: the scene.
        grids: list of float arrays `(g, g)`.
        titles: list of str, one per grid.
        width, height, dpi: the figure's size in inches and its pixels
            per inch (see `demos.components.figure_axes`).

    Returns:
        uint8 picture `(340 + TOP_BAND, 640, 3)` with the defaults.

    Example:

    ```python
    picture = attention_plot(image, [grid_a, grid_b], ["exit", "last"])
    ```
    """
    fig, ax = figure_axes(width, height, dpi)
    ax.remove()
    axes = fig.subplots(1, len(grids))
    axes = np.atleast_1d(axes)
    peak = max(float(np.max(g)) for g in grids) or 1.0
    size = image.shape[0]
    for ax, grid, title in zip(axes, grids, titles):
        ax.imshow(np.clip(image, 0, 1), extent=(0, size, size, 0),
                  interpolation="nearest")
        ax.imshow(grid, extent=(0, size, size, 0), cmap="magma",
                          vmin=0.0, vmax=peak, alpha=0.6,
                          interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"per patch; shared scale, brightest {100 * peak:.1f}%",
                      fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    picture = figure_to_picture(fig)
    # A white band on top, under the UI's label badge (top-left).
    return np.pad(picture, ((TOP_BAND, 0), (0, 0), (0, 0)),
                  constant_values=255)


def analyse(seed, question, model):
    """Everything the tab shows about one scene and question, as data.

    Args:
        seed: int in `[0, NUM_SEEDS)`: the scene (`draw_scene`).
        question: str. A question or a family name (`resolve_question`).
        model: a `zoo.TokenExitVLM` shaped like the preset.

    Returns:
        A dict: `seed`, `image`, `shapes`, `family`, `words`, `truth`,
        `probs` (answer probabilities of the exit path, over `ANSWERS`),
        `answer`, `exit_layer`, `kept_tokens`, `flops_saved`,
        `exit_probs` (router probability per layer, full model),
        `attention_exit` and `attention_last` (`(g, g)` grids of the last
        token's attention on the image at the exit layer and at the last
        layer of the full model) and `image_share_exit` /
        `image_share_last` (their sums).

    Raises:
        gr.Error: a bad `seed` or `question`, or a question without an
            answer for this scene.

    Example:

    ```python
    result = analyse(3, "How many circle?", model)
    ```
    """
    image, shapes = draw_scene(seed)
    family, words, truth = resolve_question(shapes, question,
                                            seed=int(float(seed)))
    x = {"images": image[None],
         "token_ids": scenes.encode_words(words)[None]}
    backbone = model.backbone
    out = backbone.prefill_with_exit(x, model.exit_threshold)
    logits = model.answer_head(out["hidden_states"][:, -1])
    probs = keras.ops.convert_to_numpy(
        keras.ops.softmax(keras.ops.cast(logits, "float32")))[0]
    k = out["exit_layer"]
    exit_probs, attention = full_model_trace(model, x)
    grid_exit = image_grid(backbone, attention[k])
    grid_last = image_grid(backbone, attention[-1])
    return {
        "seed": int(float(seed)), "image": image, "shapes": shapes,
        "family": family, "words": words, "truth": truth,
        "probs": probs.astype("float64"),
        "answer": scenes.ANSWERS[int(np.argmax(probs))],
        "exit_layer": k, "kept_tokens": len(out["position_ids"]),
        "flops_saved": flops_saved(backbone, [k]),
        "exit_probs": exit_probs,
        "attention_exit": grid_exit, "attention_last": grid_last,
        "image_share_exit": float(grid_exit.sum()),
        "image_share_last": float(grid_last.sum()),
    }


def summary_text(result, num_layers):
    """The Markdown summary of `analyse`'s result.

    Args:
        result: dict of `analyse`.
        num_layers: int. Decoder layers of the model.

    Returns:
        A str: scene, question, answer (true answer), exit layer, FLOPs
        (see `demos.token_exit.flops_change_text`) and the image share
        of the last token's attention.

    Example:

    ```python
    summary_text(analyse(3, "count", model), model.backbone.num_layers)
    ```
    """
    k, last = result["exit_layer"], num_layers - 1
    verdict = "correct" if result["answer"] == result["truth"] else "wrong"
    later = f"layer {last}" if k + 1 == last else f"layers {k + 1}-{last}"
    where = (f"after layer **{k}** of {num_layers} ({later} ran on "
             f"{result['kept_tokens']} text tokens)" if k < last
             else "never (all layers saw the image)")
    attention = (
        f"The last token put **{100 * result['image_share_exit']:.1f}%** "
        f"of its attention on the image at layer {k}"
        + (" (the exit layer)" if k < last else "")
        + f", **{100 * result['image_share_last']:.1f}%** at layer {last} "
        "of the full model."
    )
    return (
        f"Scene **#{result['seed']}**: {describe_shapes(result['shapes'])}."
        f" *{_question_text(result['words'])}* ({result['family']}) "
        f"Answer **{result['answer']}** "
        f"({100 * result['probs'].max():.1f}%, true **{result['truth']}**, "
        f"{verdict}). Image tokens exited {where}; "
        f"{flops_change_text(result['flops_saved'])} {attention}"
    )


def predict(seed, question, model):
    """Answers a question about a generated scene with visual-token exit.

    Args:
        seed: int in `[0, NUM_SEEDS)`: the scene (an integral float or a
            string of digits is accepted, as UI components send).
        question: str. A question in the templates of
            `zoo.data.tiny_scenes.parse_question` (case and spaces do not
            matter) or a family name (`resolve_question`).
        model: a `zoo.TokenExitVLM` shaped like the preset.

    Returns:
        `(summary, answers, picture, attention, plot)`: the Markdown of
        `summary_text`, a dict `{answer: probability}` over `ANSWERS`
        (sums to 1), the uint8 scene picture `(288, 288, 3)`, the uint8
        attention maps at the exit layer and at the last layer
        (`attention_plot`) and the uint8 router plot
        (`demos.token_exit.exit_plot`).

    Raises:
        gr.Error: a bad `seed` or `question`, or a question without an
            answer for this scene; the message says which and why.

    Example:

    ```python
    summary, answers, picture, attention, plot = predict(
        3, "Is there a red circle?", zoo.load("token_exit_vlm_scenes"))
    ```
    """
    result = analyse(seed, question, model)
    b = model.backbone
    k, last = result["exit_layer"], b.num_layers - 1
    titles = [
        f"layer {k}" + (" (exit)" if k < last else "")
        + f": {100 * result['image_share_exit']:.0f}% on image",
        f"layer {last}, full model: "
        f"{100 * result['image_share_last']:.0f}%",
    ]
    attention = attention_plot(
        result["image"], [result["attention_exit"],
                          result["attention_last"]], titles)
    answers = {a: float(p) for a, p in zip(scenes.ANSWERS, result["probs"])}
    return (summary_text(result, b.num_layers), answers,
            scene_picture(result["image"]), attention,
            exit_plot(result["exit_probs"], model.exit_threshold, k))


def scene(seed):
    """The picture and shape list of a scene (the tab's scene preview).

    Args:
        seed: int in `[0, NUM_SEEDS)`.

    Returns:
        `(picture, text)`: the uint8 `scene_picture` and a Markdown line
        listing the shapes.

    Raises:
        gr.Error: a bad `seed`.

    Example:

    ```python
    picture, text = demos.token_exit_scenes.scene(3)
    ```
    """
    image, shapes = draw_scene(seed)
    n = len(shapes)
    text = (f"Scene **#{int(float(seed))}**, {n} shape{'s' * (n > 1)}: "
            f"{describe_shapes(shapes)}.")
    return scene_picture(image), text


def _header(model, preset):
    b = model.backbone
    g = b.image_size // b.patch_size
    intro = (
        f"A {b.num_layers}-layer decoder-only VLM (d={b.hidden_dim}) reads "
        f"1 prefix token, {b.num_image_tokens} image tokens ({g}x{g} "
        f"patches of {b.patch_size}x{b.patch_size} pixels of a 24x24 RGB "
        f"scene) and a question of {b.num_text_tokens} tokens. After each "
        "layer a DyVTE router (Li et al., 2024) reads the question's "
        "hidden states and may drop every image token for the remaining "
        f"layers (exit threshold {model.exit_threshold:g}). Pick a scene "
        "by its seed and a question (a family then one of its questions, "
        "or type one); a family name alone asks one of its questions that "
        "has an answer for the scene."
    )
    return header_markdown(TITLE, intro, preset_accuracy_line(preset))


def _question_choices(family):
    first = (f"any {family} question with an answer for this scene",
             family)
    return [first] + [(q, q) for q in family_questions(family)]


def render(model, api_prefix="", preset=None):
    """Adds the DyVTE scenes tab to the open Blocks (see `demos/hub.py`).

    Endpoints `f"{api_prefix}answer"` (seed, question) and
    `f"{api_prefix}scene"` (seed).

    Args:
        model: a `zoo.TokenExitVLM` shaped like the preset.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components: `seed`, `family`, `question`,
        `button`, `summary`, `answers`, `image`, `attention`, `plot`,
        `scene_text`, `status`.

    Raises:
        ValueError: the model does not fit the demo.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.token_exit_scenes.render(model, api_prefix="tes_")
    ```
    """
    _check_model(model)

    def answer(seed, question):
        return predict(seed, question, model)

    def choose_family(family):
        choices = _question_choices(family)
        return gr.update(choices=choices, value=choices[0][1])

    first_picture, first_text = scene(0)
    gr.Markdown(_header(model, preset))
    with gr.Row():
        with gr.Column():
            seed = unchecked(gr.Number(
                value=0, precision=0, minimum=0, maximum=NUM_SEEDS - 1,
                label=f"Scene seed (0-{NUM_SEEDS - 1})",
                info="Press Enter to show the scene.",
                elem_id=f"{api_prefix}seed"))
            scene_text = gr.Markdown(first_text,
                                     elem_id=f"{api_prefix}scene-text")
            family = gr.Dropdown(
                list(scenes.FAMILIES), value=scenes.FAMILIES[0],
                label="Question family", elem_id=f"{api_prefix}family")
            question = unchecked(gr.Dropdown(
                _question_choices(scenes.FAMILIES[0]),
                value=scenes.FAMILIES[0], allow_custom_value=True,
                label="Question (pick or type)",
                elem_id=f"{api_prefix}question"))
            button, status, summary = run_controls(
                "Answer", api_prefix, "answer-button")
            answers = top_classes_label(api_prefix, "Top-3 answers",
                                        "answers")
        with gr.Column():
            image = output_picture("Scene", f"{api_prefix}image",
                                   value=first_picture)
            attention = output_picture(
                "Last token's attention on the image",
                f"{api_prefix}attention")
            plot = output_picture("Router exit probability per layer",
                                  f"{api_prefix}plot")
    family.change(choose_family, [family], [question], queue=False,
                  api_visibility="private")
    wire(seed.submit, scene, [seed], [image, scene_text],
         f"{api_prefix}scene", status)
    wire(button.click, answer, [seed, question],
         [summary, answers, image, attention, plot],
         f"{api_prefix}answer", status)
    return {"seed": seed, "family": family, "question": question,
            "button": button, "summary": summary, "answers": answers,
            "image": image, "attention": attention, "plot": plot,
            "scene_text": scene_text, "status": status}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(seed=0):
    """A tiny untrained VLM with the scenes preset's inputs, for tests.

    Args:
        seed: int. Seed of the initialisers.

    Returns:
        A compiled `zoo.TokenExitVLM` (2 layers, d=8, 1 head).

    Example:

    ```python
    model = demos.token_exit_scenes.build_tiny_model()
    ```
    """
    return build_scenes_model(seed, num_layers=2, hidden_dim=8,
                              intermediate_dim=8, num_heads=1,
                              router_hidden_dim=4)
