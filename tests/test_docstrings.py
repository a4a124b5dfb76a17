"""Every public class and function carries a keras-style docstring."""

import importlib
import inspect
import pkgutil

import keras
import pytest

import demos
import layers
import zoo

PACKAGES = (layers, zoo, demos)
# Keras hooks documented by the base class (keras-hub style guide).
HOOKS = {"build", "call", "compute_output_shape", "get_config",
         "from_config", "fit", "evaluate", "predict"}
# Backend shims import their backend: checked only in that backend's run
# (importing torch into a JAX or TensorFlow process is what the zoo itself
# never does, and it is not safe to do).
BACKEND_SHIMS = {"zoo._torch_shim": "torch"}


def _modules():
    for package in PACKAGES:
        yield package
        for info in pkgutil.walk_packages(package.__path__,
                                          package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            shim_backend = BACKEND_SHIMS.get(info.name)
            if shim_backend and shim_backend != keras.backend.backend():
                continue
            yield importlib.import_module(info.name)


def _public_objects():
    for module in _modules():
        for name, obj in vars(module).items():
            if name.startswith("_"):
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            yield f"{module.__name__}.{name}", obj


OBJECTS = sorted(_public_objects(), key=lambda item: item[0])


@pytest.mark.parametrize("name, obj", OBJECTS, ids=[n for n, _ in OBJECTS])
def test_public_docstring(name, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc.split()) >= 4, f"{name} has no docstring"
    params = [
        p for p in inspect.signature(obj).parameters.values()
        if p.name not in ("self", "cls")
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ] if not inspect.isclass(obj) or "__init__" in vars(obj) else []
    if params:
        assert "Args:" in doc, f"{name} documents no Args"
    if inspect.isclass(obj):
        assert "Example" in doc, f"{name} has no Example"
        for attr, member in vars(obj).items():
            if attr.startswith("_") or attr in HOOKS:
                continue
            if inspect.isfunction(member):
                assert inspect.getdoc(member), f"{name}.{attr} undocumented"


def test_layer_and_model_classes_cite_their_paper():
    import keras

    for name, obj in OBJECTS:
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer):
            doc = inspect.getdoc(obj)
            if name.startswith("zoo.task."):
                continue
            assert "Reference" in doc, f"{name} cites no paper"


def test_no_type_hints_in_library_signatures():
    # keras-hub style for layers/ and zoo/; demos and scripts may use them.
    for name, obj in OBJECTS:
        if name.startswith("demos."):
            continue
        targets = [obj]
        if inspect.isclass(obj):
            targets = [m for m in vars(obj).values()
                       if inspect.isfunction(m)]
        for fn in targets:
            assert not fn.__annotations__, f"{name} has type hints"
