"""Command line interface: `python -m zoo {list,info,predict,eval,train,
prune,search}`.

The Keras backend is chosen by `KERAS_BACKEND` before Keras is imported;
`train --backend B` re-runs the command in a child process with that
backend when it differs from the current one.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys

BACKENDS = ("tensorflow", "jax", "torch")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "dfp_int16")
# zoo.schedules.SCHEDULES and zoo.training.LR_RULES (repeated here so
# that parsing imports no Keras; a test checks they agree).
SCHEDULES = ("cosine", "uba", "step", "linear", "onecycle", "constant")
LR_RULES = ("linear", "sqrt", "auto")
# zoo.pruning.prune_preset's METHODS and DEFAULT_MT_PERCENT (repeated
# here so that parsing imports no Keras; a test checks they agree).
PRUNING_METHODS = ("global_mp", "layer_mp", "sap", "hesso")
DEFAULT_MT_PERCENT = 0.05


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m zoo",
        description="hyperzoo: list, inspect, run and train presets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list bundled presets (--all: model "
                       "families and training recipes too)")
    p.add_argument("--all", action="store_true",
                   help="also list model families and training recipes "
                   "(imports Keras)")
    p = sub.add_parser("info", help="show a preset's metadata")
    p.add_argument("name", help="preset name or directory")
    p = sub.add_parser("predict", help="classify an input file")
    p.add_argument("name", help="preset name or directory")
    p.add_argument("input", help="a PNG/JPEG picture, a .npy array or a "
                   ".csv file (one sample per row)")
    p.add_argument("--top", type=int, default=3, help="classes to show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = sub.add_parser("eval", help="evaluate a preset on its test split")
    p.add_argument("name", help="preset name or directory")
    p.add_argument("--json", action="store_true", help="print one JSON")
    p = sub.add_parser("train", help="train a family into a preset")
    p.add_argument("family", help="recipe name, e.g. hyper_mlp_digits")
    _run_options(p)
    p = sub.add_parser("prune", help="prune and fine-tune a classification "
                       "preset into a new preset (zoo.pruning)")
    p.add_argument("family", metavar="preset",
                   help="bundled preset name, e.g. terminator_2d_digits")
    p.add_argument("--method", choices=PRUNING_METHODS,
                   default="global_mp")
    p.add_argument("--sparsity", type=float, default=0.9,
                   help="target fraction of zero prunable weights")
    p.add_argument("--mt", type=float, default=DEFAULT_MT_PERCENT,
                   help="global_mp: minimum weights kept per layer, in %% "
                   "of all prunable weights (0: off)")
    p.add_argument("--learning-rate", type=float, default=3e-4)
    _run_options(p)
    # zoo.search imports neither Keras nor PyGlove at import time.
    from zoo import search

    search.add_parser(sub)
    return parser


def _run_options(p):
    p.add_argument("--backend", choices=BACKENDS, default=None)
    p.add_argument("--precision", choices=PRECISIONS, default="float32")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--preset-name", default=None,
                   help="preset directory name inside --out")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    g = p.add_argument_group(
        "training options (recipes that train through "
        "zoo.training.fit_resumable)")
    g.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help="learning-rate schedule (default: the recipe's, "
                   "re-timed for --batch-size); same peak, warm-up share "
                   "and final rate")
    g.add_argument("--phi", type=float, default=2.0,
                   help="UBA's shape parameter (--schedule uba; 2 = "
                   "cosine)")
    g.add_argument("--batch-size", type=int, default=None,
                   help="training batch size (default: the recipe's)")
    g.add_argument("--auto-scale-lr", action="store_true",
                   help="rescale the recipe's learning rate to "
                   "--batch-size (linear for SGD, sqrt for Adam-family)")
    g.add_argument("--lr-rule", choices=LR_RULES, default="auto")
    g.add_argument("--critical-batch", type=int, default=None,
                   help="warn when --batch-size exceeds it (default: 1/8 "
                   "of the training set)")
    g.add_argument("--energy", action="store_true",
                   help="log energy (J), mean power (W) and CO2eq per "
                   "epoch to log.csv")


def _fail(message):
    # One line, whatever the exception text holds.
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def _preset_spec(name):
    """`(spec, metadata)` of a bundled preset name or a preset directory.

    A directory is matched to its recipe by the `recipe` key that
    `zoo.training.train` writes, else by its folder name, else (presets
    saved before the key existed, copies of bundled presets) by the one
    declared preset of the same architecture and dataset.
    """
    import zoo
    from zoo import registry

    meta = zoo.read_metadata(name)
    meta["_name"] = name
    known = registry.list_recipes()
    for recipe in (meta.get("recipe"),
                   os.path.basename(os.path.normpath(name))):
        if recipe in known:
            return registry.get_preset_spec(recipe), meta
    same = [
        recipe for recipe in known
        if recipe in zoo.list_presets()
        and registry.get_preset_spec(recipe).task_cls.__name__
        == meta.get("architecture")
        and zoo.read_metadata(recipe).get("dataset") == meta.get("dataset")
    ]
    if len(same) == 1:
        return registry.get_preset_spec(same[0]), meta
    raise ValueError(
        f"Preset {name!r} does not say which recipe made it (no `recipe` "
        "in its metadata.json, its folder name is not a known preset, and "
        f"{len(same)} presets share its architecture and dataset). Known: "
        f"{', '.join(known)}."
    )


def _cmd_list(args):
    # Presets come from their folders' metadata.json: no Keras import.
    from zoo.preset_utils import list_presets
    from zoo.preset_utils import read_metadata

    print("Presets:")
    for name in list_presets():
        meta = read_metadata(name)
        acc = meta.get("metrics", {}).get("accuracy")
        extra = f"  test accuracy {acc:.4f}" if acc is not None else ""
        print(f"  {name}  ({meta.get('architecture')}, "
              f"{meta.get('parameter_count')} params){extra}")
    if not args.all:
        return 0
    from zoo import registry

    print("Model families:")
    for family in registry.families():
        print(f"  {family.name}: {family.title}")
    print("Tiny test models (registry):")
    for name in registry.list_models():
        print(f"  {name}")
    from zoo.inputs import describe

    print("Training recipes (preset: what `predict` takes):")
    for name in registry.list_recipes():
        spec = registry.get_preset_spec(name)
        print(f"  {name}  ({spec.description}; predict: "
              f"{describe(spec.inputs)})")
    return 0


def _cmd_info(args):
    import zoo

    meta = zoo.read_metadata(args.name)
    print(json.dumps(meta, indent=2, sort_keys=True))
    return 0


def _softmax(logits):
    import numpy as np

    logits = np.asarray(logits, "float64")
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def _print_classes(meta, outputs, top, as_json):
    import numpy as np

    probs = _softmax(outputs)
    labels = meta.get("label_names") or [
        str(i) for i in range(probs.shape[-1])
    ]
    results = []
    for row in probs.reshape((-1, probs.shape[-1])):
        order = np.argsort(row)[::-1][:top]
        results.append({labels[i]: float(row[i]) for i in order})
    if as_json:
        print(json.dumps(results[0] if len(results) == 1 else results))
        return
    for i, result in enumerate(results):
        if len(results) > 1:
            print(f"# sample {i}")
        for label, p in result.items():
            print(f"{label}\t{p:.4f}")


def _print_values(outputs, as_json):
    import numpy as np

    named = outputs if isinstance(outputs, dict) else {"output": outputs}
    named = {k: np.asarray(v, "float64") for k, v in named.items()}
    if as_json:
        print(json.dumps({k: v.tolist() for k, v in named.items()}))
        return
    for key, values in named.items():
        for i, row in enumerate(values):
            print(f"# {key}, sample {i}")
            print(np.array2string(row, precision=4, threshold=64))


def _cmd_predict(args):
    import keras
    import numpy as np

    import zoo
    from zoo.inputs import read_input

    if args.top < 1:
        raise ValueError(f"`--top` must be >= 1. Received: {args.top}")
    spec, meta = _preset_spec(args.name)
    x, model, adapter = read_input(args.input, spec.inputs, meta,
                                   lambda: zoo.load(args.name))
    try:
        model.validate_inputs(x)
    except TypeError as e:
        raise ValueError(str(e)) from None
    if not isinstance(x, dict):
        x = np.asarray(x, "float32")
    outputs = keras.tree.map_structure(
        keras.ops.convert_to_numpy, model.predict(x, verbose=0)
    )
    if adapter.output == "classes":
        _print_classes(meta, outputs, args.top, args.json)
    else:
        _print_values(outputs, args.json)
    return 0


def _cmd_eval(args):
    import keras

    import zoo

    spec, _ = _preset_spec(args.name)
    model = zoo.load(args.name)
    metrics = spec.evaluate(model, "test")
    metrics["backend"] = keras.backend.backend()
    if args.json:
        print(json.dumps(metrics, sort_keys=True))
    else:
        for k, v in sorted(metrics.items()):
            print(f"{k}: {v}")
    return 0


_INTERRUPTED = "interrupted; rerun the same command to resume"


def _cmd_train(args):
    return _run(args, None)


def _cmd_prune(args):
    from zoo.pruning.prune_preset import pruning_recipe

    recipe = pruning_recipe(args.family, args.method, args.sparsity,
                            mt_percent=args.mt,
                            learning_rate=args.learning_rate)
    return _run(args, recipe)


def _run(args, recipe):
    """`train` (recipe `None`: the declared one) or `prune` a recipe."""
    if args.epochs is not None and args.epochs <= 0:
        raise ValueError(f"`--epochs` must be >= 1. Received: {args.epochs}")
    if args.backend:
        if "keras" not in sys.modules:
            os.environ["KERAS_BACKEND"] = args.backend
        else:
            import keras

            if keras.backend.backend() != args.backend:
                # The backend is fixed once Keras is imported: re-run.
                env = dict(os.environ, KERAS_BACKEND=args.backend)
                cmd = [sys.executable, "-m", "zoo"] + args.argv
                proc = subprocess.Popen(cmd, env=env)
                try:
                    return proc.wait()
                except KeyboardInterrupt:
                    # The child got the Ctrl+C too: let it save and exit.
                    proc.wait()
                    print(f"error: {_INTERRUPTED}", file=sys.stderr)
                    return 130
    from zoo import registry
    from zoo.training import TrainOptions
    from zoo.training import run_recipe

    options = TrainOptions(
        schedule=args.schedule, phi=args.phi, batch_size=args.batch_size,
        auto_scale_lr=args.auto_scale_lr, lr_rule=args.lr_rule,
        critical_batch=args.critical_batch, energy=args.energy,
    )
    if recipe is None:
        spec = registry.get_preset_spec(args.family)
        if not spec.train_options and (not options.is_default
                                       or args.precision == "dfp_int16"):
            raise ValueError(
                f"{args.family!r} trains with its own loops and takes no "
                "--schedule/--phi/--batch-size/--auto-scale-lr/--energy "
                "or --precision dfp_int16."
            )
        recipe = spec.train
    try:
        preset_dir, metrics = run_recipe(
            args.family,
            recipe,
            args.out,
            epochs=args.epochs,
            precision=args.precision,
            seed=args.seed,
            verbose=0 if args.quiet else 1,
            preset_name=args.preset_name,
            overwrite=args.overwrite,
            # A command that runs when pasted (not `python '-m zoo'`).
            training_command=shlex.join(["python", "-m", "zoo"]
                                        + args.argv),
            options=options,
        )
    except KeyboardInterrupt:
        print(f"error: {_INTERRUPTED} (checkpoints are kept in "
              f"{args.out!r})", file=sys.stderr)
        return 130
    print(json.dumps({"preset": preset_dir, "metrics": metrics}))
    return 0


def _cmd_search(args):
    from zoo import search

    return search.run_command(args)


_COMMANDS = {
    "list": _cmd_list,
    "info": _cmd_info,
    "predict": _cmd_predict,
    "eval": _cmd_eval,
    "train": _cmd_train,
    "prune": _cmd_prune,
    "search": _cmd_search,
}


def main(argv=None):
    """Entry point of `python -m zoo` and the `hyperzoo` script.

    Args:
        argv: list of str or `None` for `sys.argv[1:]`.

    Returns:
        The process exit code: 0 on success, 2 on a usage or input error
        (a one-line message on stderr, no traceback), 130 when training
        is interrupted with Ctrl+C (checkpoints kept; rerun to resume).

    Example:

    ```python
    zoo.cli.main(["eval", "hyper_mlp_digits", "--json"])
    ```
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    try:
        return _COMMANDS[args.command](args)
    except ValueError as e:
        # PresetError and PresetChecksumError are ValueErrors too.
        return _fail(str(e))
