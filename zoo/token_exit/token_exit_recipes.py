"""Data, two-stage training, inference and evaluation of the DyVTE VLM.

Data ("digits VQA"): scikit-learn 8x8 digits, upsampled (nearest) to
16x16 and cut into 2x2 patches, so each image gives 64 image tokens
against 1 prefix token and 5 instruction tokens (image tokens are 91 % of
the 70-token prompt, as in LLaVA). Four templated questions of different
visual difficulty, each answered by one token from `ANSWERS`:

| type | question tokens | answer |
|---|---|---|
| `digit` | which digit is it ? | `0`..`9` |
| `above_four` | is it above four ? | `yes` / `no` |
| `left_brighter` | is left half brighter ? | ink in columns 0-3 > 4-7 |
| `row_count` | how many bright row{k} ? | pixels > 0.5 in row k, `0`..`8` |

The answer is a classification over `ANSWERS` at the last prompt token
(one answer position; a one-token answer needs no generation).

Recipe of the preset `token_exit_vlm_digits` (`train_preset`): a
10-layer, narrow decoder (d=32, MLP 64, 2 heads), deeper than wide so
that, as in LLaVA's deep LLM, the text tokens have absorbed most of the
image before the last layers (a 6-layer d=32 / MLP 96 decoder still read
the image in its last two layers: 2 % FLOPs saved; chosen on the
validation split, see the README). Stage 1 trains the VLM from scratch on
the train split (routers frozen);
stage 2 freezes it and trains the routers as DyVTE does (one exit layer
per batch drawn uniformly from `0..L-1`, duplicated batch, agreement /
loss-ratio labels, router cross-entropy only); the exit threshold is the
one with the largest FLOPs saving whose accuracy drop on the validation
split is <= `MAX_VAL_DROP` (0.5 = DyVTE's argmax when none qualifies
better). Metrics are computed on the test split.
"""

import time

import keras
import numpy as np

from zoo.data import load_digits
from zoo.token_exit.token_exit_backbone import TokenExitVLMBackbone
from zoo.token_exit.token_exit_vlm import TokenExitVLM
from zoo.training import register_recipe

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
PRESET_NAME = "token_exit_vlm_digits"
PRESET = dict(
    backbone=dict(vocabulary_size=len(VOCABULARY), num_layers=10,
                  num_heads=2, hidden_dim=32, intermediate_dim=64,
                  image_size=IMAGE_SIZE, patch_size=2, num_prefix_tokens=1,
                  num_text_tokens=5, router_hidden_dim=64),
    vlm_epochs=16, vlm_batch_size=64, vlm_learning_rate=3e-3,
    router_epochs=3, router_batch_size=64, router_learning_rate=1e-3,
    train_row_questions=2,
)
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MAX_VAL_DROP = 0.005
EVAL_BATCH_SIZE = 256


def _check_split(split):
    if split not in ("train", "val", "test", "trainval"):
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
    rng = np.random.default_rng(
        [seed, ("train", "val", "test", "trainval").index(split)]
    )
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


def full_inputs(backbone, x):
    """`x` with `exit_layers` set to the full model (`L - 1`).

    Args:
        backbone: `TokenExitVLMBackbone`.
        x: input dict with `images` and `token_ids`.

    Returns:
        A new dict.

    Example:

    ```python
    model.predict(full_inputs(model.backbone, x))
    ```
    """
    return dict(x, exit_layers=np.full(len(x["images"]),
                                       backbone.num_layers - 1, "int32"))


def build_model(seed=0, **overrides):
    """The preset architecture, untrained, in the `"vlm"` stage.

    Args:
        seed: int. Sets Keras' global seed before building.
        **overrides: backbone arguments.

    Returns:
        A compiled `TokenExitVLM`.

    Example:

    ```python
    model = build_model(seed=0)
    ```
    """
    keras.utils.set_random_seed(seed)
    backbone = TokenExitVLMBackbone(**dict(PRESET["backbone"], **overrides))
    model = TokenExitVLM(backbone, num_answers=len(ANSWERS))
    model.compile()
    return model


def _schedule(peak, steps):
    warmup = max(1, steps // 20)
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(1, steps - warmup), alpha=0.0, warmup_target=peak,
        warmup_steps=warmup,
    )


def train_vlm(model, x, y, epochs, batch_size=64, learning_rate=2e-3,
              verbose=2):
    """Stage 1: trains everything but the routers on the answers.

    Args:
        model: `TokenExitVLM`.
        x: input dict (full model: `exit_layers` >= L - 1).
        y: answers.
        epochs: int.
        batch_size: int.
        learning_rate: float. Peak of a warm-up + cosine schedule (Adam).
        verbose: int.

    Returns:
        The Keras `History`.
    """
    model.set_stage("vlm")
    steps = epochs * -(-len(y) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(
        _schedule(learning_rate, steps), clipnorm=1.0))
    return model.fit(full_inputs(model.backbone, x), y, epochs=epochs,
                     batch_size=batch_size, shuffle=True, verbose=verbose)


def train_routers(model, x, y, epochs, batch_size=64, learning_rate=1e-3,
                  seed=0, verbose=1):
    """Stage 2: DyVTE router training on the frozen model.

    Each batch draws one exit layer `k ~ U{0..L-1}` (numpy, seeded) and
    runs `train_on_batch` with `exit_layers = k` in the `"router"` stage.

    Args:
        model: `TokenExitVLM` (trained stage 1).
        x: input dict.
        y: answers.
        epochs: int.
        batch_size: int.
        learning_rate: float. Adam, warm-up + cosine.
        seed: int.
        verbose: int. 1 prints one line per epoch.

    Returns:
        A list of per-epoch dicts: mean loss and, per layer, the share of
        "exit" labels seen.
    """
    model.set_stage("router")
    num = len(y)
    steps_per_epoch = -(-num // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(
        _schedule(learning_rate, epochs * steps_per_epoch)))
    rng = np.random.default_rng(seed)
    layers_count = model.backbone.num_layers
    log = []
    for epoch in range(epochs):
        order = rng.permutation(num)
        losses = []
        for s in range(0, num, batch_size):
            idx = order[s:s + batch_size]
            k = int(rng.integers(0, layers_count))
            xb = {"images": x["images"][idx],
                  "token_ids": x["token_ids"][idx],
                  "exit_layers": np.full(len(idx), k, "int32")}
            out = model.train_on_batch(xb, y[idx], return_dict=True)
            losses.append(float(out["loss"]))
        log.append({"epoch": epoch, "router_loss": float(np.mean(losses))})
        if verbose:
            print(f"router epoch {epoch}: loss {log[-1]['router_loss']:.4f}",
                  flush=True)
    return log


def exit_label_rates(model, x, y, batch_size=EVAL_BATCH_SIZE):
    """Share of DyVTE "exit" labels per exit layer (frozen model).

    Args:
        model: `TokenExitVLM`.
        x: input dict.
        y: answers.
        batch_size: int.

    Returns:
        A float numpy array `(num_layers,)`.
    """
    from layers.token_exit import token_exit_labels

    rates = []
    full = _logits(model, x, None, batch_size)
    for k in range(model.backbone.num_layers):
        exited = _logits(model, x, k, batch_size)
        labels = keras.ops.convert_to_numpy(
            token_exit_labels(full, exited, y))
        rates.append(float(np.mean(labels)))
    return np.array(rates)


def _logits(model, x, exit_layer, batch_size=EVAL_BATCH_SIZE):
    n = len(x["images"])
    last = model.backbone.num_layers - 1
    k = last if exit_layer is None else exit_layer
    out = []
    for s in range(0, n, batch_size):
        batch = {"images": x["images"][s:s + batch_size],
                 "token_ids": x["token_ids"][s:s + batch_size]}
        exits = np.full(len(batch["images"]), k, "int32")
        out.append(keras.ops.convert_to_numpy(
            model.answer_logits(batch, exits)))
    return np.concatenate(out)


def flops_saved(backbone, exit_layers, router_calls=True):
    """Analytic share of decoder prefill FLOPs saved by the exits.

    Args:
        backbone: `TokenExitVLMBackbone`.
        exit_layers: int array of exit layers.
        router_calls: bool. Charge the routers evaluated up to the exit
            (dynamic exit); `False` for a static exit layer.

    Returns:
        A float: `1 - sum(exited FLOPs) / sum(full FLOPs, no routers)`.
    """
    exit_layers = np.asarray(exit_layers)
    full = backbone.prefill_flops(
        np.full(exit_layers.shape, backbone.num_layers - 1),
        router_calls=False)
    exited = backbone.prefill_flops(exit_layers, router_calls=router_calls)
    return float(1.0 - exited.sum() / full.sum())


def evaluate_exit(model, x, y, threshold=None):
    """Full vs exited accuracy, exit layers and FLOPs saved.

    Args:
        model: `TokenExitVLM`.
        x: input dict.
        y: answers.
        threshold: float or `None` (the model's `exit_threshold`).

    Returns:
        A dict of metrics and the raw `predict_with_exit` output.
    """
    out = model.predict_with_exit(x, threshold, EVAL_BATCH_SIZE)
    metrics = {
        "accuracy_full": float(np.mean(out["full_logits"].argmax(-1) == y)),
        "accuracy_exit": float(np.mean(out["logits"].argmax(-1) == y)),
        "flops_saved": flops_saved(model.backbone, out["exit_layers"]),
        "mean_exit_layer": float(np.mean(out["exit_layers"])),
    }
    return metrics, out


def choose_threshold(model, split="val", seed=0):
    """The threshold with the largest FLOPs saving within `MAX_VAL_DROP`.

    Args:
        model: `TokenExitVLM` with trained routers.
        split: str. Selection split (never the test split).
        seed: int. Question seed.

    Returns:
        `(threshold, rows)`: the chosen threshold and one metrics dict
        per candidate of `THRESHOLDS`.
    """
    if split == "test":
        raise ValueError("The threshold must not be chosen on the test set.")
    x, y, _ = make_vqa(split, seed)
    rows, best = [], None
    for t in THRESHOLDS:
        m, _ = evaluate_exit(model, x, y, t)
        m["threshold"] = t
        rows.append(m)
        drop = m["accuracy_full"] - m["accuracy_exit"]
        if drop <= MAX_VAL_DROP and (
            best is None or m["flops_saved"] > best["flops_saved"]
        ):
            best = m
    return (best or rows[-1])["threshold"], rows


def evaluate_digits_vqa(model, split="test"):
    """Evaluator of `python -m zoo eval token_exit_vlm_digits`.

    Args:
        model: `TokenExitVLM`.
        split: str.

    Returns:
        A dict: `accuracy_full`, `accuracy_exit`, `flops_saved`,
        `mean_exit_layer`, `num_examples`, `threshold`.

    Example:

    ```python
    evaluate_digits_vqa(zoo.load("token_exit_vlm_digits"))
    ```
    """
    x, y, _ = make_vqa(split, seed=0)
    metrics, _ = evaluate_exit(model, x, y)
    metrics["num_examples"] = int(len(y))
    metrics["threshold"] = model.exit_threshold
    return metrics


def train_preset(epochs=None, out_dir=None, precision="float32", seed=0,
                 verbose=2, **overrides):
    """Both stages, threshold choice and test metrics of the preset.

    Args:
        epochs: int or `None`. Stage-1 epochs (stage 2 keeps its budget).
        out_dir: unused (no checkpoints: a few CPU minutes).
        precision: str. Dtype policy (set by the caller).
        seed: int.
        verbose: int.
        **overrides: backbone arguments.

    Returns:
        `(model, test_metrics, preset_metadata)`.

    Example:

    ```python
    zoo.training.train("token_exit_vlm_digits", "runs/tev")
    ```
    """
    cfg = PRESET
    epochs = epochs or cfg["vlm_epochs"]
    model = build_model(seed, **overrides)
    x, y, _ = make_vqa("train", seed, cfg["train_row_questions"])
    start = time.perf_counter()
    train_vlm(model, x, y, epochs, cfg["vlm_batch_size"],
              cfg["vlm_learning_rate"], verbose)
    vlm_seconds = time.perf_counter() - start
    start = time.perf_counter()
    router_log = train_routers(
        model, x, y, cfg["router_epochs"], cfg["router_batch_size"],
        cfg["router_learning_rate"], seed, verbose=int(verbose > 0))
    router_seconds = time.perf_counter() - start
    threshold, val_rows = choose_threshold(model, "val", seed)
    model.exit_threshold = float(threshold)
    model.set_stage("vlm")
    model.compile()
    metrics = evaluate_digits_vqa(model, "test")
    metrics["parameters"] = int(model.count_params())
    metrics["router_parameters"] = int(sum(
        r.count_params() for r in model.backbone.routers))
    metadata = {
        "description": (
            f"Tiny decoder-only VLM ({model.backbone.num_layers} layers, "
            f"d={model.backbone.hidden_dim}) on digit questions with DyVTE "
            "visual-token exit routers"
        ),
        "dataset": "digits_vqa",
        "evaluator": "zoo.token_exit.token_exit_recipes:evaluate_digits_vqa",
        "split": {"train": "train (1077 images x 5 questions)",
                  "val": "val (180 images x 4, threshold choice)",
                  "test": "test (540 images x 4)"},
        "vlm_epochs": epochs,
        "router_epochs": cfg["router_epochs"],
        "batch_size": cfg["vlm_batch_size"],
        "optimizer": (f"adam(peak {cfg['vlm_learning_rate']} / routers "
                      f"{cfg['router_learning_rate']}, 5% warm-up, cosine)"),
        "seconds": {"vlm": round(vlm_seconds, 1),
                    "routers": round(router_seconds, 1)},
        "router_log": router_log,
        "threshold_selection": val_rows,
        "label_names": list(ANSWERS),
        "vocabulary": list(VOCABULARY),
        "question_types": list(QUESTION_TYPES),
        "input_kind": "digits_vqa",
        "input_spec": (
            "dict: images float32 (batch, 16, 16, 1) (8x8 digit upsampled, "
            "ink 1), token_ids int32 (batch, 6) from "
            "token_exit_recipes.encode_question, exit_layers int32 (batch,)"
            f" ({model.backbone.num_layers - 1} = full model)"
        ),
        "pipeline_tag": "visual-question-answering",
        "license": "apache-2.0",
        "references": [
            "Li et al., 2024. Dynamic Visual-Token Exit and the Empirical "
            "Findings of MLLMs (DyVTE). arXiv:2411.19628",
        ],
    }
    return model, metrics, metadata


register_recipe(PRESET_NAME, train_preset,
                "DyVTE tiny VLM on digit questions (two stages)")
