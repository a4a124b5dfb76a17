"""Imports flow layers <- zoo <- demos/scripts, and layers stay agnostic."""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = {"tensorflow", "jax", "jaxlib", "torch"}
FORBIDDEN = {
    "layers": {"zoo", "demos", "scripts", "tests"} | BACKENDS,
    "zoo": {"demos", "scripts", "tests"} | BACKENDS,
    "demos": {"scripts", "tests"},
}
# The backend shims (tested on every backend by test_optimizers.py and
# test_inference_shim.py).
SHIMS = {
    os.path.join("zoo", "_torch_shim.py"): {"torch"},
    os.path.join("zoo", "_inference_shim.py"): {
        "jax", "tensorflow", "torch"},
}


def _imports(path):
    with open(path) as f:
        tree = ast.parse(f.read(), filename=path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.level == 0:
            yield node.module.split(".")[0]


def _files(package):
    for dirpath, _, files in os.walk(os.path.join(ROOT, package)):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(dirpath, name)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package):
    bad = []
    for path in _files(package):
        allowed = SHIMS.get(os.path.relpath(path, ROOT), set())
        for module in _imports(path):
            if module in FORBIDDEN[package] - allowed:
                bad.append(f"{os.path.relpath(path, ROOT)} imports {module}")
    assert not bad, bad
