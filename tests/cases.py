"""Layer configurations shared by the tests and `tests/make_goldens.py`.

A layer case names its class in `layers` (`layer`), the constructor
arguments, the inputs in call order as `{name: (dtype, shape, low,
high)}` (see `harness.make_inputs`), the output shape and the exact
weight counts. `tests/make_goldens.py` writes one golden per case.
"""

LAYER_CASES = {
    "hyper_dense_embedding": dict(
        init_kwargs=dict(units=5, embedding_dim=4, hyper_units=(8,)),
        layer="HyperDense",
        inputs={"inputs": ("float32", (4, 6), -1, 1)},
        output_shape=(4, 5),
        # embedding, hidden kernel+bias, kernel head+bias, bias head+bias
        num_trainable=7,
        trainable_params=4 + (4 * 8 + 8) + (8 * 30 + 30) + (8 * 5 + 5),
    ),
    "hyper_dense_task": dict(
        init_kwargs=dict(units=5, conditioning="task", num_tasks=3,
                         embedding_dim=4, hyper_units=(8,)),
        layer="HyperDense",
        inputs={"inputs": ("float32", (4, 6), -1, 1),
                "condition": ("int32", (4,), 0, 3)},
        output_shape=(4, 5),
        num_trainable=7,
        trainable_params=12 + (4 * 8 + 8) + (8 * 30 + 30) + (8 * 5 + 5),
    ),
    "hyper_dense_input_chunked_mip": dict(
        init_kwargs=dict(units=5, conditioning="input", hyper_units=(8,),
                         generation="chunked", chunk_size=7,
                         chunk_embedding_dim=3, input_encoding="cos_sin",
                         residual=True),
        layer="HyperDense",
        inputs={"inputs": ("float32", (4, 6), -1, 1),
                "condition": ("float32", (4, 3), 0, 1)},
        output_shape=(4, 5),
        # chunk embs, hidden k+b, kernel head k+b, bias head k+b, theta0 k+b
        num_trainable=9,
        trainable_params=(5 * 3) + ((6 + 3) * 8 + 8) + (8 * 7 + 7)
        + (6 * 5 + 5) + (6 * 5 + 5),
    ),
    "hyper_dense_input_rank3": dict(
        init_kwargs=dict(units=5, conditioning="input", hyper_units=(),
                         activation="tanh", use_bias=False),
        layer="HyperDense",
        inputs={"inputs": ("float32", (2, 3, 6), -1, 1),
                "condition": ("float32", (2, 2), 0, 1)},
        output_shape=(2, 3, 5),
        num_trainable=2,
        trainable_params=2 * 30 + 30,
    ),
}

MODEL_GOLDENS = (
    "hyper_mlp_classifier",
    "hyper_mlp_classifier_task",
    "hyper_mlp_classifier_input_chunked_mip",
)
