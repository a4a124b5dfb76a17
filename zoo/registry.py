"""Views of the model families listed in `zoo.FAMILIES`.

Every list the package keeps of its models is computed here from the
family declarations (`zoo.family.Family`): the tiny test models
(`list_models`; each has golden outputs in `tests/golden/`), the
bundled presets and their recipes (`list_recipes`, `get_preset_spec`),
the exported classes (`exported_classes`) and the demo tabs
(`demo_tabs`). Nothing is registered by hand: a family appended to
`zoo.FAMILIES` appears in all of them.
"""

import importlib

import zoo
from zoo.family import ModelSpec  # noqa: F401  (the old name)
from zoo.family import TinyModel  # noqa: F401


def families():
    """Imports the modules in `zoo.FAMILIES` and returns their `FAMILY`.

    Names are checked to be unique across families (family names, tiny
    model names, preset names, demo tab names, exported class names).

    Returns:
        A tuple of `zoo.family.Family`, in `zoo.FAMILIES` order.

    Raises:
        ValueError: a family module without `FAMILY`, or a name that two
            declarations use.

    Example:

    ```python
    [f.name for f in zoo.registry.families()]
    ```
    """
    result = []
    for module_name in zoo.FAMILIES:
        module = importlib.import_module(module_name)
        family = getattr(module, "FAMILY", None)
        if family is None:
            raise ValueError(
                f"Family module {module_name!r} (in zoo.FAMILIES) defines "
                "no `FAMILY = zoo.family.Family(...)`."
            )
        result.append(family)
    _check_unique(result)
    return tuple(result)


def _check_unique(declared):
    kinds = {
        "family": lambda f: [f.name],
        "tiny model": lambda f: [m.name for m in f.tiny_models],
        "preset": lambda f: [p.name for p in f.presets],
        "demo tab": lambda f: [t.name for t in f.demo_tabs],
        "class": lambda f: [c.__name__ for c in f.classes],
    }
    for kind, names_of in kinds.items():
        owner = {}
        for family in declared:
            for name in names_of(family):
                if name in owner:
                    raise ValueError(
                        f"The {kind} name {name!r} is declared twice "
                        f"(families {owner[name]!r} and {family.name!r})."
                    )
                owner[name] = family.name


def _all(attribute):
    return [item for f in families() for item in getattr(f, attribute)]


def _named(attribute, name, unknown):
    """The declaration called `name` among every family's `attribute`."""
    items = _all(attribute)
    for item in items:
        if item.name == name:
            return item
    known = ", ".join(sorted(item.name for item in items))
    raise ValueError(f"{unknown} {name!r}. Known: {known}")


def list_models():
    """Sorted names of every family's tiny test models.

    Returns:
        A list of str.

    Example:

    ```python
    zoo.list_models()  # ['digits_cnn_classifier', ...]
    ```
    """
    return sorted(m.name for m in _all("tiny_models"))


def get_model_spec(name):
    """Returns the `TinyModel` declared under `name`.

    Args:
        name: str. A name from `list_models()`.

    Returns:
        The `zoo.family.TinyModel`.

    Raises:
        ValueError: unknown name; the message lists the known ones.

    Example:

    ```python
    zoo.get_model_spec("hyper_mlp_classifier").task_cls
    ```
    """
    return _named("tiny_models", name, "Unknown model")


def list_recipes():
    """Sorted names of every declared preset (each has a recipe).

    Returns:
        A list of str.

    Example:

    ```python
    zoo.registry.list_recipes()  # ['cafa_digits_encoder', ...]
    ```
    """
    return sorted(p.name for p in _all("presets"))


def get_preset_spec(name):
    """Returns the `PresetSpec` declared under `name`.

    The spec holds what `zoo.training.train`, `python -m zoo eval` and
    `python -m zoo predict` run for the preset: its recipe, evaluator and
    input adapters. An unknown name raises a `ValueError` that lists the
    known ones.

    Args:
        name: str. A name from `list_recipes()`.

    Example:

    ```python
    spec = zoo.registry.get_preset_spec("terminator_2d_digits")
    metrics = spec.evaluate(zoo.load(spec.name), "test")
    ```
    """
    return _named("presets", name, "Unknown preset or recipe")


def family_of(name):
    """The `Family` that declares a preset, tiny model or demo tab.

    Args:
        name: str.

    Returns:
        The `zoo.family.Family`, or `None`.

    Example:

    ```python
    zoo.registry.family_of("terminator_2d_digits").name  # 'terminator'
    ```
    """
    for family in families():
        for group in (family.presets, family.tiny_models, family.demo_tabs):
            if any(item.name == name for item in group):
                return family
    return None


def demo_tabs():
    """Every family's demo tabs, in `zoo.FAMILIES` order.

    Returns:
        A tuple of `zoo.family.DemoTab`.

    Example:

    ```python
    [t.name for t in zoo.registry.demo_tabs()]
    ```
    """
    return tuple(_all("demo_tabs"))


def exported_classes():
    """The classes every family exports, by name (`zoo.<ClassName>`).

    Returns:
        A dict `{class name: class}`.

    Example:

    ```python
    zoo.registry.exported_classes()["TerminatorClassifier"]
    ```
    """
    return {cls.__name__: cls for cls in _all("classes")}
