"""Preset directories: save atomically, verify checksums, load offline.

A hyperzoo preset is a keras-hub preset directory (`config.json`,
`model.weights.h5`, optionally `task.json` and `task.weights.h5`,
`metadata.json`) plus a model card `README.md`. `metadata.json` adds to
keras-hub's keys the hyperzoo version, the training command, dataset and
split, the test metrics and the sha256 of every other file. `load()`
checks the sha256 of the files it loads (configs and weights) before
building anything; other files (the model card, a stray `.DS_Store`) are
not loaded, so a difference there is reported with a warning only.

Bundled presets are also keras-hub "built-in" presets: once their family
is imported (its `__init__` registers them; `zoo.register_all()` imports
every family), `TerminatorClassifier.from_preset("terminator_2d_digits")`
and `keras_hub.models.Backbone.from_preset("terminator_2d_digits")` resolve
the name to its bundled directory, offline. This module imports Keras
only inside the functions that build or save models, so listing and
reading presets stays free of Keras and of every backend.
"""

import datetime
import hashlib
import json
import os
import shutil
import tempfile
import warnings

from zoo.version import __version__

PRESETS_DIR = os.path.join(os.path.dirname(__file__), "presets")
METADATA_FILE = "metadata.json"
CONFIG_FILE = "config.json"
TASK_CONFIG_FILE = "task.json"
MODEL_CARD_FILE = "README.md"
REQUIRED_FILES = (CONFIG_FILE, "model.weights.h5", METADATA_FILE)
# What keras-hub's `from_preset` reads: checked against the sha256 table.
LOADED_FILES = (CONFIG_FILE, "model.weights.h5", TASK_CONFIG_FILE,
                "task.weights.h5", "preprocessor.json", "tokenizer.json")


class PresetError(ValueError):
    """Raised for an unknown preset name or a malformed preset directory.

    Example:

    ```python
    try:
        zoo.load("clowntown")
    except zoo.PresetError as e:
        print(e)  # lists the known preset names
    ```
    """


class PresetChecksumError(PresetError):
    """Raised when a preset file does not match its recorded sha256.

    `zoo.load` and every zoo class's `from_preset` check each file they
    read against `metadata.json` before Keras opens it; the message names
    the file whose checksum differs. A subclass of `PresetError`.

    Example:

    ```python
    zoo.load("/path/to/edited_preset")  # raises PresetChecksumError
    ```
    """


def sha256_file(path, block_size=1 << 20):
    """Returns the hex sha256 digest of a file.

    Args:
        path: str. File to hash.
        block_size: int. Read size in bytes.

    Returns:
        The lowercase hex digest.

    Example:

    ```python
    zoo.preset_utils.sha256_file("zoo/presets/hyper_mlp_digits/config.json")
    ```
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(block_size), b""):
            digest.update(block)
    return digest.hexdigest()


def list_presets():
    """Names of the presets bundled with the package, sorted.

    Returns:
        A list of preset names usable with `zoo.load(name)`.

    Example:

    ```python
    zoo.list_presets()  # ['hyper_mlp_digits', ...]
    ```
    """
    if not os.path.isdir(PRESETS_DIR):
        return []
    return sorted(
        name
        for name in os.listdir(PRESETS_DIR)
        if os.path.isfile(os.path.join(PRESETS_DIR, name, METADATA_FILE))
    )


def resolve_preset(name_or_path):
    """Maps a bundled preset name or a directory path to a directory.

    Args:
        name_or_path: str or `os.PathLike`. A name from `list_presets()`,
            or the path of a local preset directory.

    Returns:
        The preset directory path.

    Raises:
        PresetError: for an unknown name or a path that is not a preset
            directory; the message lists the known names.

    Example:

    ```python
    zoo.preset_utils.resolve_preset("hyper_mlp_digits")
    ```
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise PresetError(
            "`preset` must be a preset name or a directory path. "
            f"Received: preset={name_or_path!r}"
        )
    value = os.fspath(name_or_path)
    if value in list_presets():
        return os.path.join(PRESETS_DIR, value)
    if os.path.isdir(value):
        missing = [
            f for f in REQUIRED_FILES
            if not os.path.isfile(os.path.join(value, f))
        ]
        if missing:
            raise PresetError(
                f"Directory {value!r} is not a hyperzoo preset: missing "
                f"{', '.join(missing)}."
            )
        return value
    raise PresetError(
        f"Unknown preset {value!r}. Known presets: "
        f"{', '.join(list_presets()) or '(none)'}. A preset is either one "
        "of these names or the path of a local preset directory "
        "(hyperzoo never downloads)."
    )


def read_metadata(name_or_path):
    """Reads a preset's `metadata.json`.

    Args:
        name_or_path: str. Preset name or directory.

    Returns:
        The metadata dict.

    Raises:
        PresetError: unknown preset, or a `metadata.json` that is not a
            JSON object (the message names the file).

    Example:

    ```python
    zoo.read_metadata("hyper_mlp_digits")["metrics"]
    ```
    """
    path = os.path.join(resolve_preset(name_or_path), METADATA_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PresetError(
            f"{path!r} is not valid JSON ({e}). Restore the preset's "
            f"{METADATA_FILE} or re-save the preset."
        ) from None
    if not isinstance(meta, dict):
        raise PresetError(
            f"{path!r} must hold a JSON object. Received: "
            f"{type(meta).__name__}."
        )
    return meta


def verify_preset(name_or_path):
    """Checks the files a preset loads against the sha256 in its metadata.

    The files `load()` reads (`LOADED_FILES` that are present:
    `config.json`, `model.weights.h5`, `task.json`, `task.weights.h5`,
    ...) must be listed in the table and match. Files that are not
    loaded (the `README.md` model card, a stray `.DS_Store`) are not
    refused: a missing, modified or unlisted one gives a `UserWarning`.

    Args:
        name_or_path: str. Preset name or directory.

    Returns:
        The preset directory, when every loaded file matches.

    Raises:
        PresetChecksumError: naming the first loaded file that is
            missing, not listed, or whose content does not match.

    Example:

    ```python
    zoo.verify_preset("hyper_mlp_digits")
    ```
    """
    preset_dir = resolve_preset(name_or_path)
    metadata = read_metadata(preset_dir)
    sums = metadata.get("sha256")
    if not isinstance(sums, dict) or not sums:
        raise PresetChecksumError(
            f"Preset {preset_dir!r} has no sha256 table in {METADATA_FILE}."
        )
    ignored = []
    for name in sorted(os.listdir(preset_dir)):
        full = os.path.join(preset_dir, name)
        if name == METADATA_FILE or not os.path.isfile(full):
            continue
        if name not in sums:
            if name in LOADED_FILES:
                raise PresetChecksumError(
                    f"File {name!r} in preset {preset_dir!r} is loaded but "
                    f"not listed in the sha256 table of {METADATA_FILE}."
                )
            ignored.append(f"{name!r} (not listed)")
    for name, expected in sorted(sums.items()):
        full = os.path.join(preset_dir, name)
        loaded = name in LOADED_FILES
        if not os.path.isfile(full):
            if loaded:
                raise PresetChecksumError(
                    f"File {name!r} of preset {preset_dir!r} is missing."
                )
            ignored.append(f"{name!r} (missing)")
            continue
        actual = sha256_file(full)
        if actual != expected:
            if not loaded:
                ignored.append(f"{name!r} (modified)")
                continue
            raise PresetChecksumError(
                f"Checksum mismatch for {name!r} in preset {preset_dir!r}: "
                f"expected sha256 {expected}, got {actual}. The file is "
                "corrupted or was modified; restore it or retrain the preset."
            )
    if ignored:
        warnings.warn(
            f"Preset {preset_dir!r}: files that are not loaded differ from "
            f"its sha256 table and are ignored: {', '.join(ignored)}.",
            UserWarning,
            stacklevel=2,
        )
    return preset_dir


def _format_split(split):
    if isinstance(split, dict):
        return "; ".join(f"{k}: {v}" for k, v in split.items())
    return str(split)


def _model_card(name, metadata):
    metrics = metadata.get("metrics", {})
    lines = [
        "---",
        "library_name: keras-hub",
        f"license: {metadata.get('license', 'apache-2.0')}",
        f"pipeline_tag: {metadata.get('pipeline_tag', 'other')}",
        "tags:",
        "  - hyperzoo",
        "  - hypernetwork",
        "---",
        "",
        f"# {name}",
        "",
        metadata.get("description", ""),
        "",
        "## Model",
        "",
        f"- Architecture: `{metadata.get('architecture', '')}`",
        f"- Parameters: {metadata.get('parameter_count')}",
        f"- Input: {metadata.get('input_spec', '')}",
        "",
        "## Training",
        "",
        f"- Dataset: {metadata.get('dataset', '')}",
        f"- Split: {_format_split(metadata.get('split', ''))}",
        f"- Backend / precision: {metadata.get('backend')} / "
        f"{metadata.get('precision')}",
        "- Command:",
        "",
        "```",
        metadata.get("training_command", ""),
        "```",
        "",
        "## Test metrics (computed at training time)",
        "",
    ]
    for key, value in sorted(metrics.items()):
        lines.append(f"- {key}: {value}")
    lines += [
        "",
        "Recompute them with `python -m zoo eval " + name + " --json`.",
        "",
        "## Usage",
        "",
        "```python",
        "import zoo",
        f'model = zoo.load("{name}")',
        "```",
        "",
        "## References",
        "",
    ]
    for ref in metadata.get("references", []):
        lines.append(f"- {ref}")
    lines.append("")
    return "\n".join(lines)


def _float32_config(config):
    """Replaces mixed dtype policies in a (nested) config by float32."""
    if isinstance(config, dict):
        out = {}
        for key, value in config.items():
            if key == "dtype" and _is_mixed_policy(value):
                out[key] = "float32"
            else:
                out[key] = _float32_config(value)
        return out
    if isinstance(config, list):
        return [_float32_config(v) for v in config]
    return config


def _is_mixed_policy(value):
    if isinstance(value, dict):
        value = value.get("config", {}).get("name")
    elif hasattr(value, "name"):
        value = value.name
    return isinstance(value, str) and value.startswith("mixed_")


def save_preset(model, preset_dir, metadata=None, overwrite=False):
    """Saves a Backbone or Task as a verified preset directory, atomically.

    The preset is written into a temporary sibling directory, checksummed,
    then renamed into place, so an interrupted save never leaves a
    half-written preset behind.

    Args:
        model: `keras_hub.models.Backbone` or `keras_hub.models.Task`.
        preset_dir: str. Target directory (must not exist unless
            `overwrite=True`).
        metadata: dict. Extra metadata: `description`, `dataset`,
            `split`, `metrics`, `training_command`, `backend`,
            `precision`, `references`, `label_names`, `input_spec`, ...
        overwrite: bool. Replace an existing directory.

    Returns:
        The preset directory path.

    Example:

    ```python
    zoo.save_preset(model, "/tmp/my_preset", {"dataset": "digits"})
    zoo.load("/tmp/my_preset")
    ```
    """
    import keras

    preset_dir = os.path.abspath(os.fspath(preset_dir))
    if os.path.exists(preset_dir) and not overwrite:
        raise PresetError(
            f"`preset_dir` {preset_dir!r} already exists; pass "
            "overwrite=True to replace it."
        )
    parent = os.path.dirname(preset_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-preset-", dir=parent)
    os.chmod(tmp, 0o755)  # mkdtemp makes it private to the user
    try:
        # A fresh float32 copy: drops the optimizer state from the weights
        # file and keeps a mixed policy out of the saved config (keras-hub
        # cannot resolve "mixed_*" names on load; variables are float32
        # under mixed precision anyway, and `load()` applies the caller's
        # policy).
        clean = type(model).from_config(_float32_config(model.get_config()))
        clean.set_weights(model.get_weights())
        clean.save_to_preset(tmp)
        with open(os.path.join(tmp, METADATA_FILE)) as f:
            meta = json.load(f)
        meta.update(metadata or {})
        meta["hyperzoo_version"] = __version__
        meta["keras_version"] = keras.version()
        meta["parameter_count"] = int(model.count_params())
        meta["architecture"] = type(model).__name__
        if hasattr(model, "backbone"):
            # keras-hub lists the task base classes; ours is the class.
            meta["tasks"] = [type(model).__name__]
        meta["date_saved"] = datetime.datetime.now(
            datetime.timezone.utc
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = os.path.basename(preset_dir)
        with open(os.path.join(tmp, MODEL_CARD_FILE), "w",
                  encoding="utf-8") as f:
            f.write(_model_card(name, meta))
        meta["sha256"] = {
            fname: sha256_file(os.path.join(tmp, fname))
            for fname in sorted(os.listdir(tmp))
            if fname != METADATA_FILE
        }
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
            f.write("\n")
        if os.path.exists(preset_dir):
            old = tempfile.mkdtemp(prefix=".old-preset-", dir=parent)
            os.rmdir(old)
            os.replace(preset_dir, old)
            os.replace(tmp, preset_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, preset_dir)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return preset_dir


def load(preset, load_weights=True, **kwargs):
    """Loads a bundled preset by name, or a preset directory, offline.

    Checksums are verified before anything is built. A preset with a
    `task.json` loads as its Task class (e.g. `HyperMLPClassifier`),
    otherwise as its Backbone class.

    Args:
        preset: str. A name from `zoo.list_presets()` or a directory path.
        load_weights: bool. Load the trained weights (default) or build
            from the config with fresh initial weights.
        **kwargs: forwarded to the class's `from_preset` (e.g. `dtype`).

    Returns:
        A `keras_hub.models.Task` or `keras_hub.models.Backbone`.

    The loaded task checks its inputs (see `zoo.task.ZooTask`); value
    ranges a preset declares (by its `input_kind` in
    `zoo.validation.PRESET_VALUE_RANGES`, or an `input_range` entry
    `{input name: [min, max]}` in `metadata.json`) are checked too.

    Raises:
        PresetError: unknown name, malformed directory or metadata.
        PresetChecksumError: a loaded file does not match its sha256.

    Example:

    ```python
    model = zoo.load("hyper_mlp_digits")
    model.predict(x)
    ```
    """
    # Registers every hyperzoo class before deserialising.
    import keras

    import zoo

    zoo.register_all()

    preset_dir = resolve_preset(preset)
    if load_weights:
        verify_preset(preset_dir)
    config_file = (
        TASK_CONFIG_FILE
        if os.path.isfile(os.path.join(preset_dir, TASK_CONFIG_FILE))
        else CONFIG_FILE
    )
    metadata = read_metadata(preset_dir)
    config_path = os.path.join(preset_dir, config_file)
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PresetError(f"{config_path!r} is not valid JSON ({e}).") from None
    registered = config.get("registered_name")
    cls = keras.saving.get_registered_object(registered)
    if cls is None:
        raise PresetError(
            f"Preset {preset_dir!r} needs class {registered!r}, which is not "
            "registered. Is it from a newer hyperzoo version?"
        )
    model = cls.from_preset(preset_dir, load_weights=load_weights, **kwargs)
    apply_value_ranges(model, preset_dir, metadata)
    return model


def apply_value_ranges(model, preset_dir, metadata=None):
    """Sets on a loaded task the input value ranges its preset declares.

    Models without `set_input_value_ranges` (backbones) are left as is.

    Args:
        model: the loaded `keras_hub.models.Task` or `Backbone`.
        preset_dir: str. The preset directory it was loaded from.
        metadata: dict or `None`. The preset's metadata, read when `None`.

    Returns:
        `model`.

    Example:

    ```python
    zoo.preset_utils.apply_value_ranges(model, "zoo/presets/hyper_mlp_digits")
    ```
    """
    if hasattr(model, "set_input_value_ranges"):
        if metadata is None:
            metadata = read_metadata(preset_dir)
        model.set_input_value_ranges(
            _value_ranges(metadata, preset_dir),
            source=os.path.basename(os.path.normpath(preset_dir)),
        )
    return model


def bundled_preset_dir(preset):
    """The bundled directory of a preset name, for `from_preset(name)`.

    Args:
        preset: the `preset` argument of a `from_preset` call.

    Returns:
        The directory of a bundled preset name, or `None` for anything
        keras-hub resolves itself: a local directory, a `scheme://`
        handle, a keras-hub built-in preset name, or a non-string
        value (keras-hub rejects it with its own message).

    Raises:
        PresetError: for any other plain name; the message lists the
            bundled preset names.

    Example:

    ```python
    zoo.preset_utils.bundled_preset_dir("terminator_2d_digits")
    ```
    """
    if not isinstance(preset, (str, os.PathLike)):
        return None
    value = os.fspath(preset)
    if value in list_presets():
        return os.path.join(PRESETS_DIR, value)
    if "://" in value or os.path.exists(value):
        return None
    from keras_hub.src.utils import preset_utils as hub_presets

    if value in hub_presets.BUILTIN_PRESETS:
        return None
    return resolve_preset(value)  # raises, listing the bundled names


def register_family_presets(family):
    """Registers a family's bundled presets with keras-hub, at import.

    Called by each family's `__init__.py` (as keras-hub models register
    their presets), so `TerminatorClassifier.from_preset(
    "terminator_2d_digits")` works right after `import zoo.terminator`.
    Presets whose folder is not bundled are skipped.

    Args:
        family: `zoo.family.Family`.

    Returns:
        The sorted names registered by this call.

    Example:

    ```python
    register_family_presets(FAMILY)
    ```
    """
    return register_bundled_presets([p.name for p in family.presets])


def register_bundled_presets(names=None):
    """Registers the bundled presets as keras-hub built-in presets.

    Each bundled preset is registered for the Backbone class of its
    `config.json` (keras-hub's `register_presets`, the mechanism of its
    own models), with its bundled directory as the handle. Then
    `cls.presets` lists it on that Backbone and on its Task classes, and
    `from_preset(name)` on any of them (including
    `keras_hub.models.Backbone`) loads it offline. Presets whose
    Backbone class is not imported yet are skipped; `zoo.register_all()`
    imports every family and calls this function. Loading through
    keras-hub does not verify the sha256 table; `zoo.load(name)` and
    `ZooTask.from_preset(name)` do.

    Args:
        names: iterable of preset names, or `None` for every bundled
            preset.

    Returns:
        The sorted names registered by this call.

    Example:

    ```python
    zoo.register_all()
    keras_hub.models.Backbone.from_preset("terminator_2d_digits")
    ```
    """
    import keras
    from keras_hub.src.utils import preset_utils as hub_presets

    registered = []
    bundled = list_presets()
    for name in bundled if names is None else names:
        if name not in bundled:
            continue
        preset_dir = os.path.join(PRESETS_DIR, name)
        existing = hub_presets.BUILTIN_PRESETS.get(name)
        if existing is not None and existing.get("kaggle_handle") != (
            preset_dir
        ):
            continue  # a keras-hub preset of the same name: keep it
        try:
            with open(os.path.join(preset_dir, CONFIG_FILE),
                      encoding="utf-8") as f:
                class_name = json.load(f).get("registered_name")
            metadata = read_metadata(preset_dir)
        except (OSError, ValueError):
            continue  # a malformed preset; `zoo.load` reports it
        backbone_cls = keras.saving.get_registered_object(class_name)
        if backbone_cls is None:
            continue
        entry = {
            "metadata": {
                "description": metadata.get("description", ""),
                "params": metadata.get("parameter_count"),
                "path": name,
            },
            "kaggle_handle": preset_dir,
        }
        hub_presets.register_presets({name: entry}, backbone_cls)
        registered.append(name)
    return registered


def _value_ranges(metadata, preset_dir):
    """Input value ranges a preset declares (see `load`)."""
    from zoo.validation import PRESET_VALUE_RANGES

    declared = metadata.get("input_range")
    if declared is None:
        return dict(PRESET_VALUE_RANGES.get(metadata.get("input_kind"), {}))
    if not isinstance(declared, dict) or not all(
        isinstance(v, (list, tuple)) and len(v) == 2
        for v in declared.values()
    ):
        raise PresetError(
            f"`input_range` in {METADATA_FILE} of preset {preset_dir!r} "
            "must map input names to [min, max]. Received: "
            f"{declared!r}"
        )
    return {k: tuple(v) for k, v in declared.items()}
