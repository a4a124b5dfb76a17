"""Registry entries of the forecasting family (tiny configs for tests)."""

import numpy as np

from zoo.forecasting.forecaster import Forecaster
from zoo.forecasting.forecaster_backbone import ForecasterBackbone
from zoo.registry import ModelSpec
from zoo.registry import register_model

_REF = ("Heidenreich, Vlachas, Koumoutsakos, 2024, Deconstructing "
        "Recurrence, Attention, and Gating (arXiv:2410.02654)")
_DIM = 3
_LENGTH = 6
_TINY = dict(input_dim=_DIM, units=4, num_heads=2, window=3)


def _build_rhn(seed=0):
    backbone = ForecasterBackbone(cell="rhn", depth=2, attention=True,
                                  gating="highway", seed=seed, **_TINY)
    model = Forecaster(backbone, context_length=_LENGTH)
    model.compile()
    return model


def _example_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(batch_size, _LENGTH + 1, _DIM)).astype("float32")
    return w[:, :-1], w[:, 1:]


# Hand counts (input_dim 3, units 4, 2 heads of size 2, window 3):
# embedding 3x4+4 = 16; highway gate 4x4+4 = 20; LayerNorm 8;
# attention q/k/v 3 x (4x4+4) + output 4x4+4 + bias 2x3 = 86;
# head 4x3+3 = 15. RHN on the embedding (depth 2, coupled):
# 4x8 + 2x4x8 + 2x8 = 112. One registry model only (suite time: XLA
# compiles of the recurrent scans); the transformer variants go through
# tests/test_forecasting.py.
register_model(ModelSpec(
    name="forecaster_rhn_attention",
    task_cls=Forecaster,
    build_tiny=_build_rhn,
    example_batch=_example_batch,
    description="RHN + relative causal attention + highway gating "
                "next-state forecaster",
    reference=_REF,
    expected_num_params=16 + 112 + 20 + 8 + 86 + 20 + 15,
))
