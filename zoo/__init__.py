"""hyperzoo: Keras 3 hypernetwork models, presets and training tools.

Attributes are imported lazily, so `import zoo.data` and `python -m zoo
list` stay free of Keras and of every backend.
"""

import importlib

from zoo.version import __version__

_EXPORTS = {
    "Forecaster": "zoo.forecasting",
    "ForecasterBackbone": "zoo.forecasting",
    "HyperCLBackbone": "zoo.hyper_cl",
    "HyperCLClassifier": "zoo.hyper_cl",
    "HyperMLPBackbone": "zoo.hyper_mlp",
    "HyperMLPClassifier": "zoo.hyper_mlp",
    "PresetChecksumError": "zoo.preset_utils",
    "PresetError": "zoo.preset_utils",
    "list_presets": "zoo.preset_utils",
    "load": "zoo.preset_utils",
    "read_metadata": "zoo.preset_utils",
    "save_preset": "zoo.preset_utils",
    "verify_preset": "zoo.preset_utils",
    "ModelSpec": "zoo.registry",
    "get_model_spec": "zoo.registry",
    "list_models": "zoo.registry",
    "TerminatorBackbone": "zoo.terminator",
    "TerminatorClassifier": "zoo.terminator",
    "TokenExitVLM": "zoo.token_exit",
    "TokenExitVLMBackbone": "zoo.token_exit",
    "UNEMBackbone": "zoo.unem",
    "UNEMFewShotClassifier": "zoo.unem",
}
_MODEL_FAMILIES = ("zoo.hyper_mlp", "zoo.hyper_cl", "zoo.unem",
                   "zoo.terminator", "zoo.forecasting", "zoo.token_exit")
# Exports that need no model class: reading them imports no family.
_WITHOUT_FAMILIES = ("PresetChecksumError", "PresetError", "list_presets",
                     "read_metadata", "verify_preset")
_SUBMODULES = ("data", "forecasting", "hyper_cl", "hyper_mlp", "losses",
               "optimizers", "preset_utils", "registry", "terminator",
               "token_exit", "training", "unem")


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
    for name in _MODEL_FAMILIES:
        importlib.import_module(name)
    importlib.import_module("zoo.preset_utils").register_bundled_presets()


def __getattr__(name):
    if name in _EXPORTS:
        if name not in _WITHOUT_FAMILIES:
            register_all()
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        if name != "data":
            register_all()
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS) + list(_SUBMODULES))


__all__ = sorted(_EXPORTS) + ["__version__", "register_all"]
