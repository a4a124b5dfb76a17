"""Registry entries of the HyperMLP family."""

import numpy as np

from zoo.hyper_mlp.hyper_mlp_backbone import HyperMLPBackbone
from zoo.hyper_mlp.hyper_mlp_classifier import HyperMLPClassifier
from zoo.registry import ModelSpec
from zoo.registry import register_model

_TINY = dict(input_dim=12, hidden_dims=(6, 5), embedding_dim=4,
             hyper_units=(8,))
_REF = "Ha et al., 2017, HyperNetworks (arXiv:1609.09106)"


def _builder(**backbone_kwargs):
    def build(seed=0):
        backbone = HyperMLPBackbone(**_TINY, seed=seed, **backbone_kwargs)
        return HyperMLPClassifier(backbone, num_classes=3)

    return build


def _batch(conditioning):
    def example_batch(batch_size=8, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.uniform(0, 1, (batch_size, 12)).astype("float32")
        y = rng.integers(0, 3, batch_size).astype("int32")
        if conditioning == "task":
            x = {"features": x,
                 "condition": rng.integers(0, 4, batch_size).astype("int32")}
        elif conditioning == "input":
            x = {"features": x,
                 "condition": rng.uniform(0, 1, (batch_size, 2)).astype(
                     "float32")}
        return x, y

    return example_batch


register_model(ModelSpec(
    name="hyper_mlp_classifier",
    task_cls=HyperMLPClassifier,
    build_tiny=_builder(),
    example_batch=_batch("embedding"),
    description="MLP with hypernetwork-generated layers (learned embedding)",
    reference=_REF,
    # Per HyperDense: embedding 4, hidden 4*8+8, kernel head 8*(in*out) +
    # in*out, bias head 8*out+out. 12->6: 4+40+648+54; 6->5: 4+40+270+45;
    # classifier head 5*3+3.
    expected_num_params=746 + 359 + 18,
))
register_model(ModelSpec(
    name="hyper_mlp_classifier_task",
    task_cls=HyperMLPClassifier,
    build_tiny=_builder(conditioning="task", num_tasks=4),
    example_batch=_batch("task"),
    description="Task-conditioned HyperMLP (one weight set per task id)",
    reference=_REF,
    # As above with a 4x4 task table instead of one 4-d embedding.
    expected_num_params=(746 + 12) + (359 + 12) + 18,
))
register_model(ModelSpec(
    name="hyper_mlp_classifier_input_chunked_mip",
    task_cls=HyperMLPClassifier,
    build_tiny=_builder(conditioning="input", condition_dim=2,
                        generation="chunked", chunk_size=7,
                        input_encoding="cos_sin", residual=True),
    example_batch=_batch("input"),
    description="Per-sample conditioned, chunked HyperMLP with MIP",
    reference=_REF,
    # cos/sin doubles the 2-d condition to 4. 12->6: 72 kernel values in
    # 11 chunks of 7 (chunk embs 11*8), hidden (4+8)*8+8, head 8*7+7,
    # bias head 4*6+6, theta0 72+6. 6->5: 5 chunks (5*8), 104, 63,
    # 4*5+5, 30+5. Classifier head 5*3+3.
    expected_num_params=(88 + 104 + 63 + 30 + 78)
    + (40 + 104 + 63 + 25 + 35) + 18,
))
