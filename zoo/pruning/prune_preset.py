"""`python -m zoo prune`: a pruning recipe for any classification preset.

`pruning_recipe(base, method, sparsity, ...)` returns a callable with the
recipe contract of `zoo.family.PresetSpec` (`train`), run by
`zoo.training.run_recipe` like any preset recipe (run directory,
checkpoints and resumption, precision scope, atomic preset writing).
The new preset is evaluated by the base preset's evaluator, plus the
sparsity measured from its weights.
"""

import math

import keras

from zoo._checks import check_int
from zoo._checks import check_str_choice
from zoo.pruning.pruning_optimizer import PruningOptimizer
from zoo.pruning.pruning_schedules import PolynomialDecay
from zoo.pruning.pruning_utils import recalibrate_batch_norm
from zoo.pruning.pruning_utils import sparsity_report
from zoo.pruning.pruning_utils import strip_pruning
from zoo.pruning.sap import sap_prune

METHODS = ("global_mp", "layer_mp", "sap", "hesso")
# Gupta et al.'s default minimum threshold: 0.05 % of the prunable
# weights kept in every layer.
DEFAULT_MT_PERCENT = 0.05
DEFAULT_EPOCHS = 10
# The sparsity ramp ends at this fraction of the fine-tuning steps; the
# rest trains with fixed masks.
RAMP_FRACTION = 0.6
RAMP_EVENTS = 10


def _check_args(method, sparsity, mt_percent, learning_rate, batch_size):
    check_str_choice("method", method, METHODS)
    if isinstance(sparsity, bool) or not isinstance(
            sparsity, (int, float)) or not 0.0 < sparsity < 1.0:
        raise ValueError("`sparsity` (--sparsity) must be a number in "
                         f"(0, 1). Received: sparsity={sparsity!r}")
    if not isinstance(mt_percent, (int, float)) or not 0 <= mt_percent < 100:
        raise ValueError("`mt_percent` (--mt) must be in [0, 100). "
                         f"Received: mt_percent={mt_percent!r}")
    if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError("`learning_rate` must be > 0. Received: "
                         f"learning_rate={learning_rate!r}")
    check_int("batch_size", batch_size, 1)


def pruning_recipe(base, method="global_mp", sparsity=0.9,
                   mt_percent=DEFAULT_MT_PERCENT, learning_rate=3e-4,
                   batch_size=64, sap_iterations=5):
    """A recipe that prunes and fine-tunes a bundled classification preset.

    - `"global_mp"`: gradual Global MP (one magnitude ranking over every
      prunable kernel) with Gupta et al.'s minimum threshold: each layer
      keeps at least `mt_percent` % of all prunable weights. A cubic
      `PolynomialDecay` from 0 to `sparsity` over the first 60 % of the
      fine-tuning steps (10 mask updates), then fixed masks.
    - `"layer_mp"`: the same ramp with every layer at `sparsity` (tfmot's
      uniform pruning).
    - `"sap"`: `sap_prune` for `sap_iterations` rounds of `epochs /
      sap_iterations` epochs (at least 1), without rewinding; SAP picks
      its own density, `sparsity` is not a target (reported as measured).
    - `"hesso"` (digits CNN presets): `HESSOOptimizer` removes
      `sparsity` of the conv channels (whole groups) while fine-tuning,
      then `build_subnet` rebuilds the smaller network.

    Fine-tuning: Adam(`learning_rate`) on the base preset's `"train"`
    split (its `PresetSpec.data`), the base task's own loss; the model
    is stripped, and its BatchNormalization statistics recomputed on the
    train split (`recalibrate_batch_norm`), before it is saved.

    Args:
        base: str. A bundled preset whose `PresetSpec.data` is set.
        method: str. One of `METHODS`.
        sparsity: float in (0, 1). Target fraction of zero prunable
            weights.
        mt_percent: float. Global MP's minimum threshold (0: off).
        learning_rate: float. Adam learning rate.
        batch_size: int. Batch size.
        sap_iterations: int. SAP rounds.

    Returns:
        A callable `(epochs, out_dir, seed, verbose) -> (model,
        test_metrics, metadata)`.

    Raises:
        ValueError: an unknown preset, a preset without supervised data,
            or an invalid argument (each named).

    Example:

    ```python
    recipe = pruning_recipe("hyper_mlp_digits", "global_mp", 0.8)
    zoo.training.run_recipe("hyper_mlp_digits", recipe, "runs/p80")
    ```

    Reference:
    - [Gupta et al., 2022](https://arxiv.org/abs/2209.14624), "Is
      Complexity Required for Neural Network Pruning? A Case Study on
      Global Magnitude Pruning".
    - [Diao et al., 2023](https://arxiv.org/abs/2302.05601), "Pruning
      Deep Neural Networks from a Sparsity Perspective".
    """
    from zoo import registry

    _check_args(method, sparsity, mt_percent, learning_rate, batch_size)
    check_int("sap_iterations", sap_iterations, 1)
    spec = registry.get_preset_spec(base)
    if spec.data is None:
        raise ValueError(
            f"Preset {base!r} has no input/label data set to fine-tune on "
            "(its family declares no `data`); `zoo prune` works on the "
            "classification presets: " + ", ".join(
                p for p in registry.list_recipes()
                if registry.get_preset_spec(p).data is not None))
    _check_hesso_model(method, spec.task_cls, base)
    settings = {"base_preset": base, "method": method,
                "target_sparsity": float(sparsity),
                "mt_percent": float(mt_percent) if method == "global_mp"
                else 0.0,
                "learning_rate": float(learning_rate),
                "batch_size": int(batch_size)}

    def recipe(epochs=None, out_dir=None, seed=0, verbose=2):
        from zoo import preset_utils

        epochs = epochs or DEFAULT_EPOCHS
        model = preset_utils.load(base)
        x, y = spec.data("train")
        run = dict(epochs=epochs, out_dir=out_dir, verbose=verbose,
                   batch_size=batch_size, learning_rate=learning_rate)
        if method == "hesso":
            dense_parameters = model.count_params()
            model, extra = _hesso(model, x, y, sparsity, **run)
            extra["dense_parameters"] = dense_parameters
        else:
            if method == "sap":
                extra = _sap(model, x, y, sap_iterations, **run)
            else:
                extra = _gradual(model, x, y, method, sparsity, mt_percent,
                                 **run)
            strip_pruning(model)
            recalibrate_batch_norm(model, x)
        report = sparsity_report(model)
        metrics = dict(spec.evaluate(model, "test"))
        metrics.update(sparsity=report["sparsity"],
                       prunable_parameters=report["prunable_parameters"],
                       zero_parameters=report["zero_parameters"],
                       parameters=model.count_params())
        metadata = {
            "description": f"{base} pruned by {method} to "
                           f"{report['sparsity']:.1%} sparsity"
                           + (f", {model.count_params()} parameters"
                              if method == "hesso" else ""),
            "pruning": dict(settings, epochs=epochs, **extra,
                            layers=report["layers"]),
        }
        return model, metrics, metadata

    recipe.__name__ = f"prune_{base}_{method}"
    return recipe


def _check_hesso_model(method, task_cls, base):
    from zoo.baselines.digits_cnn import DigitsCNNClassifier

    if method == "hesso" and not issubclass(task_cls, DigitsCNNClassifier):
        raise ValueError(
            f"`--method hesso` needs zero-invariant groups declared for "
            f"the architecture; they exist for zoo.DigitsCNNClassifier "
            f"presets (e.g. cafa_digits_encoder). Received: {base!r}, a "
            f"{task_cls.__name__}")


def _gradual(model, x, y, method, sparsity, mt_percent, epochs, out_dir,
             verbose, batch_size, learning_rate):
    """Gradual magnitude pruning (cubic ramp, then fixed masks)."""
    from zoo.training import fit_resumable

    steps = epochs * math.ceil(len(y) / batch_size)
    end = max(1, int(RAMP_FRACTION * steps))
    schedule = PolynomialDecay(0.0, float(sparsity), 0, end,
                               frequency=max(1, end // RAMP_EVENTS))
    optimizer = PruningOptimizer(
        keras.optimizers.Adam(learning_rate), schedule,
        scope="global" if method == "global_mp" else "layer")
    optimizer.build(model.trainable_variables)
    total = sum(int(math.prod(v.shape)) for v in optimizer.pruned_variables)
    if method == "global_mp" and mt_percent:
        optimizer.min_weights = max(1, round(total * mt_percent / 100))
    model.compile(optimizer=optimizer)
    fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                  batch_size=batch_size, verbose=verbose)
    return {"min_weights": optimizer.min_weights,
            "schedule": schedule.get_config()}


def _sap(model, x, y, sap_iterations, epochs, out_dir, verbose, batch_size,
         learning_rate):
    """SAP rounds without rewinding, then one last round of training."""
    model.compile(optimizer=PruningOptimizer(
        keras.optimizers.Adam(learning_rate)))
    rounds = max(1, epochs // sap_iterations)
    history = sap_prune(model, x, y, sap_iterations, rounds, rewind=False,
                        batch_size=batch_size, verbose=verbose)
    model.fit(x, y, batch_size=batch_size, epochs=rounds, verbose=verbose)
    return {"sap_density": [float(d) for d in history["density"]],
            "sap_pqi": [float(v) for v in history["pqi"]]}


def _hesso(model, x, y, sparsity, epochs, out_dir, verbose, batch_size,
           learning_rate):
    """HESSO fine-tuning, then the compact model without zero groups."""
    from zoo.pruning.hesso_training import hesso_finetune
    from zoo.pruning.subnet import build_subnet

    groups = hesso_finetune(model, x, y, epochs, out_dir,
                            target_group_sparsity=float(sparsity),
                            batch_size=batch_size,
                            learning_rate=learning_rate, verbose=verbose)
    small = build_subnet(model, groups)
    return small, {"filters": list(small.backbone.filters)}
