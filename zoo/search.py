"""AutoML search over a preset's training recipe with PyGlove.

`search` turns a preset's recipe into a PyGlove symbolic search space
(`pg.oneof` / `pg.manyof` / `pg.floatv` over its config overrides) and
samples it with regularized evolution or random search
(`pg.sample`). Every trial trains on the preset's training split only
and is scored on its validation split; the test split is never touched
here (the benchmark `scripts/bench_search.py` evaluates the best config
on test once). Trials are appended to `out_dir/trials.csv`; a rerun
replays the finished rows as feedback (same seed, same proposals) and
continues, and a trial killed mid-way resumes from its last epoch
(`zoo.training.fit_resumable`).

Protocols (what "train" and "validation" are):

- Terminator (MNIST-1D): trained on `"train"` (the first 3500 of the
  4000 training signals), scored by `val_accuracy` on `"val"` (the last
  500), predicted at batch 100.
- Forecasting (RHN): trained on the training trajectory, scored by
  `val_vpt_lyapunov`, the mean valid prediction time (Lyapunov times)
  on the validation trajectory.
- `hyper_mlp_digits`: trained on digits `"train"` (1077), scored by
  `val_accuracy` on digits `"val"` (180).

All scores are higher-is-better. The MNIST-1D validation split is
`zoo.data.load_mnist1d("val")`: the last 500 of the benchmark's 4000
training signals (fixed: the generator's seed 42); the bundled recipe
trains on all 4000, so its own figures are test figures.

This module imports no Keras nor PyGlove at import time (the command
line parser imports it).
"""

import csv
import json
import math
import os
import shutil
import time

ALGORITHMS = ("evolution", "random")
# Regularized evolution settings (fixed, so that a rerun with a larger
# budget proposes the same first trials). Small, for budgets of tens of
# trials: the first POPULATION_SIZE trials are random, then each trial
# mutates the best of TOURNAMENT_SIZE random members of the population
# (the last POPULATION_SIZE trials).
POPULATION_SIZE = 4
TOURNAMENT_SIZE = 2
# Reward fed back for a trial that is not trained (over `max_params`) or
# whose score is not finite: below every real score (both metrics >= 0).
FAILED_REWARD = -1.0
CSV_COLUMNS = ("trial", "status", "dna", "config", "params", "metric",
               "value", "reward", "epochs", "seconds", "algorithm",
               "seed", "backend")


def _terminator_mnist1d_space():
    import pyglove as pg

    widths = (16, 24, 32, 48, 64)
    return pg.Dict(
        hidden_dims=pg.oneof([
            [pg.oneof(widths) for _ in range(depth)] for depth in (2, 3, 4)
        ]),
        stem_channels=pg.oneof([4, 8, 12, 16]),
        local_kernel_sizes=pg.oneof([
            pg.manyof(k, [3, 5, 7, 9, 11], sorted=True) for k in (2, 3, 4)
        ]),
        dropout=pg.oneof([0.0, 0.05, 0.1, 0.15, 0.2, 0.3]),
        learning_rate=pg.oneof([5e-4, 1e-3, 2e-3, 3e-3, 5e-3]),
        weight_decay=pg.oneof([0.0, 1e-3, 1e-2, 5e-2]),
    )


def _rhn_lorenz96_space():
    import pyglove as pg

    return pg.Dict(
        units=pg.oneof([32, 48, 64, 96, 128]),
        depth=pg.oneof([1, 2, 3, 4]),
        num_heads=pg.oneof([2, 4]),
        window=pg.oneof([8, 16, 24]),
        learning_rate=pg.oneof([3e-3, 5e-3, 1e-2, 2e-2]),
        batch_size=pg.oneof([16, 32, 64]),
        weight_decay=pg.oneof([0.0, 1e-4, 1e-3]),
    )


def _hyper_mlp_digits_space():
    import pyglove as pg

    return pg.Dict(
        hidden_dims=pg.oneof([
            [pg.oneof([32, 64, 100, 128]) for _ in range(depth)]
            for depth in (1, 2, 3)
        ]),
        embedding_dim=pg.oneof([4, 8, 16]),
        hyper_units=pg.oneof([[16], [32], [64], [32, 32]]),
        learning_rate=pg.oneof([3e-4, 1e-3, 3e-3, 1e-2]),
        batch_size=pg.oneof([16, 32, 64]),
    )


def _terminator_mnist1d_uba_space():
    """`terminator_mnist1d` plus UBA's phi (the schedule's shape)."""
    import pyglove as pg

    space = _terminator_mnist1d_space()
    space["phi"] = pg.oneof([0.5, 1.0, 2.0, 4.0, 8.0])
    return space


# Named spaces: the preset each one is meant for and its space builder
# (a function, so that PyGlove is imported only when searching).
SPACES = {
    "terminator_mnist1d": ("terminator_1d_mnist1d",
                           _terminator_mnist1d_space),
    "terminator_mnist1d_uba": ("terminator_1d_mnist1d",
                               _terminator_mnist1d_uba_space),
    "rhn_lorenz96": ("rhn_attention_lorenz96", _rhn_lorenz96_space),
    "hyper_mlp_digits": ("hyper_mlp_digits", _hyper_mlp_digits_space),
}


def _plain(value):
    """JSON values of a materialised config: lists become tuples."""
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _TerminatorRecipe:
    """Trial protocol of a Terminator preset: train split -> val."""

    metric = "val_accuracy"

    def __init__(self, preset):
        from zoo.terminator.terminator_presets import preset_config

        self.preset = preset
        self.cfg = preset_config(preset)
        self.epochs = self.cfg["epochs"]

    def build(self, config, epochs, seed):
        from zoo.terminator.terminator_presets import build_terminator
        from zoo.terminator.terminator_presets import load_data

        self.data = load_data(self.cfg["dataset"], "train",
                              self.cfg["shuffled"])
        return build_terminator(self.preset, seed=seed,
                                num_train=len(self.data[1]),
                                epochs=epochs, **config)

    def fit(self, model, config, epochs, out_dir):
        from zoo.training import fit_resumable

        x, y = self.data
        fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                      batch_size=self.cfg["batch_size"], verbose=0)

    def score(self, model):
        from zoo.terminator.terminator_eval import LARGE_EVAL_BATCH_SIZE
        from zoo.terminator.terminator_eval import accuracy_and_loss
        from zoo.terminator.terminator_presets import load_data

        x, y = load_data(self.cfg["dataset"], "val", self.cfg["shuffled"])
        return accuracy_and_loss(model, x, y, LARGE_EVAL_BATCH_SIZE)[0]


class _ForecastingRecipe:
    """Trial protocol of a forecasting preset: train trajectory -> val."""

    metric = "val_vpt_lyapunov"

    def __init__(self, preset):
        from zoo.forecasting.forecasting_presets import check_preset

        self.preset = preset
        self.cfg = check_preset(preset)
        self.epochs = self.cfg["epochs"]

    def _settings(self, config):
        recipe = {k: config.get(k, self.cfg.get(k))
                  for k in ("learning_rate", "batch_size", "weight_decay")}
        backbone = dict(self.cfg["backbone"])
        backbone.update({k: v for k, v in config.items()
                         if k not in recipe})
        return recipe, backbone

    def build(self, config, epochs, seed):
        import numpy as np

        from zoo.data.forecasting_systems import training_windows
        from zoo.forecasting.forecasting_presets import build_forecaster

        recipe, backbone = self._settings(config)
        self.data = training_windows(self.cfg["system"],
                                     self.cfg["context_length"])
        steps = epochs * int(np.ceil(len(self.data[0])
                                     / recipe["batch_size"]))
        decay = {"weight_decay": recipe["weight_decay"]} \
            if recipe["weight_decay"] else {}
        return build_forecaster(
            self.cfg["system"], context_length=self.cfg["context_length"],
            seed=seed, total_steps=steps,
            learning_rate=recipe["learning_rate"], **decay, **backbone,
        )

    def fit(self, model, config, epochs, out_dir):
        from zoo.training import fit_resumable

        recipe, _ = self._settings(config)
        x, y = self.data
        fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                      batch_size=recipe["batch_size"], verbose=0)

    def score(self, model):
        from zoo.forecasting.forecasting_eval import evaluate_system

        return evaluate_system(model, self.cfg["system"],
                               split="val")["vpt_lyapunov"]


class _HyperMLPRecipe:
    """Trial protocol of `hyper_mlp_digits`: digits train -> val."""

    metric = "val_accuracy"

    def __init__(self, preset):
        from zoo.hyper_mlp import hyper_mlp_presets as p

        self.preset = preset
        self.epochs = p.DIGITS_EPOCHS
        self.defaults = dict(learning_rate=p.DIGITS_LEARNING_RATE,
                             batch_size=p.DIGITS_BATCH_SIZE)

    def build(self, config, epochs, seed):
        import keras

        from zoo.hyper_mlp.hyper_mlp_backbone import HyperMLPBackbone
        from zoo.hyper_mlp.hyper_mlp_classifier import HyperMLPClassifier
        from zoo.hyper_mlp.hyper_mlp_presets import DIGITS_BACKBONE

        kwargs = dict(DIGITS_BACKBONE)
        kwargs.update({k: v for k, v in config.items()
                       if k not in self.defaults})
        model = HyperMLPClassifier(HyperMLPBackbone(**kwargs, seed=seed),
                                   num_classes=10)
        lr = config.get("learning_rate", self.defaults["learning_rate"])
        model.compile(optimizer=keras.optimizers.Adam(lr))
        return model

    def fit(self, model, config, epochs, out_dir):
        from zoo.data import load_digits
        from zoo.training import fit_resumable

        x, y = load_digits(split="train")
        fit_resumable(model, x, y, epochs=epochs, out_dir=out_dir,
                      batch_size=config.get("batch_size",
                                            self.defaults["batch_size"]),
                      verbose=0)

    def score(self, model):
        from zoo.data import load_digits
        from zoo.terminator.terminator_eval import accuracy_and_loss

        x, y = load_digits(split="val")
        return accuracy_and_loss(model, x, y, 100)[0]


def _recipe(preset):
    """The trial protocol of a preset (`ValueError` naming `preset`)."""
    from zoo.forecasting.forecasting_presets import PRESETS as FORECASTING
    from zoo.terminator.terminator_presets import PRESETS as TERMINATOR

    if preset in TERMINATOR:
        return _TerminatorRecipe(preset)
    if preset in FORECASTING:
        return _ForecastingRecipe(preset)
    if preset == "hyper_mlp_digits":
        return _HyperMLPRecipe(preset)
    known = sorted([*TERMINATOR, *FORECASTING, "hyper_mlp_digits"])
    raise ValueError(
        f"`preset` must be one of {', '.join(known)}. "
        f"Received: preset={preset!r}"
    )


def _space(space):
    """`(name, hyper space)` of a `SPACES` name or a `pg.Dict`."""
    import pyglove as pg

    if isinstance(space, str):
        if space not in SPACES:
            raise ValueError(
                f"`space` must be one of {', '.join(sorted(SPACES))} or a "
                f"pg.Dict of hyper values. Received: space={space!r}"
            )
        return space, SPACES[space][1]()
    if isinstance(space, pg.Dict) and not pg.is_deterministic(space):
        return "custom", space
    raise ValueError(
        "`space` must be a name of zoo.search.SPACES or a pg.Dict of hyper "
        f"values (pg.oneof, ...). Received: space={space!r}"
    )


def _algorithm(algorithm, seed):
    import pyglove as pg

    if algorithm == "evolution":
        inner = pg.evolution.regularized_evolution(
            mutator=pg.evolution.mutators.Uniform(seed=seed),
            population_size=POPULATION_SIZE,
            tournament_size=TOURNAMENT_SIZE, seed=seed,
        )
    else:
        inner = pg.geno.Random(seed=seed)
    # Dedup on the decisions (a trial is never trained twice); stops the
    # search early when the space has no new point left.
    return pg.geno.Deduping(inner, hash_fn=str)


def _check_args(budget, out_dir, algorithm, seed, max_params, epochs):
    def positive_int(name, value, allow_none=False):
        if allow_none and value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) \
                or value <= 0:
            raise ValueError(
                f"`{name}` must be a positive integer"
                + (" or None" if allow_none else "")
                + f". Received: {name}={value!r}"
            )

    positive_int("budget", budget)
    positive_int("max_params", max_params, allow_none=True)
    positive_int("epochs", epochs, allow_none=True)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(
            f"`seed` must be a non-negative integer. Received: seed={seed!r}"
        )
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"`algorithm` must be one of {ALGORITHMS}. "
            f"Received: algorithm={algorithm!r}"
        )
    if not isinstance(out_dir, (str, os.PathLike)) or not str(out_dir):
        raise ValueError(
            f"`out_dir` must be a directory path. Received: out_dir={out_dir!r}"
        )


def read_trials(out_dir):
    """The trials recorded in `out_dir/trials.csv` (empty if none).

    Args:
        out_dir: str. A search directory.

    Returns:
        list of dicts (the CSV rows, values as strings).

    Example:

    ```python
    rows = zoo.search.read_trials("runs/search")
    best = max(rows, key=lambda r: float(r["reward"]))
    ```
    """
    path = os.path.join(out_dir, "trials.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _check_resume(out_dir, settings):
    """Writes `search.json`, or checks a rerun's settings against it."""
    path = os.path.join(out_dir, "search.json")
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        for key, value in settings.items():
            if saved.get(key) != value:
                raise ValueError(
                    f"`{key}` differs from the search already in "
                    f"out_dir={str(out_dir)!r} ({saved.get(key)!r}); use "
                    f"another `out_dir` or the same settings. Received: "
                    f"{key}={value!r}"
                )
        return
    os.makedirs(out_dir, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(settings, f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def evaluate_config(preset, config, epochs=None, seed=0, out_dir=None,
                    max_params=None):
    """One trial: trains a config on the train split, scores validation.

    Args:
        preset: str. A Terminator or forecasting preset name, or
            `"hyper_mlp_digits"`.
        config: dict. Recipe overrides (a materialised search point, e.g.
            `{"hidden_dims": (16, 32), "learning_rate": 3e-3}`; `{}` is
            the bundled recipe). The key `"phi"` trains with the UBA
            schedule of that shape (`zoo.schedules.UBA`) in place of the
            recipe's, through `zoo.training.TrainOptions`.
        epochs: int or `None` (the preset's epochs). The learning-rate
            schedule is sized to these epochs.
        seed: int. Initialiser seed, also given to
            `keras.utils.set_random_seed` (shuffling, dropout) before
            the model is built.
        out_dir: str or `None`. Run directory (checkpoints, `log.csv`);
            `None`: a temporary one, removed afterwards.
        max_params: int or `None`. Parameter limit checked before
            training.

    Returns:
        dict: `status` (`"ok"`, `"rejected"` over `max_params`,
        `"non_finite"`), `params`, `metric` (its name), `value` (the
        validation score, higher is better; `None` when not trained),
        `epochs` and `seconds` (wall time of build, training and
        scoring).

    Example:

    ```python
    zoo.search.evaluate_config("rhn_attention_lorenz96", {"units": 32},
                               epochs=2)
    ```
    """
    import tempfile

    import keras

    from zoo.training import TrainOptions
    from zoo.training import training_options

    recipe = _recipe(preset)
    epochs = recipe.epochs if epochs is None else epochs
    config = _plain(dict(config))
    # `phi`: train with UBA of that shape instead of the recipe's
    # schedule (same peak rate and warm-up share; zoo.training).
    phi = config.pop("phi", None)
    options = None if phi is None else TrainOptions(schedule="uba",
                                                    phi=float(phi))
    start = time.perf_counter()
    keras.backend.clear_session(free_memory=False)
    # Same shuffling and dropout draws for every trial of a seed.
    keras.utils.set_random_seed(seed)
    model = recipe.build(config, epochs, seed)
    params = int(model.count_params())
    result = dict(status="ok", params=params, metric=recipe.metric,
                  value=None, epochs=epochs)
    if max_params is not None and params > max_params:
        result.update(status="rejected",
                      seconds=time.perf_counter() - start)
        return result
    tmp = None
    if out_dir is None:
        out_dir = tmp = tempfile.mkdtemp(prefix="zoo_search_")
    try:
        with training_options(options):
            recipe.fit(model, config, epochs, out_dir)
        value = float(recipe.score(model))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    result["value"] = value
    if not math.isfinite(value):
        result["status"] = "non_finite"
    result["seconds"] = time.perf_counter() - start
    return result


def search(preset, space, budget, out_dir, algorithm="evolution", seed=0,
           max_params=None, epochs=None):
    """Searches a preset's recipe with PyGlove; resumable.

    Samples `budget` configs of `space` with `pg.sample` and regularized
    evolution (`pg.evolution.regularized_evolution`, population 4,
    tournament 2, uniform mutation) or random search (`pg.geno.Random`),
    both deduplicated (`pg.geno.Deduping`: no config is trained twice;
    a small space may end the search early). Each trial
    (`evaluate_config`) trains on the train split and is scored on the
    validation split; its row (config as JSON, DNA, parameters, score,
    wall time) is appended to `out_dir/trials.csv` at once. A trial
    over `max_params` is rejected before training (row status
    `"rejected"`, reward -1). Rerunning with the same arguments (a
    larger `budget` allowed) replays the rows as feedback, checks the
    algorithm proposes the same configs, and continues.

    Args:
        preset: str. The preset whose recipe is searched: a Terminator
            or forecasting preset, or `"hyper_mlp_digits"`.
        space: str or `pg.Dict`. A name of `SPACES` (e.g.
            `"terminator_mnist1d"`, `"rhn_lorenz96"`), or a `pg.Dict` of
            recipe overrides with hyper values (`pg.oneof`,
            `pg.manyof`, `pg.floatv`).
        budget: int. Total number of trials (rejected ones included).
        out_dir: str. Search directory (`trials.csv`, `search.json`,
            `trials/<i>/` run directories).
        algorithm: str. `"evolution"` or `"random"`.
        seed: int. Seed of the algorithm and of every trial's weights.
        max_params: int or `None`. Parameter limit (checked before
            training).
        epochs: int or `None`. Epochs per trial (a proxy budget;
            `None`: the preset's epochs).

    Returns:
        dict: `trials` (list of row dicts, in order: `trial`, `status`,
        `dna`, `config` (dict), `params`, `metric`, `value`, `reward`,
        `epochs`, `seconds`, ...) and `best` (the best `"ok"` row, or
        `None`).

    Raises:
        ValueError: a bad argument (the message names it), or `out_dir`
            holding a search with other settings.

    Example:

    ```python
    result = zoo.search.search("terminator_1d_mnist1d",
                               "terminator_mnist1d", budget=20,
                               out_dir="runs/search", max_params=100_000,
                               epochs=8)
    result["best"]["config"]
    ```

    Reference:
        - [Peng et al., PyGlove: Symbolic Programming for Automated
        Machine Learning, NeurIPS 2020](https://arxiv.org/abs/2101.08809)
        - [Real et al., Regularized Evolution for Image Classifier
        Architecture Search, AAAI 2019](https://arxiv.org/abs/1802.01548)
    """
    _check_args(budget, out_dir, algorithm, seed, max_params, epochs)
    recipe = _recipe(preset)
    space_name, hyper_space = _space(space)

    import keras
    import pyglove as pg

    settings = dict(preset=preset, space=space_name,
                    space_json=pg.to_json_str(hyper_space),
                    algorithm=algorithm, seed=seed, max_params=max_params,
                    epochs=epochs or recipe.epochs,
                    population_size=POPULATION_SIZE,
                    tournament_size=TOURNAMENT_SIZE)
    _check_resume(out_dir, settings)
    done = read_trials(out_dir)
    path = os.path.join(out_dir, "trials.csv")
    rows = []
    samples = pg.sample(hyper_space, _algorithm(algorithm, seed),
                        num_examples=budget)
    for i, (example, feedback) in enumerate(samples):
        dna = str(feedback.dna)
        if i < len(done):
            if done[i]["dna"] != dna:
                raise ValueError(
                    f"`out_dir` {str(out_dir)!r} holds trial {i} with DNA "
                    f"{done[i]['dna']}, but the search proposes {dna}: "
                    "the CSV comes from another search."
                )
            feedback(float(done[i]["reward"]))
            rows.append(done[i])
            continue
        config = json.loads(pg.to_json_str(example))
        result = evaluate_config(
            preset, config, epochs=settings["epochs"], seed=seed,
            out_dir=os.path.join(out_dir, "trials", str(i)),
            max_params=max_params,
        )
        reward = result["value"] if result["status"] == "ok" \
            else FAILED_REWARD
        row = dict(
            trial=i, status=result["status"], dna=dna,
            config=json.dumps(config, sort_keys=True),
            params=result["params"], metric=result["metric"],
            value="" if result["value"] is None else repr(result["value"]),
            reward=repr(float(reward)), epochs=result["epochs"],
            seconds=f"{result['seconds']:.2f}", algorithm=algorithm,
            seed=seed, backend=keras.backend.backend(),
        )
        _append_row(path, row)
        shutil.rmtree(os.path.join(out_dir, "trials", str(i),
                                   "checkpoints"), ignore_errors=True)
        feedback(float(reward))
        rows.append({k: str(v) for k, v in row.items()})
    trials = [dict(r, config=json.loads(r["config"])) for r in rows]
    ok = [t for t in trials if t["status"] == "ok"]
    best = max(ok, key=lambda t: float(t["value"])) if ok else None
    return {"trials": trials, "best": best}


def _append_row(path, row):
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)
        f.flush()
        os.fsync(f.fileno())


def add_parser(subparsers):
    """Adds `search` to the `python -m zoo` sub-command parsers.

    Args:
        subparsers: the `argparse` sub-parsers action of the zoo CLI.

    Returns:
        The `search` `argparse.ArgumentParser`.

    Example:

    ```python
    sub = parser.add_subparsers(dest="command")
    zoo.search.add_parser(sub)
    ```
    """
    p = subparsers.add_parser(
        "search", help="search a preset's training recipe with PyGlove "
        "(train split -> validation split; resumable)")
    p.add_argument("preset", help="preset whose recipe is searched, e.g. "
                   "terminator_1d_mnist1d")
    p.add_argument("--space", required=True,
                   help=f"search space: {', '.join(sorted(SPACES))}")
    p.add_argument("--budget", type=int, required=True,
                   help="number of trials")
    p.add_argument("--out", required=True, help="search directory "
                   "(trials.csv; rerun to resume)")
    p.add_argument("--algorithm", default="evolution",
                   help="evolution (regularized) or random")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-params", type=int, default=None,
                   help="reject configs above this many parameters")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per trial (default: the preset's)")
    return p


def run_command(args):
    """Runs `python -m zoo search` from parsed arguments.

    Args:
        args: `argparse.Namespace` of the `search` parser (`preset`,
            `space`, `budget`, `out`, `algorithm`, `seed`, `max_params`,
            `epochs`).

    Returns:
        int: 0 (bad arguments raise `ValueError`).

    Example:

    ```python
    zoo.search.run_command(parser.parse_args(
        ["search", "rhn_attention_lorenz96", "--space", "rhn_lorenz96",
         "--budget", "4", "--out", "runs/s"]))
    ```
    """
    result = search(args.preset, args.space, args.budget, args.out,
                    algorithm=args.algorithm, seed=args.seed,
                    max_params=args.max_params, epochs=args.epochs)
    best = result["best"]
    print(f"{len(result['trials'])} trial(s) in "
          f"{os.path.join(args.out, 'trials.csv')}")
    if best is None:
        print("no trial trained (all rejected)")
    else:
        print(f"best: trial {best['trial']} {best['metric']}="
              f"{float(best['value']):.4f} params={best['params']} "
              f"config={json.dumps(best['config'], sort_keys=True)}")
    return 0
