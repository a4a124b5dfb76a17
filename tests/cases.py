"""Layer configurations shared by the tests and `tests/make_goldens.py`."""

LAYER_CASES = {
    "hyper_dense_embedding": dict(
        init_kwargs=dict(units=5, embedding_dim=4, hyper_units=(8,)),
        input_shape=(4, 6),
        condition_shape=None,
        condition_dtype=None,
        # embedding, hidden kernel+bias, kernel head+bias, bias head+bias
        num_trainable=7,
        trainable_params=4 + (4 * 8 + 8) + (8 * 30 + 30) + (8 * 5 + 5),
    ),
    "hyper_dense_task": dict(
        init_kwargs=dict(units=5, conditioning="task", num_tasks=3,
                         embedding_dim=4, hyper_units=(8,)),
        input_shape=(4, 6),
        condition_shape=(4,),
        condition_dtype="int32",
        num_trainable=7,
        trainable_params=12 + (4 * 8 + 8) + (8 * 30 + 30) + (8 * 5 + 5),
    ),
    "hyper_dense_input_chunked_mip": dict(
        init_kwargs=dict(units=5, conditioning="input", hyper_units=(8,),
                         generation="chunked", chunk_size=7,
                         chunk_embedding_dim=3, input_encoding="cos_sin",
                         residual=True),
        input_shape=(4, 6),
        condition_shape=(4, 3),
        condition_dtype="float32",
        # chunk embs, hidden k+b, kernel head k+b, bias head k+b, theta0 k+b
        num_trainable=9,
        trainable_params=(5 * 3) + ((6 + 3) * 8 + 8) + (8 * 7 + 7)
        + (6 * 5 + 5) + (6 * 5 + 5),
    ),
    "hyper_dense_input_rank3": dict(
        init_kwargs=dict(units=5, conditioning="input", hyper_units=(),
                         activation="tanh", use_bias=False),
        input_shape=(2, 3, 6),
        condition_shape=(2, 2),
        condition_dtype="float32",
        num_trainable=2,
        trainable_params=2 * 30 + 30,
    ),
}

MODEL_GOLDENS = (
    "hyper_mlp_classifier",
    "hyper_mlp_classifier_task",
    "hyper_mlp_classifier_input_chunked_mip",
)
