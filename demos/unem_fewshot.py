"""Gradio demo of UNEM (transductive few-shot) and CAFA (test-time adaptation).

Two parts in one tab:

- Few-shot: sample a task of the synthetic Gaussian world's meta-test
  classes (support: all 16 classes, 1/5/10 shots; 75 queries from 5 of
  them) and compare the bundled `unem_gaussian_5shot` model (learned
  per-layer lambda and T) with the same EM iteration at a fixed lambda
  (yours, the reference default 75, and the best of the grid on this very
  task, an oracle); the learned per-layer parameters are listed.
  Endpoint `"sample_episode"` (`"<tab>_sample_episode"` in the hub).
- Test-time adaptation: pick a shift (rotation, noise, contrast) of the
  540 test digits and compare the `cafa_digits_encoder` preset without
  adaptation, with test-batch BatchNorm statistics, with entropy
  minimisation (TENT) and with CAFA. Endpoint `"cafa"`.

The CAFA encoder is the bundled `cafa_digits_encoder` preset when
present, else a small CNN trained on first use (a few seconds). A hub
tab: the module contract is in `demos/hub.py`.
"""

import functools

import gradio as gr
import keras

from demos.components import check_choice
from demos.components import check_number
from demos.components import header_markdown
from demos.components import int_radio
from demos.components import model_lock
from demos.components import preset_metrics
from demos.components import run_controls
from demos.components import standalone_builder
from demos.components import unchecked
from demos.components import user_error
from demos.components import wire
from zoo.preset_utils import list_presets
from zoo.preset_utils import load
from zoo.unem import baselines
from zoo.unem import cafa
from zoo.unem.unem_eval import predict_labels
from zoo.unem.unem_presets import build_unem_gaussian
from zoo.unem.unem_presets import gaussian_world
from zoo.unem.unem_training import train_unem_gaussian

TITLE = "UNEM few-shot + CAFA"
SUMMARY = ("Unrolled EM for transductive few-shot tasks, and test-time "
           "adaptation of a digits CNN.")
SHOTS = (1, 5, 10)
CAFA_PRESET = "cafa_digits_encoder"
METHOD_NAMES = {
    "source": "no adaptation",
    "bn_adapt": "test-batch BN statistics",
    "tent": "entropy minimisation (TENT)",
    "cafa": "CAFA",
}


def learned_parameters(model):
    """The per-layer parameters of a UNEM classifier, as table rows.

    Args:
        model: `zoo.UNEMFewShotClassifier` with a Gaussian head.

    Returns:
        A list of `[layer, lambda, T, scale]` rows (rounded to 3 places).

    Example:

    ```python
    demos.unem_fewshot.learned_parameters(zoo.load("unem_gaussian_5shot"))
    ```
    """
    params = model.layer_parameters()
    scale = round(float(params["scale"]), 3)
    return [
        [i + 1, round(float(lam), 3), round(float(t), 3), scale]
        for i, (lam, t) in enumerate(zip(params["lambdas"],
                                         params["temperatures"]))
    ]


def _check_shots(shots):
    """`shots` as an int of `SHOTS` (an int or a numeric string)."""
    try:
        number = float(shots)
    except (TypeError, ValueError, OverflowError):
        number = float("nan")
    if isinstance(shots, bool) or number not in SHOTS:
        raise user_error(
            f"`shots` must be an integer, one of {list(SHOTS)} (an int or "
            f"a numeric string). Received: shots={shots!r}"
        )
    return int(number)


def _check_seed(seed):
    """`seed` as an int in [0, 2^31) (an int or a numeric string)."""
    try:
        number = float(seed)
    except (TypeError, ValueError, OverflowError):
        number = float("nan")
    if isinstance(seed, bool) or not number.is_integer() \
            or not 0 <= number < 2**31:
        raise user_error(
            "`seed` must be a whole number in [0, 2^31). Received: "
            f"seed={seed!r}"
        )
    return int(number)


def compare_episode(model, shots=5, seed=0, lam=baselines.DEFAULT_LAMBDA):
    """Samples one meta-test task and compares UNEM with fixed-lambda EM.

    Args:
        model: a Gaussian-head `zoo.UNEMFewShotClassifier` for the
            Gaussian world (16 classes, 32 features).
        shots: int. 1, 5 or 10 support samples per class (a numeric
            string such as `"5"` is accepted, as API clients send).
        seed: int in [0, 2^31). Seed of the task (same seed, same
            task); a numeric string is accepted.
        lam: float in [0, 150]. The fixed lambda to compare with.

    Returns:
        `(summary, rows)`: a Markdown summary and `[method, lambda,
        accuracy %]` rows (UNEM, your lambda, the default 75, the best
        lambda of the grid on this task).

    Raises:
        gr.Error: `shots`, `seed` or `lam` of a wrong type or out of
            range; the message names the argument.

    Example:

    ```python
    summary, rows = demos.unem_fewshot.compare_episode(model, 5, seed=3)
    ```
    """
    shots = _check_shots(shots)
    seed = _check_seed(seed)
    lam = check_number(lam, "lam", 0.0, 150.0)
    world = gaussian_world()
    batch, yq = world.episodes("test", 1, shots, seed=seed)
    k = world.split_classes("test")
    unem_acc = baselines.accuracy(predict_labels(model, batch), yq)
    curve = dict(baselines.lambda_curve(batch, yq, k))
    mine = baselines.accuracy(baselines.fixed_lambda_em(batch, k, lam), yq)
    best_lam = max(curve, key=curve.get)
    rows = [
        ["UNEM (learned per-layer lambda, T)", "learned",
         round(100 * unem_acc, 1)],
        ["fixed-lambda EM (your lambda)", f"{lam:g}", round(100 * mine, 1)],
        ["fixed-lambda EM (default)", f"{baselines.DEFAULT_LAMBDA:g}",
         round(100 * curve[baselines.DEFAULT_LAMBDA], 1)],
        ["fixed-lambda EM (best on this task, oracle)", f"{best_lam:g}",
         round(100 * curve[best_lam], 1)],
    ]
    present = sorted(set(yq[0].tolist()))
    counts = ", ".join(f"{c}: {int((yq[0] == c).sum())}" for c in present)
    summary = (
        f"**Task (seed {seed}, {shots}-shot):** support = 16 classes x "
        f"{shots}; 75 queries from classes {present} ({counts}). "
        f"UNEM: **{100 * unem_acc:.1f}%**, fixed lambda {lam:g}: "
        f"**{100 * mine:.1f}%**."
    )
    return summary, rows


@functools.lru_cache(maxsize=1)
def default_cafa_encoder():
    """The CAFA source model: the bundled preset, or a quick tiny CNN.

    Returns:
        A `zoo.unem.DigitsCNNClassifier` on 8x8 digits.

    Example:

    ```python
    encoder = demos.unem_fewshot.default_cafa_encoder()
    ```
    """
    if CAFA_PRESET in list_presets():
        return load(CAFA_PRESET)
    from zoo.baselines.digits_cnn import DigitsCNNBackbone
    from zoo.baselines.digits_cnn import DigitsCNNClassifier
    from zoo.data import load_digits

    keras.utils.set_random_seed(0)
    model = DigitsCNNClassifier(DigitsCNNBackbone(filters=(8, 16), seed=0),
                                10)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x, y = load_digits("train", layout="image")
    model.fit(x[:1024], y[:1024], epochs=8, batch_size=128, verbose=0)
    return model


@functools.lru_cache(maxsize=8)
def _cafa_rows(encoder_id, shift, epochs):
    encoder = _ENCODERS[encoder_id]
    # Adaptation goes through `predict` and `fit`: one run per encoder.
    with model_lock(encoder):
        rows = cafa.evaluate_shifts(encoder, "test", shifts=(shift,),
                                    epochs=epochs)
    return tuple((r["shift"], r["method"], r["accuracy"]) for r in rows)


_ENCODERS = {}


def compare_cafa(shift, encoder=None, epochs=cafa.ADAPT_EPOCHS):
    """Accuracy on shifted test digits before and after adaptation.

    Results are cached per shift (adaptation takes a few seconds).

    Args:
        shift: str. `"rotation"`, `"noise"` or `"contrast"`.
        encoder: a digits CNN classifier, or `None` for
            `default_cafa_encoder()`.
        epochs: int. Adaptation epochs (TENT and CAFA).

    Returns:
        `(summary, rows)`: a Markdown summary and `[method, accuracy %]`
        rows (clean, no adaptation, BN statistics, TENT, CAFA).

    Raises:
        gr.Error: unknown shift.

    Example:

    ```python
    summary, rows = demos.unem_fewshot.compare_cafa("noise")
    ```
    """
    check_choice(shift, "shift", cafa.SHIFTS)
    encoder = encoder or default_cafa_encoder()
    _ENCODERS[id(encoder)] = encoder
    rows = []
    acc = {}
    for name, method, value in _cafa_rows(id(encoder), shift, epochs):
        label = ("clean test digits, no adaptation" if name == "clean"
                 else f"{shift}: {METHOD_NAMES[method]}")
        rows.append([label, round(100 * value, 1)])
        acc[(name, method)] = value
    before, after = acc[(shift, "source")], acc[(shift, "cafa")]
    summary = (
        f"**{shift}** (540 test digits): no adaptation "
        f"**{100 * before:.1f}%**, CAFA **{100 * after:.1f}%** "
        f"({100 * (after - before):+.1f} points). Only the BatchNorm "
        "scales and shifts adapt, with test-batch statistics."
    )
    return summary, rows


def _header(model, preset):
    intro = (
        "**UNEM** unrolls 10 EM iterations of a transductive few-shot "
        "classifier and learns each layer's class-balance weight lambda "
        "and temperature T (Zhou et al., CVPR 2025) instead of grid "
        "searching one lambda, whose best value is sharply peaked. "
        "**CAFA** adapts a trained CNN at test time by pulling features "
        "towards the source class statistics (Jung et al., ICCV 2023)."
    )
    metrics = preset_metrics(preset)
    if "accuracy" in metrics:
        accuracy = (
            f"Preset `{preset}` on 1000 meta-test tasks: UNEM "
            f"**{100 * metrics['accuracy']:.1f}%**, best fixed lambda "
            f"{100 * metrics.get('accuracy_best_fixed_lambda', 0):.1f}%, "
            "default lambda "
            f"{100 * metrics.get('accuracy_default_lambda', 0):.1f}% "
            "(from the preset's metadata)."
        )
    else:
        accuracy = ("Held-out accuracy: not available (model not loaded "
                    "from a preset).")
    return header_markdown(TITLE, intro, accuracy)


def _check_model(model):
    head = getattr(model, "head", None)
    backbone = getattr(model, "backbone", None)
    if head != "gaussian" or getattr(backbone, "feature_dim", None) != 32 \
            or getattr(model, "num_classes", None) != 16:
        raise ValueError(
            "The UNEM demo needs a Gaussian-head UNEMFewShotClassifier for "
            "the Gaussian world (feature_dim=32, num_classes=16). "
            f"Received: {type(model).__name__} with head={head!r}."
        )


def render(model, api_prefix="", preset=None):
    """Adds the UNEM/CAFA tab to the open Blocks (see `demos/hub.py`).

    Endpoints: `f"{api_prefix}sample_episode"` (shots, seed, lambda) and
    `f"{api_prefix}cafa"` (shift).

    Args:
        model: a Gaussian-head `zoo.UNEMFewShotClassifier` (16 classes,
            32 features), e.g. `zoo.load("unem_gaussian_5shot")`.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. Preset the model came from (header).

    Returns:
        A dict of the created components.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.unem_fewshot.render(model, api_prefix="unem_")
    ```
    """
    _check_model(model)

    def sample(shots, seed, lam):
        return compare_episode(model, shots, seed, lam)

    def adapt(shift):
        return compare_cafa(shift)

    gr.Markdown(_header(model, preset))
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Few-shot task (meta-test classes)")
            shots = int_radio(SHOTS, value=5, label="Shots per class",
                             elem_id=f"{api_prefix}shots")
            seed = unchecked(gr.Number(value=0, precision=0, label="Task seed",
                             elem_id=f"{api_prefix}seed"))
            lam = unchecked(gr.Slider(
                0, 150, value=baselines.DEFAULT_LAMBDA, step=0.5,
                label="Fixed lambda to compare",
                elem_id=f"{api_prefix}lambda"))
            sample_button, episode_status, summary = run_controls(
                "Sample task", api_prefix, "sample-button", "episode")
            table = gr.Dataframe(
                headers=["method", "lambda", "accuracy %"],
                interactive=False, elem_id=f"{api_prefix}episode-table",
            )
            gr.Markdown("#### Learned per-layer parameters")
            gr.Dataframe(
                value=learned_parameters(model),
                headers=["layer", "lambda", "T", "feature scale"],
                interactive=False, elem_id=f"{api_prefix}parameters",
            )
        with gr.Column():
            gr.Markdown("#### Test-time adaptation (CAFA)")
            shift = unchecked(gr.Radio(list(cafa.SHIFTS), value="rotation",
                             label="Shift of the test digits",
                             elem_id=f"{api_prefix}shift"))
            cafa_button, cafa_status, cafa_summary = run_controls(
                "Adapt", api_prefix, "cafa-button", "cafa")
            cafa_table = gr.Dataframe(
                headers=["setting", "accuracy %"], interactive=False,
                elem_id=f"{api_prefix}cafa-table",
            )
    wire(sample_button.click, sample, [shots, seed, lam], [summary, table],
         f"{api_prefix}sample_episode", episode_status)
    wire(cafa_button.click, adapt, [shift], [cafa_summary, cafa_table],
         f"{api_prefix}cafa", cafa_status,
         progress_text="Adapting the encoder to the shifted test digits "
                       "(the first run of a shift takes several seconds)...")
    return {"shots": shots, "seed": seed, "lambda": lam,
            "sample_button": sample_button, "summary": summary,
            "table": table, "shift": shift, "cafa_button": cafa_button,
            "cafa_summary": cafa_summary, "cafa_table": cafa_table}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(train=True, steps=20, seed=0):
    """A UNEM-Gaussian model for the Gaussian world, briefly trained.

    The full architecture (21 parameters) meta-trained for `steps` steps
    on 100 5-shot meta-train tasks (a few seconds), for tests and
    `python -m demos --tiny-test-model`.

    Args:
        train: bool. Train it (else the initial parameters).
        steps: int. Training steps.
        seed: int. Seed.

    Returns:
        A compiled `zoo.UNEMFewShotClassifier`.

    Example:

    ```python
    model = demos.unem_fewshot.build_tiny_model()
    ```
    """
    keras.utils.set_random_seed(seed)
    if not train:
        return build_unem_gaussian()
    return train_unem_gaussian(steps=steps, num_tasks=100, seed=seed)
