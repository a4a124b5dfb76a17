"""Declaration of the pruning family (see `zoo.family`).

Pruning adds no model classes: its optimizer wrapper, schedules and
tools work on any Keras model, the zoo's included. Presets, demo tab
and benchmarks of issue 15 are declared here as they land.
"""

from zoo.family import DemoTab
from zoo.family import Family
from zoo.pruning.hesso import HESSOOptimizer
from zoo.pruning.pruning_optimizer import PruningOptimizer
from zoo.pruning.pruning_schedules import ConstantSparsity
from zoo.pruning.pruning_schedules import PolynomialDecay

FAMILY = Family(
    name="pruning",
    title="Pruning for Keras 3: Global MP with MT, SAP, HESSO",
    classes=(PruningOptimizer, HESSOOptimizer, PolynomialDecay,
             ConstantSparsity),
    demo_tabs=(
        DemoTab("pruning", "demos.pruning", "cafa_digits_encoder",
                "Pruning"),
    ),
)
