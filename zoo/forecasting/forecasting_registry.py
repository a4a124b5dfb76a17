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
    backbone = ForecasterBackbone(cell="rhn", depth=2, attention=False,
                                  gating="highway", seed=seed, **_TINY)
    model = Forecaster(backbone, context_length=_LENGTH)
    model.compile()
    return model


def _example_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(batch_size, _LENGTH + 1, _DIM)).astype("float32")
    return w[:, :-1], w[:, 1:]


# Hand counts (input_dim 3, units 4): embedding 3x4+4 = 16; RHN on the
# embedding (depth 2, coupled): 4x8 + 2x4x8 + 2x8 = 112; highway gate
# 4x4+4 = 20; head 4x3+3 = 15. One registry model, without attention
# (suite time: on JAX the attention block doubled the harness's compile
# time); `layers.RelativeCausalAttention` has its own harness case and
# the attention variants of the backbone go through
# tests/test_forecasting.py.
register_model(ModelSpec(
    name="forecaster_rhn_gating",
    task_cls=Forecaster,
    build_tiny=_build_rhn,
    example_batch=_example_batch,
    description="RHN + highway gating next-state forecaster",
    reference=_REF,
    expected_num_params=16 + 112 + 20 + 15,
))
