"""The forecasting family's declaration: classes, tiny model, presets, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.

`python -m zoo predict` on a forecasting preset takes a context sequence
of z-scored states (`.npy` `(time, dim)` or `(batch, time, dim)`, or a
`.csv` with one state a row) and prints what `Forecaster.predict`
returns: the predicted next state after every input step (teacher
forcing), so the last row is the one-step forecast after the context.
Multi-step forecasts (autoregressive) are `Forecaster.rollout`, in
Python and in the demo tab.
"""

import numpy as np

from zoo._recipe_utils import preset_recipe
from zoo.data.forecasting_systems import SYSTEMS
from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.forecasting.forecaster import Forecaster
from zoo.forecasting.forecaster_backbone import ForecasterBackbone
from zoo.forecasting.forecasting_eval import system_evaluator
from zoo.forecasting.forecasting_presets import PRESETS
from zoo.forecasting.forecasting_presets import check_preset
from zoo.forecasting.forecasting_training import train_preset
from zoo.inputs import SequenceInput

# The start of the issue-22 seed runs' commands (later flags override).
_SEEDS = ("KERAS_BACKEND=jax {python} scripts/bench_forecasting.py --part "
          "seeds --seeds 0 1 2 --batch-size 32 --target-params 50000 "
          "--context-length 16 --learning-rate 0.01 ")

_REF = ("Heidenreich, Vlachas, Koumoutsakos, 2024, Deconstructing "
        "Recurrence, Attention, and Gating (arXiv:2410.02654)")
_DIM = 3
_LENGTH = 6
_TINY = dict(input_dim=_DIM, units=4, num_heads=2, window=3)


def _build_rhn(seed=0):
    backbone = ForecasterBackbone(cell="rhn", depth=2, attention=False,
                                  gating="highway", seed=seed, **_TINY)
    model = Forecaster(backbone, context_length=_LENGTH)
    model.compile()
    return model


def _example_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(batch_size, _LENGTH + 1, _DIM)).astype("float32")
    return w[:, :-1], w[:, 1:]


TINY_MODELS = (
    # Hand counts (input_dim 3, units 4): embedding 3x4+4 = 16; RHN on
    # the embedding (depth 2, coupled): 4x8 + 2x4x8 + 2x8 = 112; highway
    # gate 4x4+4 = 20; head 4x3+3 = 15. One tiny model, without attention
    # (suite time: on JAX the attention block doubled the harness's
    # compile time); `layers.RelativeCausalAttention` has its own harness
    # case and the attention variants of the backbone go through
    # tests/test_forecasting.py.
    TinyModel(
        name="forecaster_rhn_gating",
        task_cls=Forecaster,
        build_tiny=_build_rhn,
        example_batch=_example_batch,
        description="RHN + highway gating next-state forecaster",
        reference=_REF,
        expected_num_params=16 + 112 + 20 + 15,
    ),
)

_PREDICT = ("predict: a z-scored context (time, {dims}) -> the next state "
            "after every step (last row: the one-step forecast); "
            "multi-step: Forecaster.rollout")


def _preset(name):
    system = PRESETS[name]["system"]
    cfg = SYSTEMS[system]
    return PresetSpec(
        name=name,
        task_cls=Forecaster,
        train=preset_recipe(train_preset, name, check_preset),
        evaluate=system_evaluator(system),
        inputs=(SequenceInput(),),
        description=(f"RHN + attention + gating forecaster of "
                     f"{cfg['label']}; " + _PREDICT.format(dims=cfg["dims"])),
    )


FAMILY = Family(
    name="forecasting",
    title="Forecasters of chaotic systems: recurrence, attention, gating",
    classes=(Forecaster, ForecasterBackbone),
    tiny_models=TINY_MODELS,
    presets=(
        _preset("rhn_attention_lorenz96"),
        _preset("rhn_attention_ks"),
    ),
    demo_tabs=(
        DemoTab("forecasting", "demos.forecasting",
                "rhn_attention_lorenz96", "Sequence models"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_forecasting.py",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_forecasting.py --part run "
        "--variants all",
        "{python} scripts/bench_forecasting.py --part plot",
        # Issue 22: three training seeds per row (each command records
        # itself in benchmark-forecasting-seeds.csv), then the summary.
        _SEEDS + "--systems lorenz96 --variants lstm rhn+attention+gating "
        "rhn+attention rhn+gating lstm+attention+gating --steps 1500",
        _SEEDS + "--systems lorenz96 --variants lstm rhn+attention+gating "
        "--steps 1500 --context-length 32",
        _SEEDS + "--systems lorenz96 --variants lstm rhn+attention+gating "
        "--steps 1500 --learning-rate 0.003",
        _SEEDS + "--systems lorenz96 --variants lstm rhn+attention+gating "
        "--steps 1500 --rollout-steps 4",
        _SEEDS + "--systems lorenz96 --variants rhn+attention --steps 1500 "
        "--zero-attention-output",
        _SEEDS + "--systems lorenz96 --variants rhn+attention+gating "
        "--steps 1500 --attention-gate-bias -3.0",
        _SEEDS + "--systems lorenz96 --variants lstm rhn+attention+gating "
        "rhn+attention rhn+gating lstm+attention+gating --steps 4500",
        _SEEDS + "--systems lorenz96 --variants rhn+attention+gating "
        "lstm+attention+gating --steps 4500 --attention-gate-bias -3.0",
        _SEEDS + "--systems lorenz96 --variants rhn+attention+gating "
        "--steps 4500 --attention-gate-bias -3.0 --units 80",
        _SEEDS + "--systems lorenz96 --variants rhn+attention+gating "
        "--steps 4500 --attention-gate-bias -3.0 --rollout-steps 4",
        _SEEDS + "--systems lorenz96 --variants lstm rhn+gating "
        "--steps 9000",
        _SEEDS + "--systems lorenz96 --variants rhn+attention+gating "
        "--steps 9000 --attention-gate-bias -3.0",
        _SEEDS + "--systems ks lorenz96_two_scale --variants lstm "
        "rhn+attention+gating --steps 4500",
        _SEEDS + "--systems ks --variants rhn+attention+gating --steps 4500 "
        "--attention-gate-bias -3.0",
        "{python} scripts/bench_forecasting.py --part summary",
    ),
)
