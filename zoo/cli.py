"""Command line interface: `python -m zoo {list,info,predict,eval,train}`.

The Keras backend is chosen by `KERAS_BACKEND` before Keras is imported;
`train --backend B` re-runs the command in a child process with that
backend when it differs from the current one.
"""

import argparse
import json
import os
import subprocess
import sys

BACKENDS = ("tensorflow", "jax", "torch")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m zoo",
        description="hyperzoo: list, inspect, run and train presets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list bundled presets and model families")
    p = sub.add_parser("info", help="show a preset's metadata")
    p.add_argument("name", help="preset name or directory")
    p = sub.add_parser("predict", help="classify an input file")
    p.add_argument("name", help="preset name or directory")
    p.add_argument("input", help="a PNG/JPEG picture or a .npy array")
    p.add_argument("--top", type=int, default=3, help="classes to show")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = sub.add_parser("eval", help="evaluate a preset on its test split")
    p.add_argument("name", help="preset name or directory")
    p.add_argument("--json", action="store_true", help="print one JSON")
    p = sub.add_parser("train", help="train a family into a preset")
    p.add_argument("family", help="recipe name, e.g. hyper_mlp_digits")
    p.add_argument("--backend", choices=BACKENDS, default=None)
    p.add_argument("--precision", choices=PRECISIONS, default="float32")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--preset-name", default=None,
                   help="preset directory name inside --out")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _fail(message):
    print(f"error: {message}", file=sys.stderr)
    return 2


def _load_input(path, metadata):
    import numpy as np

    if not os.path.isfile(path):
        raise ValueError(f"`input` file not found: {path!r}")
    kind = metadata.get("input_kind")
    if path.endswith(".npy"):
        arr = np.load(path, allow_pickle=False)
    else:
        from PIL import Image
        from PIL import UnidentifiedImageError

        try:
            with Image.open(path) as img:
                arr = np.asarray(img.convert("RGBA"))
        except UnidentifiedImageError as e:
            raise ValueError(
                f"`input` {path!r} is not a readable image (PNG, JPEG, ...)."
            ) from e
    if kind == "digits_8x8":
        from zoo.hyper_mlp.preprocessing import digit_image_to_features

        if arr.ndim == 1 or arr.shape == (8, 8):
            arr = arr.reshape(-1).astype("float32")
            if arr.shape != (64,):
                raise ValueError(
                    "A .npy input for this preset must hold 64 features. "
                    f"Received shape={arr.shape}."
                )
            return arr[None]
        return digit_image_to_features(arr)[None]
    raise ValueError(f"Preset input kind {kind!r} is not supported by CLI.")


def _cmd_list(args):
    import zoo

    print("Presets:")
    for name in zoo.list_presets():
        meta = zoo.read_metadata(name)
        acc = meta.get("metrics", {}).get("accuracy")
        extra = f"  test accuracy {acc:.4f}" if acc is not None else ""
        print(f"  {name}  ({meta.get('architecture')}, "
              f"{meta.get('parameter_count')} params){extra}")
    print("Model families (registry):")
    for name in zoo.list_models():
        print(f"  {name}")
    from zoo.training import list_recipes

    print("Training recipes:")
    for name in list_recipes():
        print(f"  {name}")
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


def _cmd_predict(args):
    import keras

    import zoo

    meta = zoo.read_metadata(args.name)
    x = _load_input(args.input, meta)
    model = zoo.load(args.name)
    probs = _softmax(keras.ops.convert_to_numpy(model.predict(x, verbose=0)))
    labels = meta.get("label_names") or [
        str(i) for i in range(probs.shape[-1])
    ]
    order = probs[0].argsort()[::-1][: max(1, args.top)]
    result = {labels[i]: float(probs[0, i]) for i in order}
    if args.json:
        print(json.dumps(result))
    else:
        for label, p in result.items():
            print(f"{label}\t{p:.4f}")
    return 0


_EVALUATORS = {
    "digits": "zoo.hyper_mlp.hyper_mlp_recipes:evaluate_digits",
}


def _cmd_eval(args):
    import importlib

    import keras

    import zoo

    meta = zoo.read_metadata(args.name)
    dataset = meta.get("dataset")
    # A preset names its evaluator ("zoo.<module>:<function>") in its
    # metadata; older presets are looked up by dataset.
    target = meta.get("evaluator") or _EVALUATORS.get(dataset)
    if not target or not target.startswith("zoo.") or ":" not in target:
        raise ValueError(
            f"No evaluator for dataset {dataset!r} of preset {args.name!r}."
        )
    module, fn = target.split(":")
    evaluate = getattr(importlib.import_module(module), fn)
    model = zoo.load(args.name)
    metrics = evaluate(model, "test")
    metrics["backend"] = keras.backend.backend()
    if args.json:
        print(json.dumps(metrics, sort_keys=True))
    else:
        for k, v in sorted(metrics.items()):
            print(f"{k}: {v}")
    return 0


def _cmd_train(args):
    if args.backend:
        if "keras" not in sys.modules:
            os.environ["KERAS_BACKEND"] = args.backend
        else:
            import keras

            if keras.backend.backend() != args.backend:
                # The backend is fixed once Keras is imported: re-run.
                env = dict(os.environ, KERAS_BACKEND=args.backend)
                cmd = [sys.executable, "-m", "zoo"] + args.argv
                return subprocess.call(cmd, env=env)
    from zoo.training import train

    preset_dir, metrics = train(
        args.family,
        args.out,
        epochs=args.epochs,
        precision=args.precision,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        preset_name=args.preset_name,
        overwrite=args.overwrite,
    )
    print(json.dumps({"preset": preset_dir, "metrics": metrics}))
    return 0


_COMMANDS = {
    "list": _cmd_list,
    "info": _cmd_info,
    "predict": _cmd_predict,
    "eval": _cmd_eval,
    "train": _cmd_train,
}


def main(argv=None):
    """Entry point of `python -m zoo` and the `hyperzoo` script.

    Args:
        argv: list of str or `None` for `sys.argv[1:]`.

    Returns:
        The process exit code (0 on success, 2 on a usage or input error).

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
