"""The HyperCL family's declaration: classes, tiny models, preset, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.hyper_cl.hyper_cl_backbone import HyperCLBackbone
from zoo.hyper_cl.hyper_cl_classifier import HyperCLClassifier
from zoo.hyper_cl.hyper_cl_eval import evaluate_permuted_digits
from zoo.hyper_cl.hyper_cl_inputs import DOCUMENT
from zoo.hyper_cl.hyper_cl_inputs import TaskZeroPictureInput
from zoo.hyper_cl.hyper_cl_inputs import example_document
from zoo.hyper_cl.hyper_cl_inputs import parse_task_document
from zoo.hyper_cl.hyper_cl_presets import PRESET_NAME
from zoo.hyper_cl.hyper_cl_training import train_permuted_digits
from zoo.inputs import JSONInput

_TINY = dict(input_dim=12, hidden_dims=(6,), num_classes=3, num_tasks=4,
             embedding_dim=4)
_REF = ("von Oswald et al., 2020, Continual learning with hypernetworks "
        "(arXiv:1906.00695)")
# Target MLP 12 -> 6 -> 3: 12*6 + 6 + 6*3 + 3 = 99 generated scalars.
# The regulariser stores 4 tasks x 99 targets plus a 4-entry mask.
# (The MLP hypernet and MIP residual go through the layer harness:
# tests/cases.py, hyper_network_*.)
_FROZEN = 4 * 99 + 4


def _builder(**kwargs):
    def build(seed=0):
        backbone = HyperCLBackbone(**_TINY, seed=seed, **kwargs)
        model = HyperCLClassifier(backbone, beta=0.05)
        model.compile()
        # One stored task, so the regulariser term is exercised.
        model.start_task(1)
        return model

    return build


def _example_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "features": rng.uniform(0, 1, (batch_size, 12)).astype("float32"),
        "task_id": rng.integers(0, 4, batch_size).astype("int32"),
    }
    return x, rng.integers(0, 3, batch_size).astype("int32")


TINY_MODELS = (
    TinyModel(
        name="hyper_cl_classifier_chunked",
        task_cls=HyperCLClassifier,
        build_tiny=_builder(architecture="chunked", chunk_size=10,
                            hidden_units=(8,), chunk_embedding_dim=3),
        example_batch=_example_batch,
        description="Chunked task-conditioned hypernet generating a whole "
                    "MLP",
        reference=_REF,
        # Task table 4*4; 10 chunks of 10 (chunk embs 10*3); hidden
        # (4+3)*8+8; head 8*10+10.
        expected_num_params=16 + 30 + 64 + 90,
        expected_num_non_trainable_params=_FROZEN,
    ),
    TinyModel(
        name="hyper_cl_classifier_recurrent",
        task_cls=HyperCLClassifier,
        build_tiny=_builder(architecture="recurrent", chunk_size=10,
                            hidden_units=(), chunk_embedding_dim=0,
                            recurrent_units=5),
        example_batch=_example_batch,
        description="Recurrent (LSTM) hypernet emitting the MLP chunk by "
                    "chunk",
        reference=("Chandra et al., 2023, Continual Learning with "
                   "Dependency Preserving Hypernetworks (arXiv:2209.07712)"),
        # Task table 16; LSTM 4*(5*(4+5)+5); head 5*10+10.
        expected_num_params=16 + 200 + 60,
        expected_num_non_trainable_params=_FROZEN,
    ),
)

FAMILY = Family(
    name="hyper_cl",
    title="Whole-network hypernetworks for continual learning",
    classes=(HyperCLBackbone, HyperCLClassifier),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name=PRESET_NAME,
            task_cls=HyperCLClassifier,
            train=train_permuted_digits,
            evaluate=evaluate_permuted_digits,
            # A JSON document gives any task; a picture is the plain
            # digit, i.e. task 0's input (see hyper_cl_inputs: task
            # inference needs every task's weights, not `predict`).
            inputs=(
                JSONInput(parse_task_document, DOCUMENT,
                          example=example_document),
                TaskZeroPictureInput(),
            ),
            description="Continual learning hypernetwork on 10 "
                        "permuted-digits tasks",
            # Trains with its own loops, not fit_resumable.
            train_options=False,
        ),
    ),
    demo_tabs=(
        DemoTab("hyper_cl_permuted_digits", "demos.hyper_cl_digits",
                "hyper_cl_permuted_digits", "Hypernetworks"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_hyper_cl.py",
    ),
    bench_commands=(
        "{python} -m pip install --no-deps --target /tmp/hypnettorch-bench "
        "hypnettorch",
        "KERAS_BACKEND=jax {python} scripts/bench_hyper_cl.py",
        # Issue 22: recurrent vs chunked and task inference, 3 seeds,
        # then the one-seed screening rows.
        "KERAS_BACKEND=jax {python} scripts/bench_hyper_cl.py --part "
        "variants --epochs 20 --seeds 0 1 2 --variants chunked recurrent "
        "recurrent:beta=0.05 recurrent:beta=0.1 chunked:beta=0.05 "
        "recurrent:units=36,hidden=100 "
        "recurrent:units=36,hidden=100,beta=0.05 chunked:ood=0.3",
        "KERAS_BACKEND=jax {python} scripts/bench_hyper_cl.py --part "
        "variants --epochs 20 --seeds 0 --variants independent "
        "chunked:ood=0.1 chunked:ood=1 recurrent:beta=0.2 "
        "chunked:beta=0.1",
    ),
)
