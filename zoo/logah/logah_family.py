"""The LoGAH family's declaration: classes, tiny model, preset, tab.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.inputs import JSONInput
from zoo.logah.logah_backbone import LogahBackbone
from zoo.logah.logah_backbone import LogahHyperNetwork
from zoo.logah.logah_backbone import LogahParamsMask
from zoo.logah.logah_backbone import PaddedPredictedMLP
from zoo.logah.logah_classifier import LogahClassifier
from zoo.logah.logah_eval import evaluate_logah
from zoo.logah.logah_graph import architecture_graph
from zoo.logah.logah_inputs import DOCUMENT
from zoo.logah.logah_inputs import example_logah_document
from zoo.logah.logah_inputs import parse_logah_document
from zoo.logah.logah_training import train_logah

_REF = ("Zhou et al., 2024, LoGAH: Predicting 774-Million-Parameter "
        "Transformers using Graph HyperNetworks with 1/100 Parameters "
        "(arXiv:2405.16287)")
_TINY = dict(max_nodes=4, max_ck=8, input_dim=5, num_classes=3,
             hidden_dim=4, num_steps=1, rank=3, decoder_units=(6,))


def _build_tiny(seed=0):
    backbone = LogahBackbone(**_TINY, seed=seed)
    model = LogahClassifier(backbone)
    model.compile()
    return model


def _example_batch(batch_size=8, seed=0):
    """Signals and a random architecture (0-2 hidden layers) per sample."""
    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(batch_size):
        depth = int(rng.integers(0, 3))
        widths = tuple(int(w) for w in rng.integers(2, 9, depth))
        graphs.append(architecture_graph(widths, 5, 3, 8, 4))
    x = {"features": rng.uniform(-1, 1, (batch_size, 5)).astype("float32")}
    for key in graphs[0]:
        x[key] = np.stack([g[key] for g in graphs])
    y = rng.integers(0, 3, batch_size).astype("int32")
    return x, y


TINY_MODELS = (
    TinyModel(
        name="logah_classifier",
        task_cls=LogahClassifier,
        build_tiny=_build_tiny,
        example_batch=_example_batch,
        description="LoGAH graph hypernetwork predicting a small MLP",
        reference=_REF,
        # Encoder (7 features, hidden 4): input 7*4+4; forward and
        # backward passes each message 4*4+4, GRU 4*12 + 4*12 + 12.
        # Decoder (max_ck 8, rank 3, MLP 6): 4*6+6, head 6*18+18, factor
        # 3*8+8. Bias decoder 4*4+4 and 4*8+8.
        expected_num_params=(32 + 2 * 128) + (30 + 126 + 32) + (20 + 40),
    ),
)

FAMILY = Family(
    name="logah",
    title="LoGAH: a low-rank graph hypernetwork predicts unseen MLPs",
    classes=(LogahBackbone, LogahClassifier, LogahHyperNetwork,
             LogahParamsMask, PaddedPredictedMLP),
    tiny_models=TINY_MODELS,
    presets=(
        PresetSpec(
            name="logah_mnist1d",
            task_cls=LogahClassifier,
            train=train_logah,
            evaluate=evaluate_logah,
            # An architecture and signals: a JSON document (see
            # logah_inputs); the output ranks the classes of each signal.
            inputs=(JSONInput(parse_logah_document, DOCUMENT,
                              example=example_logah_document),),
            description="LoGAH GHN predicting MNIST-1D MLPs (held-out "
                        "depths/widths)",
            train_options=False,
        ),
    ),
    demo_tabs=(
        DemoTab("logah", "demos.logah", "logah_mnist1d", "Hypernetworks"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_logah.py",
    ),
    bench_commands=("KERAS_BACKEND=jax {python} scripts/bench_logah.py",),
)
