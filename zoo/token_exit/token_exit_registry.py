"""Registry entry of the DyVTE family (tiny config for tests)."""

import numpy as np

from zoo.registry import ModelSpec
from zoo.registry import register_model
from zoo.token_exit.token_exit_backbone import TokenExitVLMBackbone
from zoo.token_exit.token_exit_vlm import TokenExitVLM

_REF = ("Li et al., 2024, Dynamic Visual-Token Exit and the Empirical "
        "Findings of MLLMs (DyVTE, arXiv:2411.19628)")
_TINY = dict(vocabulary_size=6, num_layers=1, num_heads=1, hidden_dim=8,
             intermediate_dim=8, image_size=4, patch_size=2,
             num_prefix_tokens=1, num_text_tokens=2, router_hidden_dim=4)


def _build(seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    backbone = TokenExitVLMBackbone(**_TINY)
    model = TokenExitVLM(backbone, num_answers=3)
    model.compile()
    return model


def _example_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "images": rng.uniform(0, 1, (batch_size, 4, 4, 1)).astype("float32"),
        "token_ids": rng.integers(0, 6, (batch_size, 3)).astype("int32"),
        # -1 (image keys masked in layer 0) and 0 (the full model).
        "exit_layers": rng.integers(-1, 1, (batch_size,)).astype("int32"),
    }
    return x, rng.integers(0, 3, batch_size).astype("int32")


def _params():
    d, ff, m, vocab, layers, h = 8, 8, 4, 6, 1, 4
    layer = 2 * d + 4 * d * d + 2 * d * ff
    trainable = (vocab * d + (4 * d + d) + m * d + layers * layer + d
                 + (d * 3 + 3))
    routers = layers * (2 * d * h + h * 2)
    return trainable, routers


register_model(ModelSpec(
    name="token_exit_vlm",
    task_cls=TokenExitVLM,
    build_tiny=_build,
    example_batch=_example_batch,
    description="Tiny decoder-only VLM with DyVTE visual-token exit routers",
    reference=_REF,
    # Stage "vlm": the routers are frozen (trained in stage "router").
    expected_num_params=_params()[0],
    expected_num_non_trainable_params=_params()[1],
))
