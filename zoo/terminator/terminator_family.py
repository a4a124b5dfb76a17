"""The Terminator family's declaration: classes, tiny models, presets, tabs.

`zoo.FAMILIES` lists this family; `zoo.registry` reads `FAMILY`.
"""

import numpy as np

from zoo._recipe_utils import preset_recipe
from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.inputs import ChannelArrayInput
from zoo.inputs import PictureInput
from zoo.terminator.terminator_backbone import TerminatorBackbone
from zoo.terminator.terminator_classifier import TerminatorClassifier
from zoo.terminator.terminator_eval import split_evaluator
from zoo.terminator.terminator_presets import preset_config
from zoo.terminator.terminator_presets import split_loader
from zoo.terminator.terminator_training import train_preset

# The start of the shuffled MNIST-1D screening commands (issue 22).
_SHUFFLED = ("KERAS_BACKEND=jax {python} scripts/bench_terminator.py --part "
             "shuffled --preset terminator_1d_mnist1d_shuffled ")

_REF = ("Zhang, 2024, HyperZ·Z·W Operator Connects Slow-Fast Networks for "
        "Full Context Interaction (arXiv:2401.17948)")
_TINY = dict(slow_hidden_dim=4, slow_num_layers=1, local_hidden_dim=3,
             interact_hidden_dim=3, omega_0=1.0, num_groups=2)


def _kernel_net(rank, points, hidden, layers, filters):
    # frequencies, hidden linears (+bias), positional bias, output head.
    return ((layers + 1) * rank * hidden + layers * (hidden * hidden + hidden)
            + points + hidden * filters + filters)


def _block_params(rank, points, c, f, local_sizes, skip=0, hs=4, ls=1,
                  hl=3, hi=3):
    """Hand count of a `TerminatorBlock`'s weights (independent of Keras)."""
    n = _kernel_net(rank, points, hs, ls, c)  # slow net
    # No bias before a standardisation; no 1x1 mixer on a single channel.
    mixer = c * c if c > 1 else 0
    n += 2 * (4 * c * c + 3 * c + points)  # two RGUs (output: no bias)
    n += mixer  # mix
    n += 2 * _kernel_net(1, c, hi, 1, 1)  # channel kernels (HCI, HI)
    n += _kernel_net(rank, points, hi, 1, 1)  # HI spatial kernel
    for k in local_sizes:
        m = k ** rank
        n += (c * hl + hl) + (hl * hl + hl) + 2 * (hl * hl + hl)
        n += mixer + _kernel_net(rank, m, hl, 2, c)
    branches = 7 + len(local_sizes)
    n += (branches * c + skip) * f  # bottleneck
    return n


def _builder(spatial_shape):
    def build(seed=0):
        backbone = TerminatorBackbone(
            spatial_shape=spatial_shape, input_channels=2,
            hidden_dims=(4,), local_kernel_sizes=(3,), seed=seed, **_TINY,
        )
        return TerminatorClassifier(backbone, num_classes=3)

    return build


def _batch(shape):
    def example_batch(batch_size=8, seed=0):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(batch_size,) + shape).astype("float32")
        y = rng.integers(0, 3, batch_size).astype("int32")
        return x, y

    return example_batch


TINY_MODELS = (
    TinyModel(
        name="terminator_classifier_1d",
        task_cls=TerminatorClassifier,
        build_tiny=_builder((12,)),
        example_batch=_batch((12, 2)),
        description="Terminator on sequences (FFT global HyperZ·Z·W "
                    "operator)",
        reference=_REF,
        # With one input channel the standardised 1x1 mixers of block 0
        # are scale-only (no gradient); the tiny models use two channels.
        # One block only: XLA compiles of bigger tiny models cost minutes
        # on 2 CPUs (stacking and the skip path are covered by the
        # `terminator_block_1d_skip` layer case and
        # tests/test_terminator.py).
        expected_num_params=_block_params(1, 12, 2, 4, (3,)) + 4 * 3 + 3,
        # statistics="running": moving mean and variance of the output
        # standardisation (2 x 4 filters) and of the local branch (2 x 2
        # channels), and its moving context (3 kernel positions x 3
        # hidden).
        expected_num_non_trainable_params=2 * 4 + 2 * 2 + 3 * 3,
    ),
    TinyModel(
        name="terminator_classifier_2d",
        task_cls=TerminatorClassifier,
        build_tiny=_builder((4, 4)),
        example_batch=_batch((4, 4, 2)),
        description="Terminator on square images (spatial-matmul operator)",
        reference=_REF,
        expected_num_params=_block_params(2, 16, 2, 4, (3,)) + 4 * 3 + 3,
        # As above, with a 3x3 kernel grid: context 9 positions x 3 hidden.
        expected_num_non_trainable_params=2 * 4 + 2 * 2 + 9 * 3,
    ),
)


def _preset(name, evaluate, inputs, description):
    cfg = preset_config(name)
    return PresetSpec(name=name, task_cls=TerminatorClassifier,
                      train=preset_recipe(train_preset, name, preset_config),
                      evaluate=evaluate, inputs=inputs,
                      description=description,
                      data=split_loader(cfg["dataset"], cfg["shuffled"]))


# MNIST-1D: a `.npy`/`.csv` of 40 values per sequence (the channel axis
# may be left out); digits: a picture or an 8x8 array.
_SEQUENCE_INPUTS = (ChannelArrayInput(),)
PRESETS = (
    _preset("terminator_1d_mnist1d", split_evaluator("mnist1d", False),
            _SEQUENCE_INPUTS, "Terminator on MNIST-1D (40-step sequences)"),
    _preset("terminator_1d_mnist1d_shuffled",
            split_evaluator("mnist1d", True), _SEQUENCE_INPUTS,
            "Terminator on MNIST-1D with shuffled positions"),
    _preset("terminator_2d_digits", split_evaluator("digits", False),
            (PictureInput((8, 8, 1)), ChannelArrayInput()),
            "Terminator on 8x8 scikit-learn digit images"),
)

FAMILY = Family(
    name="terminator",
    title="HyperZ·Z·W implicit-kernel convolution (Terminator)",
    classes=(TerminatorBackbone, TerminatorClassifier),
    tiny_models=TINY_MODELS,
    presets=PRESETS,
    demo_tabs=(
        DemoTab("terminator_digits", "demos.terminator_digits",
                "terminator_2d_digits", "Terminator (HyperZ·Z·W)"),
        DemoTab("terminator_mnist1d", "demos.terminator_mnist1d",
                "terminator_1d_mnist1d", "Terminator (HyperZ·Z·W)"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_terminator.py",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/select_terminator_statistics.py"
        " --statistics sample running batch",
        "KERAS_BACKEND=jax {python} scripts/bench_terminator.py --part "
        "accuracy",
        "for b in jax tensorflow torch; do KERAS_BACKEND=$b {python} "
        "scripts/bench_terminator.py --part speed; done",
        "{python} scripts/bench_terminator.py --part plot",
        # Issue 22: shuffled MNIST-1D screening (validation) and baselines.
        _SHUFFLED + "--split val --epochs 20 --seeds 0 --variants "
        "average_pool flatten_head flatten_24_dropout flatten_24_no_global "
        "flatten_24_local_k1",
        _SHUFFLED + "--split val --epochs 20 --seeds 0 1 --variants "
        "flatten_24 flatten_24_wd flatten_24_ls02 flatten_24_mixup",
        _SHUFFLED + "--split val --epochs 40 --seeds 0 1 --variants "
        "flatten_24",
        _SHUFFLED + "--split val --epochs 40 --seeds 0 --variants mlp "
        "strong_mlp mlp_paper_recipe",
        _SHUFFLED + "--split test --seeds 0 1 2 --variants mlp "
        "mlp_paper_recipe strong_mlp",
    ),
)
