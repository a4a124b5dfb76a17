"""How a model family declares itself to the rest of the package.

A family is one folder `zoo/<family>/` whose `__init__.py` binds
`FAMILY = Family(...)`: its public classes, its tiny test models, its
presets (each with its training recipe, its evaluator, the kinds of file
`python -m zoo predict` accepts, and its demo tab). `zoo.FAMILIES` lists
the family modules; `zoo.registry` computes every view from it (the
model registry, the recipes, the preset table, the hub's tabs, the
goldens list). Adding a family is one folder and one line.

This module imports neither Keras nor any family, so a family can import
it at the top.
"""



class _Declaration:
    """Keyword-or-positional fields, read-only once built, with a repr."""

    _fields = ()
    _defaults = {}

    def __init__(self, *args, **kwargs):
        if len(args) > len(self._fields):
            raise TypeError(
                f"{type(self).__name__} takes at most {len(self._fields)} "
                f"positional arguments. Received: {len(args)}"
            )
        values = dict(self._defaults)
        values.update(zip(self._fields, args))
        for key, value in kwargs.items():
            if key not in self._fields:
                raise TypeError(
                    f"{type(self).__name__} got an unknown argument "
                    f"{key!r}. Known: {', '.join(self._fields)}"
                )
            values[key] = value
        missing = [f for f in self._fields if f not in values]
        if missing:
            raise TypeError(
                f"{type(self).__name__} needs {', '.join(missing)}."
            )
        for key in self._fields:
            object.__setattr__(self, key, values[key])

    def __setattr__(self, key, value):
        raise AttributeError(f"{type(self).__name__} is read-only.")

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


class TinyModel:
    """A tiny, built instance of a family's model, for the test harness.

    Every `TinyModel` goes through the shared harness
    (`tests/test_all_models.py`): serialization, `.keras` save/load, a
    training step with a gradient audit, mixed precision, jit, batch
    independence and the stored golden outputs `tests/golden/<name>.npz`
    (written once by `tests/make_goldens.py`; every backend must match).

    Args:
        name: str. Registry name (snake_case), unique across families.
        task_cls: the Task (or Backbone) class.
        build_tiny: callable `(seed) -> keras.Model`, a tiny, built,
            compiled instance.
        example_batch: callable `(batch_size, seed) -> (x, y)` numpy data
            matching the tiny instance.
        description: str. One line.
        reference: str. The paper.
        expected_num_params: int or `None`. Exact parameter count of the
            tiny instance, worked out by hand (checked by the harness).
        expected_num_non_trainable_params: int. Same for the
            non-trainable weights (0 for most models).
        zero_grad_weights: dict `{path regex: reason}` or `None`.
            Trainable weights whose training-loss gradient is zero in
            exact arithmetic and that are kept on purpose; the harness
            asserts that their gradient is rounding noise.

    Example:

    ```python
    spec = zoo.get_model_spec("hyper_mlp_classifier")
    model = spec.build_tiny(0)
    ```
    """

    __slots__ = ("name", "task_cls", "build_tiny", "example_batch",
                 "description", "reference", "expected_num_params",
                 "expected_num_non_trainable_params", "zero_grad_weights")

    def __init__(self, name, task_cls, build_tiny, example_batch,
                 description="", reference="", expected_num_params=None,
                 expected_num_non_trainable_params=0,
                 zero_grad_weights=None):
        self.name = name
        self.task_cls = task_cls
        self.build_tiny = build_tiny
        self.example_batch = example_batch
        self.description = description
        self.reference = reference
        self.expected_num_params = expected_num_params
        self.expected_num_non_trainable_params = (
            expected_num_non_trainable_params
        )
        self.zero_grad_weights = dict(zero_grad_weights or {})

    def __repr__(self):
        return f"TinyModel({self.name!r}, {self.task_cls.__name__})"


# The name the registry has always used; kept for users' code.
ModelSpec = TinyModel


class DemoTab(_Declaration):
    """One tab of the demo hub, declared by a family.

    The family names the demo module by its import path (a string), so
    `zoo` never imports `demos`.

    Args:
        name: str. Tab id, endpoint prefix (snake_case).
        module: str. Import path of the demo module (it defines `TITLE`,
            `SUMMARY`, `render`, `build_demo`, `build_tiny_model`; see
            `demos.hub`).
        preset: str. Bundled preset the hub loads for the tab.
        heading: str. Heading under which the hub's "All models" page
            lists the tab.

    Example:

    ```python
    DemoTab("hyper_mlp_digits", "demos.hyper_mlp_digits",
            "hyper_mlp_digits", "Hypernetworks")
    ```
    """

    _fields = ("name", "module", "preset", "heading")
    _defaults = {"heading": "Other models"}


class PresetSpec(_Declaration):
    """A bundled preset: how it is trained, evaluated and fed.

    Args:
        name: str. Preset (and recipe) name, the folder
            `zoo/presets/<name>/`.
        task_cls: the class the preset loads as (Task or Backbone).
        train: callable `(epochs, out_dir, seed, verbose) ->
            (model, test_metrics, metadata)`: the training recipe, run
            by `zoo.training.train` inside the caller's dtype policy
            (a recipe never sets a policy). `epochs`: int, or `None`
            for the recipe's own budget; `out_dir`: str, the run
            directory (log.csv, checkpoints); `seed`: int, seeds the
            initialisers and the data order; `verbose`: int, Keras
            verbosity. `test_metrics` is a dict of the test split's
            metrics and `metadata` the preset's extra `metadata.json`
            entries.
        evaluate: callable `(model, split) -> dict` of metrics computed
            now (`python -m zoo eval`).
        inputs: tuple of `zoo.inputs.InputAdapter`. The kinds of file
            `python -m zoo predict` accepts for this preset; empty: none.
        description: str. One line, for `python -m zoo list --all`.
        data: callable `(split) -> (x, y)` numpy inputs and labels of
            the preset's supervised data set (`split`: `"train"`,
            `"val"`, `"test"` or `"trainval"`), or `None` where the data
            are not input/label pairs (episodes, trajectories).
            `python -m zoo prune` fine-tunes on it.
        train_options: bool. Whether the recipe trains through
            `zoo.training.fit_resumable` and so takes
            `zoo.training.TrainOptions` (`zoo train --schedule,
            --batch-size, --auto-scale-lr, --energy`) and the
            `"dfp_int16"` precision; `False` refuses them up front.

    Example:

    ```python
    zoo.registry.get_preset_spec("hyper_mlp_digits").evaluate(model, "test")
    ```
    """

    _fields = ("name", "task_cls", "train", "evaluate", "inputs",
               "description", "data", "train_options")
    _defaults = {"inputs": (), "description": "", "data": None,
                 "train_options": True}


class Family(_Declaration):
    """Everything the package needs to know about one model family.

    Args:
        name: str. Family id (the folder name, snake_case).
        title: str. One line, for listings.
        classes: tuple of classes exported as `zoo.<ClassName>`
            (Backbones, Tasks, layers and helpers of the family).
        tiny_models: tuple of `TinyModel` for the test harness.
        presets: tuple of `PresetSpec`.
        demo_tabs: tuple of `DemoTab`.
        preset_commands: tuple of str. Shell commands, run from the
            repository root by `make presets`, that retrain the bundled
            presets (`{python}` stands for the venv's interpreter).
        bench_commands: tuple of str. Same for `make bench`: the
            benchmark scripts that write `scripts/results/*.csv`.

    Example:

    ```python
    FAMILY = Family(
        name="hyper_mlp",
        title="MLPs whose layers a hypernetwork generates",
        classes=(HyperMLPBackbone, HyperMLPClassifier),
        tiny_models=(TinyModel(...),),
        presets=(PresetSpec(...),),
        demo_tabs=(DemoTab(...),),
    )
    ```
    """

    _fields = ("name", "title", "classes", "tiny_models", "presets",
               "demo_tabs", "preset_commands", "bench_commands")
    _defaults = {f: () for f in _fields[2:]}
