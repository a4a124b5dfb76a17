"""The wheel ships every package of the source tree."""

import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_package_is_listed_in_pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
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
