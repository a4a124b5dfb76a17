"""hyperzoo: Keras 3 hypernetwork models, presets and training tools.

Attributes are imported lazily, so `import zoo.data` and `python -m zoo
list` stay free of Keras and of every backend.
"""

import importlib

from zoo.version import __version__

# The one list of model families: each module's `FAMILY` declares its
# classes, tiny test models, presets and demo tabs (see `zoo.family`).
# Adding a family = its folder + one line here.
FAMILIES = [
    "zoo.hyper_mlp",
    "zoo.hyper_cl",
    "zoo.unem",
    "zoo.terminator",
    "zoo.forecasting",
    "zoo.token_exit",
    # Issue 18 families (neumeta, logah, d2nwg) go here.
    "zoo.neumeta",
    "zoo.logah",
    "zoo.d2nwg",
    # Issue 20 families (hyper_lora, svh_psl, hyper_crl, sie) go here.
    "zoo.hyper_crl",
    "zoo.svh_psl",
    "zoo.hyper_lora",
    "zoo.pruning",  # after the families whose presets it prunes
]
# Exports that are not model classes, by module.
_EXPORTS = {
    "PresetChecksumError": "zoo.preset_utils",
    "PresetError": "zoo.preset_utils",
    "list_presets": "zoo.preset_utils",
    "load": "zoo.preset_utils",
    "read_metadata": "zoo.preset_utils",
    "save_preset": "zoo.preset_utils",
    "verify_preset": "zoo.preset_utils",
    "ModelSpec": "zoo.family",
    "TinyModel": "zoo.family",
    "get_model_spec": "zoo.registry",
    "list_models": "zoo.registry",
}
# Exports that need no model class: reading them imports no family.
_WITHOUT_FAMILIES = ("PresetChecksumError", "PresetError", "list_presets",
                     "read_metadata", "verify_preset", "ModelSpec",
                     "TinyModel")
_SUBMODULES = ("data", "family", "inputs", "losses", "optimizers",
               "preset_utils", "registry", "training")


def register_all():
    """Imports every model family, registering its Keras classes.

    Also registers the bundled presets as keras-hub built-in presets, so
    `from_preset(name)` works on their Backbone and Task classes.

    Example:

    ```python
    zoo.register_all()
    keras_hub.models.Backbone.from_preset("hyper_mlp_digits")
    ```
    """
    importlib.import_module("zoo.registry").families()
    importlib.import_module("zoo.preset_utils").register_bundled_presets()


def __getattr__(name):
    if name in _EXPORTS:
        if name not in _WITHOUT_FAMILIES:
            register_all()
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"zoo.{name}")
    if f"zoo.{name}" in FAMILIES:
        register_all()
        return importlib.import_module(f"zoo.{name}")
    if name[:1].isupper():
        register_all()
        classes = importlib.import_module("zoo.registry").exported_classes()
        if name in classes:
            return classes[name]
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__():
    names = list(globals()) + list(_EXPORTS) + list(_SUBMODULES)
    return sorted(names + [m.rsplit(".", 1)[1] for m in FAMILIES])


__all__ = sorted(_EXPORTS) + ["FAMILIES", "__version__", "register_all"]
