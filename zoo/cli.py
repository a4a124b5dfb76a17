"""Command line interface: `python -m zoo {list,info,predict,eval,train}`.

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
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


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


# Pictures: larger ones are refused before decoding (a PNG cannot be
# decoded at a lower resolution; a JPEG is decoded at 1/2..1/8 scale with
# `Image.draft` first). Decoded pictures are shrunk to at most
# `_WORK_SIDE` pixels a side before any array is made.
MAX_IMAGE_PIXELS = 4096 * 4096
_WORK_SIDE = 512
# Modes with more than 8 bits per sample: rescaled by their real range.
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
# Input kinds the CLI reads from a picture: the shape of one sample.
_IMAGE_KINDS = {"digits_8x8": (64,), "digits_8x8x1": (8, 8, 1)}


def _fail(message):
    # One line, whatever the exception text holds.
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def read_image(path):
    """Decodes a picture file with bounded memory and time.

    The size in the header is checked right after `Image.open`, before
    any pixel is decoded: pictures over `MAX_IMAGE_PIXELS` are refused
    (a JPEG is first decoded at a reduced scale with `Image.draft`), as
    are decompression bombs and truncated files. Decoded pictures are
    shrunk to at most 512 pixels a side. 16-bit and 32-bit pictures
    (modes `I;16`, `I`, `F`) are rescaled by their real value range;
    palette, grey+alpha and RGBA pictures are converted to RGBA.

    Args:
        path: str. Picture file (PNG, JPEG, ...).

    Returns:
        A uint8 array `(H, W, 4)` (RGBA), or a float64 array `(H, W)` in
        `[0, 1]` for high-depth pictures; either is accepted by
        `zoo.hyper_mlp.digit_image_to_features`.

    Raises:
        ValueError: unreadable, truncated, too large or empty picture.

    Example:

    ```python
    features = zoo.hyper_mlp.digit_image_to_features(
        zoo.cli.read_image("three.png"))
    ```
    """
    import warnings

    import numpy as np
    from PIL import Image
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise ValueError(
            f"`input` {path!r} is refused: its header declares more pixels "
            f"than allowed ({e}). The limit is {MAX_IMAGE_PIXELS} pixels "
            "(4096x4096); downscale the picture first."
        ) from None
    except UnidentifiedImageError:
        raise ValueError(
            f"`input` {path!r} is not a readable image (PNG, JPEG, ...)."
        ) from None
    except OSError as e:
        raise ValueError(
            f"`input` {path!r} cannot be read: {e.strerror or e}."
        ) from None
    with img:
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS and img.format == "JPEG":
            img.draft(img.mode, (_WORK_SIDE, _WORK_SIDE))
            width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"`input` {path!r} is {width}x{height} pixels "
                f"({width * height / 1e6:.1f} M), over the limit of "
                f"{MAX_IMAGE_PIXELS} pixels (4096x4096) decoded by the CLI; "
                "downscale the picture first."
            )
        if width < 1 or height < 1:
            raise ValueError(f"`input` {path!r} is an empty image.")
        try:
            img.load()
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ValueError(
                f"`input` {path!r} is truncated or corrupt and cannot be "
                f"decoded ({e})."
            ) from None
        if img.mode in _HIGH_DEPTH_MODES:
            # 16-bit and 32-bit pictures: rescaled by their real range
            # (clipping to 8 bits would blank light ink on dark).
            img = img.convert("F")
            if max(img.size) > _WORK_SIDE:
                img.thumbnail((_WORK_SIDE, _WORK_SIDE))
            arr = np.asarray(img, dtype="float64")
            if not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"`input` {path!r} contains NaN or infinite pixels."
                )
            lo, hi = arr.min(), arr.max()
            return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        img = img.convert("RGBA")
        if max(img.size) > _WORK_SIDE:
            img.thumbnail((_WORK_SIDE, _WORK_SIDE))
        return np.asarray(img)


def _read_array(path):
    """Reads a `.npy` or `.csv` array (CSV: one sample per row)."""
    import numpy as np

    try:
        if path.lower().endswith(".npy"):
            arr = np.load(path, allow_pickle=False)
        else:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # empty file
                arr = np.loadtxt(path, delimiter=",", ndmin=2,
                                 dtype="float64")
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(
            f"`input` {path!r} is not a readable numeric "
            f"{'.npy' if path.lower().endswith('.npy') else 'CSV'} file "
            f"({' '.join(str(e).split())})."
        ) from None
    if not isinstance(arr, np.ndarray) or arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(
            f"`input` {path!r} must hold numbers. Received dtype="
            f"{getattr(arr, 'dtype', type(arr).__name__)}."
        )
    if arr.size == 0:
        raise ValueError(f"`input` {path!r} holds no values (empty array).")
    return arr


def _load_input(path, metadata, load_model):
    """`(batch, model)` for the file at `path`.

    Pictures are decoded (and refused) before the model is loaded;
    arrays are shaped by the loaded model's input spec.
    """
    import numpy as np

    if not os.path.isfile(path):
        raise ValueError(f"`input` file not found: {path!r}")
    kind = metadata.get("input_kind")
    name = metadata["_name"]
    lower = path.lower()
    if not lower.endswith((".npy", ".csv")):
        if kind not in _IMAGE_KINDS:
            raise ValueError(
                f"Preset {name!r} (input kind {kind!r}) does not take a "
                "picture: give a .npy or .csv array "
                f"({metadata.get('input_spec', 'see `python -m zoo info`')})."
            )
        from zoo.hyper_mlp.preprocessing import digit_image_to_features

        features = digit_image_to_features(read_image(path))
        return features.reshape((1,) + _IMAGE_KINDS[kind]), load_model()
    arr = _read_array(path)
    model = load_model()
    spec = model.input_specs()
    if isinstance(spec, dict) or spec is None:
        raise ValueError(
            f"Preset {name!r} takes a dict of inputs "
            f"({metadata.get('input_spec', '')}); `predict` on the command "
            "line reads one picture or array. Use the Python API "
            "(model = zoo.load(...); model.predict({...}))."
        )
    sample = tuple(spec.shape[1:])
    if kind == "digits_8x8" and arr.shape[-2:] == (8, 8):
        arr = arr.reshape(arr.shape[:-2] + (64,))
    if tuple(arr.shape) == sample:
        arr = arr[None]  # one sample
    elif lower.endswith(".csv") and arr.ndim == 2 and None not in sample \
            and arr.shape[1] == int(np.prod(sample)):
        arr = arr.reshape((arr.shape[0],) + sample)
    return arr, model


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
    import zoo

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
    import numpy as np

    import zoo

    if args.top < 1:
        raise ValueError(f"`--top` must be >= 1. Received: {args.top}")
    meta = zoo.read_metadata(args.name)
    meta["_name"] = args.name
    x, model = _load_input(args.input, meta, lambda: zoo.load(args.name))
    if isinstance(model.input_specs(), dict) or len(model.output.shape) != 2:
        raise ValueError(
            f"`predict` on the command line classifies one array; preset "
            f"{args.name!r} ({type(model).__name__}) takes "
            f"{meta.get('input_spec', 'a dict')} and outputs shape "
            f"{tuple(model.output.shape)}. Use the Python API."
        )
    try:
        model.validate_inputs(x)
    except TypeError as e:
        raise ValueError(str(e)) from None
    x = np.asarray(x, "float32")
    logits = keras.ops.convert_to_numpy(model.predict(x, verbose=0))
    probs = _softmax(logits)
    labels = meta.get("label_names") or [
        str(i) for i in range(probs.shape[-1])
    ]
    results = []
    for row in probs:
        order = row.argsort()[::-1][: args.top]
        results.append({labels[i]: float(row[i]) for i in order})
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results))
    else:
        for i, result in enumerate(results):
            if len(results) > 1:
                print(f"# sample {i}")
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


_INTERRUPTED = "interrupted; rerun the same command to resume"


def _cmd_train(args):
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
    from zoo.training import train

    try:
        preset_dir, metrics = train(
            args.family,
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
        )
    except KeyboardInterrupt:
        print(f"error: {_INTERRUPTED} (checkpoints are kept in "
              f"{args.out!r})", file=sys.stderr)
        return 130
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
