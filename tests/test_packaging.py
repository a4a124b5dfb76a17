"""The wheel ships every package of the source tree, and only ours."""

import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_package_is_found_by_pyproject():
    import setuptools

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        find = tomllib.load(f)["tool"]["setuptools"]["packages"]["find"]
    listed = set(setuptools.find_packages(ROOT, include=find["include"]))
    found = set()
    for top in ("layers", "zoo", "demos"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            if "__init__.py" in files:
                rel = os.path.relpath(dirpath, ROOT)
                found.add(rel.replace(os.sep, "."))
    assert found == listed, (
        f"missing from pyproject: {sorted(found - listed)}; "
        f"listed but absent: {sorted(listed - found)}"
    )


OWN_TOP_LEVEL = ("layers", "zoo", "demos")


def _top_level_names(dist):
    """Top-level importable names a distribution installs."""
    names = set()
    top_level = dist.read_text("top_level.txt")
    if top_level:
        names.update(line.strip() for line in top_level.splitlines())
    for path in dist.files or ():
        parts = path.parts
        if not parts or parts[0] in ("..", "__pycache__"):
            continue
        head = parts[0]
        if len(parts) == 1:
            if not head.endswith((".py", ".so", ".pyd")):
                continue  # a .pth file, a data file
            head = head.split(".")[0]
        elif head.endswith((".dist-info", ".egg-info", ".data")):
            continue
        names.add(head)
    names.discard("")
    return names


def test_no_other_distribution_provides_our_top_level_packages():
    # `layers` and `zoo` are common names: only the `hyperzoo`
    # distribution may install them, or imports would be ambiguous.
    import importlib.metadata

    import layers
    import zoo

    owners = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        for top in _top_level_names(dist) & set(OWN_TOP_LEVEL):
            owners.setdefault(top, set()).add(name)
    assert owners.get("zoo") == {"hyperzoo"}, owners
    assert owners.get("layers") == {"hyperzoo"}, owners
    assert owners.get("demos", {"hyperzoo"}) == {"hyperzoo"}, owners
    # And the modules imported are the ones of this source tree.
    for module in (layers, zoo):
        assert os.path.dirname(os.path.dirname(module.__file__)) == ROOT
