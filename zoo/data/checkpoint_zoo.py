"""A checkpoint zoo as data: hundreds of small trained few-shot MLPs.

Every checkpoint is a one-hidden-layer ReLU MLP `input -> width -> 5`
trained on a 5-way task: a subset of 5 classes of scikit-learn digits
(or of MNIST-1D), labels remapped to `0..4` in increasing class order.
The zoo is built by `build_checkpoint_zoo` (called by
`scripts/make_checkpoint_zoo.py`), seeded, and cached as one compressed
`.npz` (plus a JSON manifest next to it) under the data cache of
`zoo.data._cache`. Training is vectorised: all the MLPs of one group
(data set, width) train at once, full batch, with batched `einsum`
forward and backward passes and Adam, in numpy (no backend).

Layout (model-wise, zero padded): each checkpoint is one vector of
`PARAM_DIM = 64 * 32 + 32 + 32 * 5 + 5` numbers, the kernel `W1`
padded to `(MAX_INPUT, MAX_WIDTH)`, `b1` to `MAX_WIDTH`, `W2` to
`(MAX_WIDTH, WAYS)` and `b2`. Zero padding is exact: a padded hidden
unit has zero in- and out-weights and a padded input row multiplies
zero-padded features, so a width-16 MLP and its padded width-32 vector
compute the same function.

Held-out tasks (`heldout_tasks`) are digit class subsets that no zoo
checkpoint was trained on; D2NWG is evaluated on them.
"""

import itertools
import json
import os
import tempfile
import zipfile

import numpy as np

from zoo.data._cache import cache_path
from zoo.data.digits import load_digits
from zoo.data.mnist_1d import load_mnist1d

WAYS = 5
MAX_INPUT = 64
MAX_WIDTH = 32
PARAM_DIM = MAX_INPUT * MAX_WIDTH + MAX_WIDTH + MAX_WIDTH * WAYS + WAYS
_VERSION = 2
# (data set, width, number of checkpoints) of the full zoo, in order.
ZOO_GROUPS = (("digits", 32, 200), ("digits", 16, 60),
              ("mnist1d", 32, 60))
NUM_HELDOUT = 12
PER_CLASS = 60
TRAIN_STEPS = 150
LEARNING_RATE = 0.01


def _all_subsets():
    return [tuple(c) for c in itertools.combinations(range(10), WAYS)]


def heldout_tasks(seed=0):
    """The digit class subsets kept out of the zoo, for evaluation.

    Args:
        seed: int. Zoo seed.

    Returns:
        A list of `NUM_HELDOUT` sorted 5-tuples of digit classes.

    Example:

    ```python
    heldout_tasks(0)[0]  # e.g. (0, 2, 3, 7, 9)
    ```
    """
    subsets = _all_subsets()
    order = np.random.default_rng([seed, 1]).permutation(len(subsets))
    return [subsets[i] for i in sorted(order[:NUM_HELDOUT])]


def _zoo_tasks(seed):
    """The ordered list of `(dataset, width, classes, model_seed)`."""
    held = set(heldout_tasks(seed))
    digits = [s for s in _all_subsets() if s not in held]
    rng = np.random.default_rng([seed, 2])
    digits = [digits[i] for i in rng.permutation(len(digits))]
    all_subsets = _all_subsets()
    tasks = []
    for dataset, width, count in ZOO_GROUPS:
        for i in range(count):
            if dataset == "digits":
                classes = digits[i % len(digits)]
            else:
                classes = all_subsets[rng.integers(len(all_subsets))]
            tasks.append((dataset, width, classes, int(rng.integers(2**31))))
    return tasks


def _load(dataset, split):
    if dataset == "digits":
        return load_digits(split)
    return load_mnist1d(split)


def task_data(dataset, classes, split="train", per_class=None, seed=0):
    """Examples of the classes `classes`, labels remapped to `0..4`.

    Features are zero padded to `MAX_INPUT` columns.

    Args:
        dataset: str. `"digits"` or `"mnist1d"`.
        classes: sequence of 5 class ids (label `k` = `classes[k]`).
        split: str. Split of the data set.
        per_class: int or `None`. Draw this many examples per class
            (seeded); `None` keeps all.
        seed: int. Seed of the draw.

    Returns:
        `(x, y)`: float32 `(N, MAX_INPUT)` and int32 `(N,)`.

    Example:

    ```python
    x, y = task_data("digits", (0, 1, 2, 3, 4), "test")
    ```
    """
    x, y = _load(dataset, split)
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, cls in enumerate(classes):
        index = np.flatnonzero(y == cls)
        if per_class is not None:
            index = rng.choice(index, per_class, replace=False)
        xs.append(x[index])
        ys.append(np.full(len(index), label, "int32"))
    x = np.concatenate(xs)
    x = np.pad(x, ((0, 0), (0, MAX_INPUT - x.shape[1])))
    return x.astype("float32"), np.concatenate(ys)


def split_params(params):
    """Splits padded parameter vectors into `(w1, b1, w2, b2)`.

    Args:
        params: array `(..., PARAM_DIM)`.

    Returns:
        `w1 (..., 64, 32)`, `b1 (..., 32)`, `w2 (..., 32, 5)`,
        `b2 (..., 5)`.

    Example:

    ```python
    w1, b1, w2, b2 = split_params(np.zeros(PARAM_DIM))
    ```
    """
    params = np.asarray(params)
    lead = params.shape[:-1]
    sizes = np.cumsum([MAX_INPUT * MAX_WIDTH, MAX_WIDTH,
                       MAX_WIDTH * WAYS])
    w1, b1, w2, b2 = np.split(params, sizes, axis=-1)
    return (w1.reshape(lead + (MAX_INPUT, MAX_WIDTH)), b1,
            w2.reshape(lead + (MAX_WIDTH, WAYS)), b2)


def join_params(w1, b1, w2, b2):
    """Inverse of `split_params`: the padded parameter vectors.

    Args:
        w1, b1, w2, b2: arrays as returned by `split_params`.

    Returns:
        Array `(..., PARAM_DIM)`.

    Example:

    ```python
    params = join_params(*split_params(np.zeros(PARAM_DIM)))
    ```
    """
    lead = np.shape(b2)[:-1]
    return np.concatenate(
        [np.reshape(w1, lead + (-1,)), b1, np.reshape(w2, lead + (-1,)),
         b2], axis=-1)


def mlp_logits(params, x):
    """Logits of padded MLPs, batched over models.

    Args:
        params: `(M, PARAM_DIM)` parameter vectors.
        x: `(M, N, MAX_INPUT)` inputs (one batch per model).

    Returns:
        `(M, N, 5)` logits.

    Example:

    ```python
    mlp_logits(np.zeros((1, PARAM_DIM)), np.zeros((1, 3, 64))).shape
    ```
    """
    w1, b1, w2, b2 = split_params(params)
    h = np.maximum(np.einsum("mnd,mdh->mnh", x, w1) + b1[:, None], 0)
    return np.einsum("mnh,mhk->mnk", h, w2) + b2[:, None]


def train_mlps(params, x, y, steps, learning_rate=LEARNING_RATE,
               mask=None):
    """Full-batch Adam on many padded MLPs at once (batched einsum).

    Args:
        params: `(M, PARAM_DIM)` initial parameters.
        x: `(M, N, MAX_INPUT)` training inputs.
        y: `(M, N)` int labels in `0..4`.
        steps: int. Number of Adam steps.
        learning_rate: float. Adam step size.
        mask: `(PARAM_DIM,)` or `(M, PARAM_DIM)` 0/1 array or `None`:
            parameters with mask 0 (zero padding) stay fixed.

    Returns:
        The trained `(M, PARAM_DIM)` parameters (float32).

    Example:

    ```python
    p = train_mlps(np.zeros((1, PARAM_DIM)), x[None], y[None], 20)
    ```
    """
    p = np.array(params, "float64")
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    onehot = np.eye(WAYS)[y]
    n = x.shape[1]
    mask = np.ones(PARAM_DIM) if mask is None else np.asarray(mask)
    for t in range(1, steps + 1):
        w1, b1, w2, b2 = split_params(p)
        pre = np.einsum("mnd,mdh->mnh", x, w1) + b1[:, None]
        h = np.maximum(pre, 0)
        logits = np.einsum("mnh,mhk->mnk", h, w2) + b2[:, None]
        logits -= logits.max(-1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(-1, keepdims=True)
        dlogits = (prob - onehot) / n
        gw2 = np.einsum("mnh,mnk->mhk", h, dlogits)
        gb2 = dlogits.sum(1)
        dh = np.einsum("mnk,mhk->mnh", dlogits, w2) * (pre > 0)
        gw1 = np.einsum("mnd,mnh->mdh", x, dh)
        gb1 = dh.sum(1)
        g = join_params(gw1, gb1, gw2, gb2) * mask
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        step = learning_rate * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        p -= step * m / (np.sqrt(v) + 1e-8)
    return p.astype("float32")


def padding_mask(input_dim, width):
    """0/1 mask of the real (not zero-padded) parameters of an MLP.

    Args:
        input_dim: int. Input size (<= `MAX_INPUT`).
        width: int. Hidden width (<= `MAX_WIDTH`).

    Returns:
        float32 `(PARAM_DIM,)`.

    Example:

    ```python
    padding_mask(64, 16).sum()  # 64 * 16 + 16 + 16 * 5 + 5
    ```
    """
    w1 = np.zeros((MAX_INPUT, MAX_WIDTH))
    w1[:input_dim, :width] = 1
    b1 = np.zeros(MAX_WIDTH)
    b1[:width] = 1
    w2 = np.zeros((MAX_WIDTH, WAYS))
    w2[:width] = 1
    return join_params(w1, b1, w2, np.ones(WAYS)).astype("float32")


def init_params(input_dim, width, seed):
    """Glorot-uniform init of one padded MLP (zero biases).

    Args:
        input_dim: int. Input size.
        width: int. Hidden width.
        seed: int. Seed.

    Returns:
        float32 `(PARAM_DIM,)`.

    Example:

    ```python
    init_params(64, 32, 0).shape  # (2245,)
    ```
    """
    rng = np.random.default_rng(seed)
    w1 = np.zeros((MAX_INPUT, MAX_WIDTH))
    lim = np.sqrt(6 / (input_dim + width))
    w1[:input_dim, :width] = rng.uniform(-lim, lim, (input_dim, width))
    w2 = np.zeros((MAX_WIDTH, WAYS))
    lim = np.sqrt(6 / (width + WAYS))
    w2[:width] = rng.uniform(-lim, lim, (width, WAYS))
    return join_params(w1, np.zeros(MAX_WIDTH), w2,
                       np.zeros(WAYS)).astype("float32")


def _build(seed, limit):
    tasks = _zoo_tasks(seed)
    if limit is not None:
        tasks = tasks[:limit]
    params = np.zeros((len(tasks), PARAM_DIM), "float32")
    manifest = []
    groups = sorted({(t[0], t[1]) for t in tasks})
    for dataset, width in groups:
        index = [i for i, t in enumerate(tasks) if t[:2] == (dataset, width)]
        input_dim = 64 if dataset == "digits" else 40
        # Every checkpoint of a group starts from the same initialisation
        # (a zoo of runs from one shared init, as fine-tuned zoos are).
        init = init_params(input_dim, width, [seed, width, input_dim])
        data = [task_data(dataset, tasks[i][2], "train", PER_CLASS,
                          tasks[i][3]) for i in index]
        x = np.stack([d[0] for d in data])
        y = np.stack([d[1] for d in data])
        trained = train_mlps(np.repeat(init[None], len(index), 0), x, y,
                             TRAIN_STEPS, mask=padding_mask(input_dim,
                                                            width))
        params[index] = trained
        train_acc = (mlp_logits(trained, x).argmax(-1) == y).mean(1)
        for j, i in enumerate(index):
            xt, yt = task_data(dataset, tasks[i][2], "test")
            acc = (mlp_logits(trained[j:j + 1], xt[None])[0].argmax(-1)
                   == yt).mean()
            manifest.append(dict(
                index=i, dataset=dataset,
                architecture=f"mlp-{input_dim}-{width}-{WAYS}",
                input_dim=input_dim, width=width,
                task="classes " + ",".join(map(str, tasks[i][2])),
                classes=list(tasks[i][2]), seed=tasks[i][3],
                train_accuracy=round(float(train_acc[j]), 4),
                accuracy=round(float(acc), 4)))
    manifest.sort(key=lambda r: r["index"])
    return {"params": params,
            "classes": np.array([t[2] for t in tasks], "int32"),
            "manifest_json": np.array(json.dumps(manifest))}


def _cache_params(seed, limit):
    return {"version": _VERSION, "seed": int(seed), "limit": limit,
            "groups": [list(g) for g in ZOO_GROUPS],
            "per_class": PER_CLASS, "steps": TRAIN_STEPS,
            "heldout": NUM_HELDOUT, "lr": LEARNING_RATE}


def _read(path):
    """The cached zoo, or `None` when missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {key: f[key] for key in f.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write(path, data):
    """Writes the zoo as one compressed `.npz`, atomically."""
    tmp = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz",
                                   dir=os.path.dirname(path))
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def build_checkpoint_zoo(seed=0, limit=None, cache=True):
    """Builds (or reads from the cache) the checkpoint zoo.

    Writes `<cache>/checkpoint_zoo-<hash>.npz` (compressed arrays) and
    the manifest `<cache>/checkpoint_zoo-<hash>.json` next to it.

    Args:
        seed: int. Zoo seed (tasks, held-out tasks, inits, data draws).
        limit: int or `None`. Build only the first `limit` checkpoints
            (tests use a 10-model slice, built in seconds).
        cache: bool. Read/write the data cache.

    Returns:
        dict with `params` float32 `(M, PARAM_DIM)`, `classes` int32
        `(M, 5)` and `manifest`, a list of dicts (index, dataset,
        architecture, input_dim, width, task, classes, seed,
        train_accuracy, accuracy on the test split of the task).

    Example:

    ```python
    zoo_data = build_checkpoint_zoo(limit=10)
    zoo_data["params"].shape  # (10, 2245)
    ```
    """
    params = _cache_params(seed, limit)
    path = cache_path("checkpoint_zoo", params)
    data = _read(path) if cache else None
    if data is None:
        data = _build(seed, limit)
        if cache:
            _write(path, data)
    manifest = json.loads(str(data.pop("manifest_json")))
    if cache:
        try:
            with open(path[:-4] + ".json", "w") as f:
                json.dump(manifest, f, indent=1)
        except OSError:
            pass
    data["manifest"] = manifest
    return data


def load_checkpoint_zoo(dataset="digits", limit=None, slice=None, seed=0,
                        cache=True):
    """Loads the checkpoint zoo, optionally one data set / a slice.

    Args:
        dataset: str or `None`. Keep the checkpoints of this data set
            (`"digits"`, `"mnist1d"`); `None` keeps all.
        limit: int or `None`. Build/read only the first `limit`
            checkpoints of the zoo (fast: a 10-model zoo builds in
            seconds).
        slice: `slice` or `None`. Then keep `params[slice]`.
        seed: int. Zoo seed.
        cache: bool. Read/write the data cache.

    Returns:
        dict like `build_checkpoint_zoo`'s, filtered.

    Example:

    ```python
    data = load_checkpoint_zoo(limit=10)
    data["params"].shape  # (10, 2245)
    ```
    """
    data = build_checkpoint_zoo(seed=seed, limit=limit, cache=cache)
    keep = np.arange(len(data["params"]))
    if dataset is not None:
        keep = np.array([r["index"] for r in data["manifest"]
                         if r["dataset"] == dataset], "int64")
    if slice is not None:
        keep = keep[slice]
    return {"params": data["params"][keep],
            "classes": data["classes"][keep],
            "manifest": [data["manifest"][i] for i in keep]}
