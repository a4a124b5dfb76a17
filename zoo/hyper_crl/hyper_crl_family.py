"""The HyperCRL family's declaration: classes, tiny model, preset.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.hyper_crl.hyper_crl_backbone import HyperCRLBackbone
from zoo.hyper_crl.hyper_crl_dynamics import HyperCRLDynamics
from zoo.hyper_crl.hyper_crl_eval import evaluate_dynamics
from zoo.hyper_crl.hyper_crl_inputs import DOCUMENT
from zoo.hyper_crl.hyper_crl_inputs import example_document
from zoo.hyper_crl.hyper_crl_inputs import parse_transition_document
from zoo.hyper_crl.hyper_crl_presets import PRESET_NAME
from zoo.hyper_crl.hyper_crl_training import train_pendulum
from zoo.inputs import JSONInput

_REF = ("Huang, Xie, Shkurti, 2021, Continual Model-Based Reinforcement "
        "Learning with Hypernetworks (arXiv:2009.11997)")
_TINY = dict(state_dim=3, action_dim=1, hidden_dims=(5,), num_tasks=3,
             input_mean=(0.0, 0.0, 0.5, 0.0), input_std=(1.0, 1.0, 2.0, 1.5),
             delta_mean=(0.0, 0.0, 0.1), delta_std=(0.1, 0.1, 0.5),
             architecture="mlp", embedding_dim=4, hidden_units=(6,))
# Target MLP 4 -> 5 -> 3: 4*5 + 5 + 5*3 + 3 = 43 generated scalars.
_NUM_TARGET = 43


def _build_tiny(seed=0):
    backbone = HyperCRLBackbone(**_TINY, seed=seed)
    model = HyperCRLDynamics(backbone, beta=0.05)
    model.compile()
    # One stored task, so the regulariser term is exercised.
    model.start_task(1)
    return model


def _example_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "state": rng.normal(0, 1, (batch_size, 3)).astype("float32"),
        "action": rng.uniform(-2, 2, (batch_size, 1)).astype("float32"),
        "task_id": rng.integers(0, 3, batch_size).astype("int32"),
    }
    return x, rng.normal(0, 1, (batch_size, 3)).astype("float32")


TINY_MODELS = (
    TinyModel(
        name="hyper_crl_dynamics",
        task_cls=HyperCRLDynamics,
        build_tiny=_build_tiny,
        example_batch=_example_batch,
        description="Task-conditioned hypernet generating an MLP dynamics "
                    "model (Δs) for continual model-based RL",
        reference=_REF,
        # Task table 3*4; hidden 4*6+6; head 6*43+43.
        expected_num_params=12 + 30 + 301,
        # Regulariser: 3 tasks x 43 targets plus a 3-entry mask.
        expected_num_non_trainable_params=3 * _NUM_TARGET + 3,
    ),
)

FAMILY = Family(
    name="hyper_crl",
    title="Task-conditioned dynamics hypernetworks for continual "
          "model-based RL",
    classes=(HyperCRLBackbone, HyperCRLDynamics),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name=PRESET_NAME,
            task_cls=HyperCRLDynamics,
            train=train_pendulum,
            evaluate=evaluate_dynamics,
            inputs=(JSONInput(parse_transition_document, DOCUMENT,
                              output="values", example=example_document),),
            description="HyperCRL dynamics model learned on 5 pendulum "
                        "variants in sequence",
            # Trains with its own loops, not fit_resumable.
            train_options=False,
        ),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_hyper_crl.py",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_hyper_crl.py",
        "KERAS_BACKEND=jax {python} scripts/bench_hyper_crl.py --env "
        "cartpole",
    ),
)
