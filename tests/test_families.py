"""Families: every view comes from `zoo.FAMILIES`, and a new family
is picked up by the CLI, the registry loop, the presets checks, the hub
and the Makefile targets with no other edit."""

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zoo
from tests import harness
from zoo import preset_utils
from zoo import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*argv):
    """`(exit code, stdout, stderr)` of `python -m zoo ARGV`, in process."""
    from zoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def check_declared_preset(name, tmp_path):
    """What every declared preset must do; used for bundled presets and
    for the throw-away family alike."""
    import keras_hub

    spec = registry.get_preset_spec(name)
    meta = zoo.read_metadata(name)
    assert meta["architecture"] == spec.task_cls.__name__
    assert name in spec.task_cls.presets
    assert name in spec.task_cls.backbone_cls.presets
    assert callable(spec.train) and callable(spec.evaluate)
    model = spec.task_cls.from_preset(name)
    assert type(model) is spec.task_cls
    backbone = keras_hub.models.Backbone.from_preset(name)
    assert type(backbone) is spec.task_cls.backbone_cls
    assert spec.inputs, f"{name} declares no input kind for predict"
    for adapter in spec.inputs:
        path = adapter.write_example(model, meta, str(tmp_path))
        code, out, err = run_cli("predict", name, path, "--json")
        assert code == 0, (name, adapter.kind, err)
        result = json.loads(out)
        if adapter.output == "classes":
            rows = result if isinstance(result, list) else [result]
            for row in rows:
                probs = np.array(list(row.values()))
                assert np.all((probs >= 0) & (probs <= 1)), row
        else:
            values = np.asarray(next(iter(result.values())), "float64")
            assert values.size and np.all(np.isfinite(values))
    # A kind the preset does not take: one clear line, exit code 2.
    kinds = {type(a).__name__ for a in spec.inputs}
    wrong = tmp_path / ("x.json" if "JSONInput" not in kinds else "x.npy")
    wrong.write_text("[]" if wrong.suffix == ".json" else "")
    if wrong.suffix == ".npy":
        np.save(wrong, np.zeros(3))
    code, _, err = run_cli("predict", name, str(wrong))
    assert code == 2 and err.startswith("error: "), err
    assert name in err


def test_every_bundled_preset_is_declared_by_one_family():
    declared = registry.list_recipes()
    assert sorted(declared) == sorted(zoo.list_presets())
    for name in declared:
        assert registry.family_of(name) is not None


def test_views_are_computed_from_the_families():
    fams = registry.families()
    assert [f.name for f in fams] == [m.rsplit(".", 1)[1]
                                      for m in zoo.FAMILIES]
    assert registry.list_models() == sorted(
        m.name for f in fams for m in f.tiny_models)
    for f in fams:
        for cls in f.classes:
            assert getattr(zoo, cls.__name__) is cls
    from demos import hub

    assert [t.name for t in hub.tabs()] == [
        t.name for f in fams for t in f.demo_tabs]


@pytest.mark.once
@pytest.mark.parametrize("name", registry.list_recipes())
def test_declared_preset(name, tmp_path):
    check_declared_preset(name, tmp_path)


_FAMILY_MODULE = '''
"""A throw-away family, written by tests/test_families.py."""

import keras
import keras_hub
import numpy as np

from zoo.family import DemoTab
from zoo.family import Family
from zoo.family import PresetSpec
from zoo.family import TinyModel
from zoo.inputs import ArrayInput
from zoo.preset_utils import register_family_presets
from zoo.task import DenseClassifier


@keras.saving.register_keras_serializable(package="hyperzoo")
class ThrowawayBackbone(keras_hub.models.Backbone):
    """Dense features of a flat input."""

    def __init__(self, input_dim=5, units=4, dtype=None, **kwargs):
        inputs = keras.Input((input_dim,), name="features")
        outputs = keras.layers.Dense(units, activation="relu",
                                     dtype=dtype, name="dense")(inputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype,
                         **kwargs)
        self.input_dim = input_dim
        self.units = units

    def get_config(self):
        config = super().get_config()
        config.update(input_dim=self.input_dim, units=self.units)
        return config


@keras.saving.register_keras_serializable(package="hyperzoo")
class ThrowawayClassifier(DenseClassifier):
    """Logits over `num_classes`."""

    backbone_cls = ThrowawayBackbone


def build_tiny(seed=0):
    return ThrowawayClassifier(ThrowawayBackbone(), num_classes=3)


def example_batch(batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch_size, 5)).astype("float32")
    return x, rng.integers(0, 3, batch_size).astype("int32")


def train(epochs=None, out_dir=None, seed=0, verbose=1):
    model = build_tiny(seed)
    x, y = example_batch(32, seed)
    model.fit(x, y, epochs=epochs or 1, verbose=0)
    return model, evaluate(model), {"dataset": "synthetic"}


def evaluate(model, split="test"):
    x, y = example_batch(16, 1)
    pred = np.asarray(model.predict(x, verbose=0)).argmax(-1)
    return {"accuracy": float((pred == y).mean()), "num_examples": 16}


FAMILY = Family(
    name="throwaway",
    title="A family that exists for one test",
    classes=(ThrowawayBackbone, ThrowawayClassifier),
    tiny_models=(TinyModel("throwaway_classifier", ThrowawayClassifier,
                           build_tiny, example_batch,
                           expected_num_params=5 * 4 + 4 + 4 * 3 + 3),),
    presets=(PresetSpec("throwaway_preset", ThrowawayClassifier, train,
                        evaluate, inputs=(ArrayInput(),),
                        description="throw-away preset"),),
    demo_tabs=(DemoTab("throwaway_tab", "throwaway_family.demo",
                       "throwaway_preset", "Throw-away models"),),
    preset_commands=("{python} -c \\"print('train throwaway')\\"",),
    bench_commands=("{python} -c \\"print('bench throwaway')\\"",),
)
register_family_presets(FAMILY)
'''

_DEMO_MODULE = '''
"""Demo tab of the throw-away family."""

import gradio as gr
import numpy as np

TITLE = "Throw-away"
SUMMARY = "A tab that exists for one test."


def predict(model, values):
    x = np.asarray(values, "float32").reshape(1, -1)
    return int(np.asarray(model.predict(x, verbose=0)).argmax())


def render(model, api_prefix="", preset=None):
    box = gr.Textbox(label="values")
    out = gr.Number(label="class")
    box.submit(lambda v: predict(model, [float(t) for t in v.split()]),
               box, out, api_name=f"{api_prefix}classify")


def build_demo(model, preset=None):
    with gr.Blocks() as demo:
        render(model, preset=preset)
    return demo


def build_tiny_model():
    from throwaway_family import build_tiny

    return build_tiny(0)
'''


@pytest.fixture
def throwaway_family(tmp_path, monkeypatch):
    """Adds a family in a temp package by appending one name to
    `zoo.FAMILIES`; its preset lives in a temp presets directory."""
    pkg = tmp_path / "pkg" / "throwaway_family"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(_FAMILY_MODULE))
    (pkg / "demo.py").write_text(textwrap.dedent(_DEMO_MODULE))
    presets = tmp_path / "presets"
    presets.mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    monkeypatch.setattr(preset_utils, "PRESETS_DIR", str(presets))
    monkeypatch.setattr(zoo, "FAMILIES", zoo.FAMILIES + ["throwaway_family"])
    yield presets
    sys.modules.pop("throwaway_family", None)
    sys.modules.pop("throwaway_family.demo", None)


def test_a_new_family_is_picked_up_everywhere(throwaway_family, tmp_path):
    from zoo import training

    # Training: the recipe is found by name and writes a preset.
    preset_dir, metrics = training.train(
        "throwaway_preset", str(tmp_path / "run"), epochs=1,
        preset_dir=str(throwaway_family / "throwaway_preset"))
    assert set(metrics) == {"accuracy", "num_examples"}
    assert zoo.read_metadata("throwaway_preset")["recipe"] == (
        "throwaway_preset")
    # CLI: listing, evaluation and predict through the declared adapter.
    code, out, _ = run_cli("list", "--all")
    assert code == 0
    for word in ("throwaway", "throwaway_classifier", "throwaway_preset"):
        assert word in out
    code, out, err = run_cli("eval", "throwaway_preset", "--json")
    assert code == 0, err
    assert json.loads(out)["num_examples"] == 16
    # The presets checks every bundled preset goes through.
    check_declared_preset("throwaway_preset", tmp_path)
    # The registry loop: the tiny model is listed and passes the harness.
    assert "throwaway_classifier" in zoo.list_models()
    harness.run_model_test(zoo.get_model_spec("throwaway_classifier"),
                           tmp_path)
    assert zoo.ThrowawayClassifier.__name__ == "ThrowawayClassifier"


def test_a_new_family_gets_a_hub_tab(throwaway_family):
    from demos import hub

    assert "throwaway_tab" in [t.name for t in hub.tabs()]
    model = hub.tab_module("throwaway_tab").build_tiny_model()
    app = hub.build_hub({"throwaway_tab": model})
    names = {d.get("api_name") for d in app.config["dependencies"]}
    assert "throwaway_tab_classify" in names


def test_a_new_family_gets_its_make_targets(throwaway_family):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(throwaway_family.parent / "pkg"), ROOT]))
    for target, word in (("presets", "train throwaway"),
                         ("bench", "bench throwaway")):
        out = subprocess.run(
            [sys.executable, os.path.join(ROOT, "scripts",
                                          "family_targets.py"),
             target, "--dry-run", "--family", "throwaway_family"],
            capture_output=True, text=True, env=env, check=True,
        ).stdout
        assert word in out
    # Without --dry-run the family's commands run.
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "family_targets.py"),
         "bench", "--only", "throwaway_family", "--family",
         "throwaway_family"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    assert "bench throwaway" in out
