"""Declaration of the pruning family (see `zoo.family`).

Pruning adds no model classes: its optimizer wrappers, schedules and
tools work on any Keras model, the zoo's included. Its presets are
pruned versions of other families' presets (same Task classes).
"""

from zoo.baselines.digits_cnn import DigitsCNNClassifier
from zoo.data.digits import load_digit_images
from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.inputs import ChannelArrayInput
from zoo.inputs import PictureInput
from zoo.pruning.hesso import HESSOOptimizer
from zoo.pruning.hesso_training import evaluate_digits_cnn_hesso
from zoo.pruning.hesso_training import train_digits_cnn_hesso
from zoo.pruning.pruning_optimizer import PruningOptimizer
from zoo.pruning.pruning_schedules import ConstantSparsity
from zoo.pruning.pruning_schedules import PolynomialDecay
from zoo.pruning.pruning_training import evaluate_terminator_globalmp90
from zoo.pruning.pruning_training import train_terminator_globalmp90
from zoo.terminator.terminator_classifier import TerminatorClassifier
from zoo.terminator.terminator_presets import split_loader

_DIGIT_IMAGE_INPUTS = (PictureInput((8, 8, 1)), ChannelArrayInput())

PRESETS = (
    PresetSpec(
        name="digits_cnn_hesso",
        task_cls=DigitsCNNClassifier,
        train=train_digits_cnn_hesso,
        evaluate=evaluate_digits_cnn_hesso,
        inputs=_DIGIT_IMAGE_INPUTS,
        description="Digits CNN with channels removed by HESSO "
                    "(from a dense 128-256 digits CNN)",
        data=load_digit_images,
    ),
    PresetSpec(
        name="terminator_2d_digits_globalmp90",
        task_cls=TerminatorClassifier,
        train=train_terminator_globalmp90,
        evaluate=evaluate_terminator_globalmp90,
        inputs=_DIGIT_IMAGE_INPUTS,
        description="terminator_2d_digits with 90 % of its kernel "
                    "weights zero (Global MP + MT, fine-tuned)",
        data=split_loader("digits", False),
    ),
)
PRESET_NAMES = tuple(p.name for p in PRESETS)

FAMILY = Family(
    name="pruning",
    title="Pruning for Keras 3: Global MP with MT, SAP, HESSO",
    classes=(PruningOptimizer, HESSOOptimizer, PolynomialDecay,
             ConstantSparsity),
    presets=PRESETS,
    demo_tabs=(
        DemoTab("pruning", "demos.pruning", "cafa_digits_encoder",
                "Pruning"),
        DemoTab("pruning_terminator", "demos.pruning_terminator",
                "terminator_2d_digits", "Pruning"),
        DemoTab("hesso", "demos.hesso", "digits_cnn_hesso", "Pruning"),
    ),
    preset_commands=(
        "KERAS_BACKEND=jax {python} scripts/train_pruning.py",
    ),
    bench_commands=(
        "KERAS_BACKEND=jax {python} scripts/bench_pruning.py",
        "KERAS_BACKEND=jax {python} scripts/bench_tfmot.py",
        "KERAS_BACKEND=jax {python} scripts/bench_filter_design.py",
        "KERAS_BACKEND=jax {python} scripts/bench_hesso.py",
    ),
)
