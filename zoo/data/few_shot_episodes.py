"""Few-shot episodes: a synthetic Gaussian class world, zero-shot logits.

numpy only (the episode data of the UNEM family, `zoo.unem`). A *world*
fixes the class means once (from its seed) and splits its classes into
disjoint meta-train, meta-val and meta-test classes. An *episode batch*
holds `B` tasks in the "realistic" transductive setting of UNEM: the
support has every class of the split (`K` classes, `shots` samples each)
while the queries come from only `k_eff` of them (each query's class
drawn uniformly among the `k_eff`), so the query set is imbalanced and
most classes are absent from it.
"""

import numpy as np

from layers._checks import check_positive
from layers._checks import check_positive_int
from zoo._checks import check_positive_ints

SPLITS = ("train", "val", "test")


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(
            f"`split` must be one of {SPLITS}. Received: split={split!r}"
        )


class _NoisyClassWorld:
    """A world whose class `c` of a split is one row plus Gaussian noise.

    Subclasses set `noise` and define `_class_rows(split)`, the `(K, d)`
    array of the split's class rows (means, confusion rows).
    """

    def split_classes(self, split):
        """Number of classes `K` of a split.

        Args:
            split: str. `"train"`, `"val"` or `"test"`.

        Returns:
            int.
        """
        _check_split(split)
        return self._class_rows(split).shape[0]

    def sample(self, split, labels, rng):
        """Draws one sample per label: its class row plus Gaussian noise.

        Args:
            split: str. The split.
            labels: int array of class indices within the split.
            rng: `numpy.random.Generator`.

        Returns:
            float32 array `labels.shape + (d,)` (`d` the row size: the
            feature dimension, or `K` for logits).
        """
        _check_split(split)
        rows = self._class_rows(split)[labels]
        noise = rng.normal(size=rows.shape) * self.noise
        return (rows + noise).astype("float32")


class GaussianClassWorld(_NoisyClassWorld):
    """Gaussian classes with disjoint meta-train / meta-val / meta-test.

    Class `c` has mean `mu_c ~ N(0, I_dim)` and isotropic covariance
    `noise**2 I`. The default `noise=1.5` (with `dim=32`, 16 classes per
    evaluation split) gives a 1-shot nearest-centroid accuracy of about
    50% on meta-test tasks, as the reproduction notes suggest (measured
    by `tests/test_unem.py`).

    Args:
        num_classes: tuple of 3 ints. Classes of the meta-train, meta-val
            and meta-test splits. Defaults to `(16, 16, 16)`.
        dim: int. Feature dimension. Defaults to `32`.
        noise: float. Within-class standard deviation.
        seed: int. Seed of the class means.

    Example:

    ```python
    from zoo.data.few_shot_episodes import GaussianClassWorld
    world = GaussianClassWorld(seed=0)
    batch, query_labels = world.episodes("test", num_tasks=4, shots=5)
    batch["support"].shape  # (4, 80, 32): 16 classes x 5 shots
    ```
    """

    def __init__(self, num_classes=(16, 16, 16), dim=32, noise=1.5,
                 seed=0):
        num_classes = check_positive_ints(
            "num_classes", num_classes, 3,
            "must give the class counts of the 3 splits (train, val, test)")
        check_positive_int("dim", dim)
        check_positive("noise", noise)
        self.num_classes = num_classes
        self.dim = dim
        self.noise = float(noise)
        self.seed = seed
        rng = np.random.default_rng(seed)
        means = rng.normal(size=(sum(num_classes), dim))
        bounds = np.cumsum((0,) + num_classes)
        self.means = {
            split: means[bounds[i]: bounds[i + 1]].astype("float32")
            for i, split in enumerate(SPLITS)
        }

    def _class_rows(self, split):
        return self.means[split]

    def episodes(self, split, num_tasks, shots, num_query=75, k_eff=5,
                 seed=0):
        """A batch of few-shot tasks of one split.

        Args:
            split: str. `"train"`, `"val"` or `"test"`.
            num_tasks: int. `B`.
            shots: int. Support samples per class.
            num_query: int. Queries per task. Defaults to `75`.
            k_eff: int. Classes the queries are drawn from. Defaults
                to `5`.
            seed: int. Seed of the draw (same seed, same batch).

        Returns:
            `(batch, query_labels)`: `batch` a dict with `support`
            `(B, K*shots, dim)`, `support_labels` `(B, K*shots)` int32 and
            `query` `(B, num_query, dim)`; `query_labels` `(B,
            num_query)` int32.
        """
        return sample_episodes(self, split, num_tasks, shots, num_query,
                               k_eff, seed)


def _episode_labels(num_classes, num_tasks, shots, num_query, k_eff, rng):
    check_positive_int("num_tasks", num_tasks)
    check_positive_int("shots", shots)
    check_positive_int("num_query", num_query)
    check_positive_int("k_eff", k_eff)
    if k_eff > num_classes:
        raise ValueError(
            f"`k_eff` must be <= the {num_classes} classes of the split. "
            f"Received: k_eff={k_eff}"
        )
    support_labels = np.tile(np.repeat(np.arange(num_classes), shots),
                             (num_tasks, 1)).astype("int32")
    present = np.argsort(rng.random((num_tasks, num_classes)), axis=1)
    present = present[:, :k_eff]
    pick = rng.integers(0, k_eff, (num_tasks, num_query))
    query_labels = np.take_along_axis(present, pick, axis=1).astype("int32")
    return support_labels, query_labels


def sample_episodes(world, split, num_tasks, shots, num_query=75, k_eff=5,
                    seed=0):
    """A batch of realistic transductive few-shot tasks from a world.

    Every task's support holds all `K` classes of `split` (`shots` each,
    class-major order); its `num_query` queries are drawn from `k_eff`
    random classes, each query's class uniformly among them.

    Args:
        world: `GaussianClassWorld` (or any object with `split_classes`
            and `sample(split, labels, rng)`).
        split: str. `"train"`, `"val"` or `"test"`.
        num_tasks: int. Number of tasks `B`.
        shots: int. Support samples per class.
        num_query: int. Queries per task.
        k_eff: int. Classes present in the queries.
        seed: int. Seed.

    Returns:
        `(batch, query_labels)` as in `GaussianClassWorld.episodes`.

    Example:

    ```python
    from zoo.data.few_shot_episodes import sample_episodes
    batch, yq = sample_episodes(world, "val", 100, shots=1)
    ```
    """
    rng = np.random.default_rng(seed)
    k = world.split_classes(split)
    ys, yq = _episode_labels(k, num_tasks, shots, num_query, k_eff, rng)
    # One draw per task for support and queries together, so a world
    # that samples stored data without replacement never repeats a
    # sample inside a task.
    feats = world.sample(split, np.concatenate([ys, yq], axis=1), rng)
    ns = ys.shape[1]
    batch = {
        "support": feats[:, :ns],
        "support_labels": ys,
        "query": feats[:, ns:],
    }
    return batch, yq


class ZeroShotLogitsWorld(_NoisyClassWorld):
    """Synthetic zero-shot logits with class-dependent confusion.

    Mimics the image-text similarities of a zero-shot classifier: a
    sample of class `y` gets logits `l = A[y] + noise * eps`, where `A =
    strength * I + C` and `C` puts a confusion weight on a few random
    other classes of every class (so some class pairs are often mixed
    up, as similar class names are for CLIP). The features are the
    logits over the `K` classes of the split.

    Args:
        num_classes: tuple of 3 ints. Classes of the three splits.
            Defaults to `(10, 10, 10)`.
        strength: float. Diagonal of `A`. Defaults to `1.0`.
        confusion: float. Largest confusion weight. Defaults to `0.8`.
        num_confused: int. Confused classes per class. Defaults to `2`.
        noise: float. Logit noise std. Defaults to `0.6`.
        seed: int. Seed of `A`.

    Example:

    ```python
    from zoo.data import few_shot_episodes as episodes
    world = episodes.ZeroShotLogitsWorld(seed=0)
    batch, yq = episodes.sample_episodes(world, "test", 8, shots=4)
    batch["query"].shape  # (8, 75, 10): logits over the 10 test classes
    ```
    """

    def __init__(self, num_classes=(10, 10, 10), strength=1.0,
                 confusion=0.8, num_confused=2, noise=0.6, seed=0):
        num_classes = check_positive_ints(
            "num_classes", num_classes, 3,
            "must give the class counts of the 3 splits")
        self.num_classes = num_classes
        self.noise = float(noise)
        rng = np.random.default_rng(seed)
        self.confusion_matrices = {}
        for split, k in zip(SPLITS, num_classes):
            a = strength * np.eye(k)
            for c in range(k):
                others = rng.permutation([j for j in range(k) if j != c])
                for j in others[:num_confused]:
                    a[c, j] = rng.uniform(0.3, 1.0) * confusion
            self.confusion_matrices[split] = a.astype("float32")

    def _class_rows(self, split):
        return self.confusion_matrices[split]


class FeatureBankWorld:
    """Episodes from fixed feature vectors of real samples (e.g. digits).

    Args:
        features: dict `{split: (N, d) float array}`.
        labels: dict `{split: (N,) int array}` with classes `0..K-1`
            within each split.

    Example:

    ```python
    from zoo.data import few_shot_episodes as episodes
    world = episodes.FeatureBankWorld({"test": f}, {"test": y})
    batch, yq = episodes.sample_episodes(world, "test", 100, shots=5)
    ```
    """

    def __init__(self, features, labels):
        self.features = {k: np.asarray(v, "float32")
                         for k, v in features.items()}
        self.labels = {k: np.asarray(v, "int64") for k, v in labels.items()}
        self._index = {
            split: [np.flatnonzero(y == c) for c in range(int(y.max()) + 1)]
            for split, y in self.labels.items()
        }

    def split_classes(self, split):
        """Number of classes of a split.

        Args:
            split: str. A key of `features`.

        Returns:
            int.
        """
        if split not in self._index:
            raise ValueError(
                f"`split` must be one of {sorted(self._index)}. "
                f"Received: split={split!r}"
            )
        return len(self._index[split])

    def sample(self, split, labels, rng):
        """Draws stored samples; no sample twice in a row of `labels`.

        Args:
            split: str. A key of `features`.
            labels: `(B, N)` int array of class indices (one row per
                task).
            rng: `numpy.random.Generator`.

        Returns:
            float32 array `(B, N, d)`.
        """
        self.split_classes(split)
        labels = np.asarray(labels)
        if labels.ndim != 2:
            raise ValueError(
                "`labels` must have shape (num_tasks, num_samples). "
                f"Received: shape {labels.shape}"
            )
        rows = np.empty(labels.shape, dtype="int64")
        for t in range(labels.shape[0]):
            for c in np.unique(labels[t]):
                where = np.flatnonzero(labels[t] == c)
                pool = self._index[split][c]
                rows[t, where] = rng.choice(
                    pool, size=len(where), replace=len(where) > len(pool)
                )
        return self.features[split][rows]
