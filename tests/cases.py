"""Layer configurations shared by the tests and `tests/make_goldens.py`.

A layer case names its class in `layers` (`layer`), the constructor
arguments, the inputs in call order as `{name: (dtype, shape, low,
high)}` (see `harness.make_inputs`), the output shape and the exact
weight counts. `tests/make_goldens.py` writes one golden per case.

Optional fields read by the harness:

- `zero_grad_weights`: `{path regex: reason}` for trainable weights whose
  gradient is zero in exact arithmetic and that stay on purpose (say why
  in the reason and in the layer's docstring); the harness asserts their
  gradient is rounding noise instead of asserting that it is not.
- `not_batched`: a reason string for a case whose first input axis is
  not a batch of independent samples (the harness then skips its
  per-sample check).
"""

_MLP_5_3_2 = [
    dict(name="dense_0/kernel", shape=[5, 3], kind="kernel", fan_in=5,
         fan_out=3),
    dict(name="dense_0/bias", shape=[3], kind="bias", fan_in=5, fan_out=3),
    dict(name="dense_1/kernel", shape=[3, 2], kind="kernel", fan_in=3,
         fan_out=2),
    dict(name="dense_1/bias", shape=[2], kind="bias", fan_in=3, fan_out=2),
]


def _few_shot_head(layer, feature_dim, **init_kwargs):
    """A few-shot head's case: 3 classes, 3 trainable weights.

    Two episodes, each of 6 labelled support and 5 query samples of
    `feature_dim` features; the output holds the queries' 3 class
    scores. `trainable_params` is left to the caller.
    """
    return dict(
        layer=layer,
        init_kwargs=dict(num_classes=3, **init_kwargs),
        inputs={"query": ("float32", (2, 5, feature_dim), -1, 1),
                "support": ("float32", (2, 6, feature_dim), -1, 1),
                "support_labels": ("int32", (2, 6), 0, 3)},
        output_shape=(2, 5, 3),
        num_trainable=3,
    )


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
    # A 5 -> 3 -> 2 target MLP: 5*3 + 3 + 3*2 + 2 = 26 scalars.
    "hyper_network_task_mlp": dict(
        layer="HyperNetwork",
        init_kwargs=dict(target_specs=_MLP_5_3_2, num_tasks=3,
                         embedding_dim=4, hidden_units=(6,),
                         output_format="flat"),
        inputs={"condition": ("int32", (4,), 0, 3)},
        output_shape=(4, 26),
        # task table, hidden k+b, head k+b
        num_trainable=5,
        trainable_params=12 + (4 * 6 + 6) + (6 * 26 + 26),
    ),
    "hyper_network_input_chunked_mip": dict(
        layer="HyperNetwork",
        init_kwargs=dict(target_specs=_MLP_5_3_2, conditioning="input",
                         architecture="chunked", chunk_size=7,
                         chunk_embedding_dim=3, hidden_units=(6,),
                         input_encoding="cos_sin", residual=True,
                         output_format="flat"),
        inputs={"condition": ("float32", (4, 2), 0, 1)},
        output_shape=(4, 26),
        # 4 chunks of 7: chunk embs, hidden k+b, head k+b, theta0
        num_trainable=6,
        trainable_params=4 * 3 + ((4 + 3) * 6 + 6) + (6 * 7 + 7) + 26,
    ),
    "hyper_network_recurrent": dict(
        layer="HyperNetwork",
        init_kwargs=dict(target_specs=_MLP_5_3_2, num_tasks=3,
                         embedding_dim=4, architecture="recurrent",
                         chunk_size=7, chunk_embedding_dim=2,
                         recurrent_units=5, hidden_units=(),
                         output_format="flat"),
        inputs={"condition": ("int32", (4,), 0, 3)},
        output_shape=(4, 26),
        # task table, chunk embs, LSTM kernel/recurrent/bias, head k+b
        num_trainable=7,
        trainable_params=12 + 4 * 2 + 4 * (5 * (6 + 5) + 5) + (5 * 7 + 7),
    ),
    "functional_dense_per_sample": dict(
        layer="FunctionalDense",
        init_kwargs=dict(activation="relu"),
        inputs={"inputs": ("float32", (3, 2, 4), -1, 1),
                "kernel": ("float32", (3, 4, 5), -1, 1),
                "bias": ("float32", (3, 5), -1, 1)},
        output_shape=(3, 2, 5),
        num_trainable=0,
    ),
    "functional_dense_shared": dict(
        layer="FunctionalDense",
        init_kwargs=dict(),
        inputs={"inputs": ("float32", (3, 4), -1, 1),
                "kernel": ("float32", (4, 5), -1, 1)},
        output_shape=(3, 5),
        num_trainable=0,
    ),
    "functional_conv2d_per_sample": dict(
        layer="FunctionalConv2D",
        init_kwargs=dict(strides=2, padding="same", activation="tanh"),
        inputs={"inputs": ("float32", (2, 5, 6, 3), -1, 1),
                "kernel": ("float32", (2, 3, 3, 3, 4), -1, 1),
                "bias": ("float32", (2, 4), -1, 1)},
        output_shape=(2, 3, 3, 4),
        num_trainable=0,
    ),
    "functional_conv2d_shared": dict(
        layer="FunctionalConv2D",
        init_kwargs=dict(),
        inputs={"inputs": ("float32", (2, 5, 6, 3), -1, 1),
                "kernel": ("float32", (3, 2, 3, 4), -1, 1),
                "bias": ("float32", (4,), -1, 1)},
        output_shape=(2, 3, 5, 4),
        num_trainable=0,
    ),
    "hyper_output_regularizer": dict(
        layer="HyperOutputRegularizer",
        init_kwargs=dict(num_tasks=3, num_params=5, beta=0.5),
        inputs={"generated": ("float32", (3, 5), -1, 1)},
        output_shape=(),
        not_batched="the input holds one row per task and the output is "
                    "one scalar regulariser summed over the tasks",
        num_trainable=0,
        num_non_trainable=2,
    ),
    # gamma (3), temperature_raw (3), scale_raw (scalar)
    "unem_gaussian_head": dict(
        _few_shot_head("UNEMGaussianHead", 4, num_layers=3),
        trainable_params=3 + 3 + 1,
    ),
    # gamma (1), temperature_raw (1), feature_temperature_raw (scalar)
    "unem_dirichlet_head": dict(
        _few_shot_head("UNEMDirichletHead", 3, num_layers=1, mm_steps=1),
        trainable_params=1 + 1 + 1,
    ),
    # HyperZ·Z·W / Terminator. omega_0=1 keeps the sine arguments small
    # so that float32 goldens agree across backends.
    "implicit_kernel_2d": dict(
        layer="ImplicitKernel",
        init_kwargs=dict(filters=3, rank=2, hidden_dim=4, num_layers=1,
                         omega_0=1.0, seed=1),
        inputs={"inputs": ("float32", (2, 4, 4, 2), -1, 1)},
        output_shape=(2, 4, 4, 3),
        # 2 frequency matrices 2x4, hidden 4x4 + 4, positions 16,
        # output 4x3 + 3
        num_trainable=7,
        trainable_params=16 + 20 + 16 + 15,
    ),
    "hyperzzw_1d_causal": dict(
        layer="HyperZZW",
        init_kwargs=dict(rank=1, global_mode="causal"),
        inputs={"inputs": ("float32", (2, 6, 3), -1, 1),
                "kernel": ("float32", (1, 6, 3), -1, 1),
                "values": ("float32", (2, 6, 3), -1, 1)},
        output_shape=(2, 6, 3),
        num_trainable=0,
    ),
    "hyperzzw_2d": dict(
        layer="HyperZZW",
        init_kwargs=dict(rank=2),
        inputs={"inputs": ("float32", (2, 4, 4, 3), -1, 1),
                "kernel": ("float32", (1, 4, 4, 3), -1, 1),
                "values": ("float32", (2, 4, 4, 3), -1, 1)},
        output_shape=(2, 4, 4, 3),
        num_trainable=0,
    ),
    "group_standardization": dict(
        layer="GroupStandardization",
        init_kwargs=dict(num_groups=3),
        inputs={"inputs": ("float32", (4, 5, 7), -1, 2)},
        output_shape=(4, 5, 7),
        num_trainable=0,
        # moving mean and variance (statistics="running")
        num_non_trainable=2,
    ),
    "recursive_gated_unit_2d": dict(
        layer="RecursiveGatedUnit",
        init_kwargs=dict(rank=2, seed=1),
        inputs={"inputs": ("float32", (2, 4, 4, 3), -1, 1)},
        output_shape=(2, 4, 4, 3),
        # key, value, query, output mixers 3x3 + 3; positions 4x4
        num_trainable=9,
        trainable_params=4 * 12 + 16,
    ),
    "hyper_interaction_channel_spatial": dict(
        layer="HyperInteraction",
        init_kwargs=dict(mode="channel_spatial", rank=1, hidden_dim=3,
                         omega_0=1.0, seed=1),
        inputs={"inputs": ("float32", (2, 6, 4), -1, 1),
                "context": ("float32", (2, 6, 4), -1, 1)},
        output_shape=(2, 6, 4),
        # each kernel net: frequencies 2x(1x3), hidden 3x3 + 3, positions
        # (4 channels / 6 steps), output 3x1 + 1
        num_trainable=14,
        trainable_params=(6 + 12 + 4 + 4) + (6 + 12 + 6 + 4),
    ),
    "context_local_conv_2d": dict(
        layer="ContextLocalConv",
        init_kwargs=dict(kernel_size=3, rank=2, hidden_dim=3,
                         num_layers=2, omega_0=1.0, seed=1),
        inputs={"inputs": ("float32", (2, 5, 5, 2), -1, 1),
                "context": ("float32", (2, 5, 5, 2), -1, 1)},
        output_shape=(2, 5, 5, 2),
        # reduce 2x3+3, context 3x3+3, 2 modulations 3x3+3, mixer 2x2 (no
        # bias: a standardisation follows), frequencies 3x(2x3), hidden
        # 2x(3x3+3), positions 9, out 3x2+2
        num_trainable=19,
        trainable_params=9 + 12 + 24 + 4 + 18 + 24 + 9 + 8,
        # moving mean, variance and context (statistics="running")
        num_non_trainable=3,
    ),
    "terminator_block_1d_skip": dict(
        layer="TerminatorBlock",
        init_kwargs=dict(filters=4, rank=1, local_kernel_sizes=(3,),
                         slow_hidden_dim=4, slow_num_layers=1,
                         local_hidden_dim=3, interact_hidden_dim=3,
                         omega_0=1.0, num_groups=2, seed=1),
        inputs={"inputs": ("float32", (4, 8, 2), -1, 1),
                "skip": ("float32", (4, 8, 3), -1, 1)},
        output_shape=(4, 8, 4),
        # slow net 46, two RGUs 60 (output mixers without bias), mix 4,
        # channel kernels 2x24, spatial kernel 30, local conv 93, bottleneck
        # (8 branches x 2 + 3) x 4; no bias before a standardisation
        num_trainable=65,
        trainable_params=46 + 60 + 4 + 48 + 30 + 93 + 76,
        # running statistics: output standardisation 2, local conv 3
        num_non_trainable=5,
    ),
    # Recurrence, attention and gating (forecasting).
    "rhn_separate_carry": dict(
        layer="RHN",
        init_kwargs=dict(units=4, depth=2, coupled_carry=False,
                         return_sequences=True, seed=1),
        inputs={"sequences": ("float32", (2, 5, 3), -1, 1)},
        output_shape=(2, 5, 4),
        # kernel 3x12, recurrent 2x4x12, bias 2x12 ([H, T, C] blocks)
        num_trainable=3,
        trainable_params=36 + 96 + 24,
    ),
    "gated_residual_highway": dict(
        layer="GatedResidual",
        init_kwargs=dict(gating="highway", seed=1),
        inputs={"inputs": ("float32", (2, 5, 6), -1, 1),
                "update": ("float32", (2, 5, 6), -1, 1)},
        output_shape=(2, 5, 6),
        num_trainable=2,
        trainable_params=6 * 6 + 6,
    ),
    "relative_causal_attention": dict(
        layer="RelativeCausalAttention",
        init_kwargs=dict(num_heads=2, key_dim=3, window=3, seed=1),
        inputs={"inputs": ("float32", (2, 6, 4), -1, 1)},
        output_shape=(2, 6, 4),
        # query, key, value 4x6 + 6; output 6x4 + 4; bias 2 heads x 3 lags
        num_trainable=9,
        trainable_params=3 * 30 + 28 + 6,
        zero_grad_weights={
            r"/key/bias$": "adds the same q.b to every logit of a query "
                           "row, which the softmax over keys cancels; kept "
                           "for the rhn_attention_* preset weights",
        },
    ),
    # DyVTE visual-token exit.
    "token_exit_router": dict(
        layer="TokenExitRouter",
        init_kwargs=dict(hidden_dim=4, num_text_tokens=3),
        inputs={"hidden_states": ("float32", (2, 6, 4), -1, 1)},
        output_shape=(2, 2),
        # W1 (2x4) x 4, W2 4 x 2, no biases
        num_trainable=2,
        trainable_params=8 * 4 + 4 * 2,
    ),
    "token_exit_decoder_layer_masked": dict(
        layer="TokenExitDecoderLayer",
        init_kwargs=dict(num_heads=2, intermediate_dim=8),
        inputs={"hidden_states": ("float32", (2, 5, 4), -1, 1),
                "key_mask": ("int32", (2, 5), 0, 2)},
        output_shape=(2, 5, 4),
        # two norm scales 4, q/k/v/o 4x4, MLP 4x8 + 8x4, no biases
        num_trainable=8,
        trainable_params=2 * 4 + 4 * 16 + 2 * 32,
    ),
    # Issue 18: NeuMeta cases (neumeta helper).
    "coordinate_weight_field": dict(
        layer="CoordinateWeightField",
        init_kwargs=dict(tensors=[{"layer": 0, "kind": "kernel"},
                                  {"layer": 0, "kind": "bias"}],
                         num_frequencies=2, hidden_units=8, num_blocks=1,
                         seed=1),
        inputs={"coordinates": ("float32", (6, 6), 0, 1),
                "tensor_ids": ("int32", (6,), 0, 2)},
        output_shape=(6, 9),
        # per tensor: encoding 6x(1+2x2)=30 -> 8 (+8), one block 8x8 (+8)
        # and its residual scalar, output 8x9 (+9); two tensors
        num_trainable=7,
        trainable_params=2 * (30 * 8 + 8 + 64 + 8 + 1 + 72 + 9),
    ),
    "coordinate_weight_field_noisy": dict(
        layer="CoordinateWeightField",
        init_kwargs=dict(tensors=[{"layer": 0, "kind": "kernel"},
                                  {"layer": 1, "kind": "kernel"},
                                  {"layer": 1, "kind": "bias"}],
                         num_frequencies=1, hidden_units=4, num_blocks=2,
                         coordinate_noise=0.05, seed=2),
        inputs={"coordinates": ("float32", (8, 6), 0, 1),
                "tensor_ids": ("int32", (8,), 0, 3)},
        output_shape=(8, 9),
        # per tensor: 18 -> 4 (+4), two blocks 2x(16+4+1), 4x9 (+9)
        num_trainable=7,
        trainable_params=3 * (18 * 4 + 4 + 42 + 36 + 9),
    ),
    # Issue 18: LoGAH cases (logah helper).
    "logah_low_rank_decoder": dict(
        layer="LowRankWeightDecoder",
        init_kwargs=dict(max_ck=6, rank=4, hidden_units=(8,), seed=3),
        inputs={"embeddings": ("float32", (3, 4, 5), -1, 1)},
        output_shape=(3, 4, 6, 6),
        # hidden 5x8+8, head 8x(2*4*4)+8, factor r->ck 4x6+6
        num_trainable=6,
        trainable_params=48 + 288 + 30,
    ),
    "logah_low_rank_decoder_conv1d": dict(
        layer="LowRankWeightDecoder",
        init_kwargs=dict(max_ck=6, rank=4, hidden_units=(8,),
                         kernel_shape=(3, 2, 2), seed=3),
        inputs={"embeddings": ("float32", (3, 5), -1, 1)},
        output_shape=(3, 3, 2, 2),
        num_trainable=6,
        trainable_params=48 + 288 + 30,
    ),
    "logah_full_rank_decoder": dict(
        layer="LowRankWeightDecoder",
        init_kwargs=dict(max_ck=6, rank=4, hidden_units=(8,),
                         kernel_shape=(4, 5), full_rank=True, seed=1),
        inputs={"embeddings": ("float32", (3, 5), -1, 1)},
        output_shape=(3, 4, 5),
        # hidden 5x8+8, head 8x36+36
        num_trainable=4,
        trainable_params=48 + 324,
    ),
    "logah_gated_graph_encoder": dict(
        layer="GatedGraphEncoder",
        init_kwargs=dict(hidden_dim=4, num_steps=1, seed=0),
        inputs={"node_features": ("float32", (2, 5, 3), -1, 1),
                "adjacency": ("int32", (2, 5, 5), 0, 2),
                "node_mask": ("int32", (2, 5), 0, 2)},
        output_shape=(2, 5, 4),
        # input 3x4+4; per direction: message 4x4+4, GRU 4x12 + 4x12 + 12
        num_trainable=12,
        trainable_params=16 + 2 * (20 + 48 + 48 + 12),
    ),
    # Issue 18: D2NWG cases (d2nwg helper).
    "set_encoder_attention": dict(
        layer="SetEncoder",
        init_kwargs=dict(output_dim=4, hidden_dim=6, seed=1),
        inputs={"inputs": ("float32", (2, 5, 3), -1, 1)},
        output_shape=(2, 4),
        # phi_0 3x6+6, phi_1 6x6+6, query 6, rho 6x4+4
        num_trainable=7,
        trainable_params=24 + 42 + 6 + 28,
    ),
    "conditional_denoiser": dict(
        layer="ConditionalDenoiser",
        init_kwargs=dict(output_dim=5, hidden_dim=6, num_blocks=1,
                         time_embedding_dim=4, seed=1),
        inputs={"inputs": ("float32", (3, 5), -1, 1),
                "time": ("float32", (3,), 0, 1),
                "condition": ("float32", (3, 4), -1, 1)},
        output_shape=(3, 5),
        # input 5x6+6, time 4x6+6 and 6x6+6, condition 4x6+6, norm 2x6,
        # block 6x12+12 and 12x6+6, output 6x5+5
        num_trainable=16,
        trainable_params=36 + 30 + 42 + 30 + 12 + 84 + 78 + 35,
    ),
    # Issue 20: HyperLoRA cases (hyper_lora helper).
    "hyper_lora_vit": dict(
        # A tiny keras-hub ViT (8x8 images, 2x2 patches of 4x4, one
        # block, hidden 8, 2 heads): LiDB bases of size 3 on the query
        # and value projections (fan_in 8, fan_out 2 * 4). `zero_init`
        # off so that every hypernetwork weight has a gradient (with
        # B = 0 only the B head would).
        layer="HyperLoRA",
        # The model is a serialized tiny keras-hub ViT: each
        # constructor call builds a fresh one.
        init_kwargs=dict(
            model={
                "module": "keras_hub.src.models.vit.vit_backbone",
                "class_name": "ViTBackbone",
                "registered_name": "keras_hub>ViTBackbone",
                "config": dict(image_shape=[8, 8, 1], patch_size=4,
                               num_layers=1, num_heads=2, hidden_dim=8,
                               mlp_dim=8, dtype="float32"),
            },
            condition_dim=4, targets="query|value",
            rank=2, hyper_units=(6,), basis_dim=3,
            output_regularization=0.01, zero_init=False, seed=0),
        inputs={"inputs": ("float32", (4, 8, 8, 1), 0, 1),
                "condition": ("float32", (4, 4), -1, 1)},
        output_shape=(4, 5, 8),
        num_trainable=10,
        # hidden 4*6+6; per target A head 6*(3*2)+6, B head 6*(2*3)+6.
        trainable_params=30 + 2 * (42 + 42),
        # The frozen ViT's 22 weights and 2 bases per target.
        num_non_trainable=22 + 4,
    ),
    # Issue 20: SVH-PSL cases (svh_psl helper).
    "svh_psl_gp_posterior_matern": dict(
        layer="GaussianProcessPosterior",
        init_kwargs=dict(num_train=5, input_dim=3, num_outputs=2, seed=1),
        inputs={"inputs": ("float32", (4, 3), 0, 1)},
        output_shape=(4, 2),
        # All state is non-trainable (a fitted GP): train_x, alpha,
        # chol_inv, lengthscales, amplitudes, y_mean, y_std.
        num_trainable=0,
        num_non_trainable=7,
    ),
    "svh_psl_gp_posterior_rbf": dict(
        layer="GaussianProcessPosterior",
        init_kwargs=dict(num_train=5, input_dim=3, num_outputs=2,
                         kernel="rbf", beta=1.0, seed=2),
        inputs={"inputs": ("float32", (4, 3), 0, 1)},
        output_shape=(4, 2),
        num_trainable=0,
        num_non_trainable=7,
    ),
    # Issue 20: SIE cases (sie helper).
    "sie_hyper_predictor": dict(
        layer="HyperPredictor",
        init_kwargs=dict(dim=4, hidden_units=(3,), use_bias=True, seed=0),
        inputs={"inputs": ("float32", (4, 4), -1, 1),
                "condition": ("float32", (4, 2), -1, 1)},
        output_shape=(4, 4),
        # hidden kernel+bias, weight head kernel, bias head kernel.
        num_trainable=4,
        trainable_params=2 * 3 + 3 + 3 * 16 + 3 * 4,
        num_non_trainable=0,
    ),
    "sie_concat_predictor": dict(
        layer="ConcatPredictor",
        init_kwargs=dict(dim=4, hidden_units=(5,), seed=0),
        inputs={"inputs": ("float32", (4, 4), -1, 1),
                "condition": ("float32", (4, 2), -1, 1)},
        output_shape=(4, 4),
        num_trainable=4,
        trainable_params=6 * 5 + 5 + 5 * 4 + 4,
        num_non_trainable=0,
    ),
}
