"""The SVH-PSL family's declaration: classes, tiny model, preset, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.inputs import ArrayInput
from zoo.svh_psl.svh_psl_backbone import SVHPSLBackbone
from zoo.svh_psl.svh_psl_eval import evaluate_svh_psl
from zoo.svh_psl.svh_psl_model import ParetoSetModel
from zoo.svh_psl.svh_psl_training import train_svh_psl

_REF = ("Nguyen et al., 2025, Improving Pareto Set Learning for Expensive "
        "Multi-objective Optimization via Stein Variational Hypernetworks "
        "(SVH-PSL), AAAI 2025")


def _build_tiny(seed=0):
    backbone = SVHPSLBackbone(num_objectives=2, hidden_dim=4, num_layers=1,
                              seed=seed)
    model = ParetoSetModel(backbone, num_var=3)
    model.compile()
    return model


def _tiny_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(np.ones(2), size=batch_size).astype("float32")
    y = rng.uniform(0, 1, (batch_size, 3)).astype("float32")
    return x, y


TINY_MODELS = (
    TinyModel(
        name="svh_psl_pareto_set",
        task_cls=ParetoSetModel,
        build_tiny=_build_tiny,
        example_batch=_tiny_batch,
        description="Pareto-set hypernetwork: preference -> solution",
        reference=_REF,
        # hidden 2x4+4, sigmoid head 4x3+3
        expected_num_params=12 + 15,
    ),
)

FAMILY = Family(
    name="svh_psl",
    title="Pareto-set hypernetworks for expensive multi-objective "
          "optimisation (PSL, SVH-PSL)",
    classes=(SVHPSLBackbone, ParetoSetModel),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name="svh_psl_zdt1",
            task_cls=ParetoSetModel,
            train=train_svh_psl,
            evaluate=evaluate_svh_psl,
            # Preferences (batch, 2) as .npy/.csv -> solutions (batch, 6).
            inputs=(ArrayInput(output="values"),),
            description="SVH-PSL: ZDT1 Pareto set from 45 GP-guided "
                        "evaluations",
            train_options=False,
        ),
    ),
    demo_tabs=(
        DemoTab("svh_psl", "demos.svh_psl", "svh_psl_zdt1",
                "Hypernetworks"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_svh_psl.py",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_svh_psl.py",
    ),
)
