"""Pruning family: sparse Keras 3 models on every backend.

Masks live in `PruningOptimizer` (applied inside every optimizer step);
`magnitude_masks` ranks weights globally or per layer, with Gupta et
al.'s minimum threshold; `PolynomialDecay` / `ConstantSparsity` are
tfmot's gradual schedules; `prune_once`, `strip_pruning` and
`sparsity_report` work on any compiled model; `pqi` / `sap_prune` are
Diao et al.'s PQ Index and Sparsity-informed Adaptive Pruning, and
`imp_prune` the lottery-ticket-style iterative magnitude pruning they
compare it to; `HESSOOptimizer` / `build_subnet` remove whole channels
(Chen et al.).
"""

from zoo.preset_utils import register_family_presets
from zoo.pruning.hesso import HESSOOptimizer
from zoo.pruning.hesso import dense_unit_groups
from zoo.pruning.hesso import digits_cnn_groups
from zoo.pruning.magnitude import layer_sparsities
from zoo.pruning.magnitude import magnitude_masks
from zoo.pruning.pqi import pqi
from zoo.pruning.pqi import retained_bound
from zoo.pruning.pruning_family import FAMILY
from zoo.pruning.pruning_optimizer import PruningOptimizer
from zoo.pruning.pruning_optimizer import is_prunable
from zoo.pruning.pruning_schedules import ConstantSparsity
from zoo.pruning.pruning_schedules import PolynomialDecay
from zoo.pruning.pruning_utils import prune_once
from zoo.pruning.pruning_utils import recalibrate_batch_norm
from zoo.pruning.pruning_utils import sparsity_report
from zoo.pruning.pruning_utils import strip_pruning
from zoo.pruning.sap import imp_masks
from zoo.pruning.sap import imp_prune
from zoo.pruning.sap import sap_masks
from zoo.pruning.sap import sap_prune
from zoo.pruning.subnet import build_subnet

register_family_presets(FAMILY)

__all__ = [
    "FAMILY", "ConstantSparsity", "HESSOOptimizer", "PolynomialDecay",
    "PruningOptimizer", "build_subnet", "dense_unit_groups",
    "digits_cnn_groups", "imp_masks", "imp_prune", "is_prunable",
    "layer_sparsities", "magnitude_masks", "pqi", "prune_once",
    "recalibrate_batch_norm", "retained_bound", "sap_masks", "sap_prune",
    "sparsity_report", "strip_pruning",
]
