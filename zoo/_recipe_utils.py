"""Helpers shared by the families' training recipes (private).

A family with several presets trained by one `train_preset(name, ...)`
function declares one recipe per preset with `preset_recipe`.
"""


def preset_recipe(train_preset, name, check):
    """The training recipe of one preset, for its `PresetSpec.train`.

    Args:
        train_preset: callable `(name, epochs=, out_dir=, seed=, verbose=)
            -> (model, test_metrics, preset_metadata)`, the family's
            training function.
        name: str. The preset's name.
        check: callable `(name) -> ...` that raises for an unknown preset
            name (called once, here).

    Returns:
        A function `recipe(epochs=None, out_dir=None, seed=0, verbose=1)`
        calling `train_preset(name, ...)`, named `train_<name>`.

    Example:

    ```python
    from zoo.terminator.terminator_presets import preset_config
    from zoo.terminator.terminator_training import train_preset
    recipe = preset_recipe(train_preset, "terminator_2d_digits",
                           preset_config)
    model, metrics, metadata = recipe(epochs=1)
    ```
    """
    check(name)

    def recipe(epochs=None, out_dir=None, seed=0, verbose=1):
        return train_preset(name, epochs=epochs, out_dir=out_dir, seed=seed,
                            verbose=verbose)

    recipe.__name__ = recipe.__qualname__ = f"train_{name}"
    recipe.__doc__ = f"Recipe of the `{name}` preset (`train_preset`)."
    return recipe


def table_entry(table, name, family):
    """A copy of `table[name]`; an unknown name lists the known ones.

    Args:
        table: dict of a family's preset entries.
        name: str. The preset's name.
        family: str. Family label for the message, e.g. `"Terminator"`.

    Returns:
        A shallow copy of the entry (a dict).

    Raises:
        ValueError: `name` is not in `table`.

    Example:

    ```python
    cfg = table_entry(PRESETS, "terminator_2d_digits", "Terminator")
    ```
    """
    if name not in table:
        raise ValueError(f"Unknown {family} preset {name!r}. Known: "
                         f"{', '.join(sorted(table))}")
    return dict(table[name])
