"""Tests of `zoo.data` (pure numpy; no keras backend needed).

Statistical thresholds were checked numerically with this code (numpy
2.4.6, 2-core CPU); the observed values are given next to each assert.
"""

import ast
import functools
import inspect
import os
import pathlib
import random
import warnings

import numpy as np
import pytest

import zoo.data
from zoo.data import DIGITS_CLASS_NAMES
from zoo.data import KSIntegrator
from zoo.data import cached_array
from zoo.data import digits_permutation
from zoo.data import digits_split_indices
from zoo.data import dynamics as dynamics_module
from zoo.data import ks_energy_spectrum
from zoo.data import kuramoto_sivashinsky
from zoo.data import load_digits
from zoo.data import load_mnist1d
from zoo.data import lorenz96
from zoo.data import lorenz96_step
from zoo.data import lyapunov_exponent
from zoo.data import mnist1d_permutation
from zoo.data import two_scale_lorenz96

DATA_DIR = pathlib.Path(zoo.data.__file__).parent


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory):
    """Never touch the user's cache: one temporary cache per session."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("hyperzoo-data-cache")
        mp.setenv("HYPERZOO_DATA_CACHE", str(path))
        yield path


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache directory for one test."""
    path = tmp_path / "cache"
    monkeypatch.setenv("HYPERZOO_DATA_CACHE", str(path))
    return path


# ---------------------------------------------------------------------------
# Module hygiene
# ---------------------------------------------------------------------------


def test_no_backend_imports():
    forbidden = {"keras", "tensorflow", "jax", "torch", "tf_keras"}
    for path in sorted(DATA_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, (path, name)


def test_public_docstrings():
    for name in zoo.data.__all__:
        obj = getattr(zoo.data, name)
        if not callable(obj):
            continue
        doc = inspect.getdoc(obj)
        assert doc, name
        for section in ("Example:", "Reference:", "```python"):
            assert section in doc, (name, section)
        if inspect.signature(obj).parameters:
            assert "Args:" in doc, name
        if inspect.isfunction(obj):
            assert "Returns:" in doc, name


# ---------------------------------------------------------------------------
# Digits
# ---------------------------------------------------------------------------

SPLIT_SIZES = {"train": 1077, "val": 180, "test": 540, "trainval": 1257}


def test_digits_split_sizes_and_dtypes():
    for split, size in {**SPLIT_SIZES, "all": 1797}.items():
        x, y = load_digits(split)
        assert x.shape == (size, 64)
        assert y.shape == (size,)
        assert x.dtype == np.float32
        assert y.dtype == np.int32
        assert set(np.unique(y)) == set(range(10)), split
        assert x.min() >= 0.0 and x.max() <= 1.0
        assert x.max() == 1.0


def test_digits_split_bookkeeping():
    from sklearn.datasets import load_digits as sklearn_load_digits

    x_all, y_all = load_digits("all", normalize=False)
    raw = sklearn_load_digits()
    np.testing.assert_array_equal(x_all, raw.data)
    np.testing.assert_array_equal(y_all, raw.target)
    index = {s: digits_split_indices(s) for s in SPLIT_SIZES}
    train, val, test = (
        set(index[s].tolist()) for s in ("train", "val", "test")
    )
    assert len(train) == 1077 and len(val) == 180 and len(test) == 540
    assert not train & val and not train & test and not val & test
    assert train | val | test == set(range(1797))
    assert set(index["trainval"].tolist()) == train | val
    for split, idx in index.items():
        x, y = load_digits(split, normalize=False)
        np.testing.assert_array_equal(x, x_all[idx])
        np.testing.assert_array_equal(y, y_all[idx])


def test_digits_matches_anchor_protocol():
    from sklearn.datasets import load_digits as sklearn_load_digits
    from sklearn.model_selection import train_test_split

    raw = sklearn_load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(
        raw.data,
        raw.target,
        test_size=540,
        stratify=raw.target,
        random_state=0,
    )
    x_trainval, y_trainval = load_digits("trainval")
    x_test, y_test = load_digits("test")
    np.testing.assert_array_equal(x_trainval, (x_tr / 16).astype("float32"))
    np.testing.assert_array_equal(y_trainval, y_tr)
    np.testing.assert_array_equal(x_test, (x_te / 16).astype("float32"))
    np.testing.assert_array_equal(y_test, y_te)


def test_digits_layouts():
    flat, y = load_digits("val")
    image, y_image = load_digits("val", layout="image")
    sequence, _ = load_digits("val", layout="sequence")
    assert image.shape == (180, 8, 8, 1) and image.dtype == np.float32
    assert sequence.shape == (180, 64, 1) and sequence.dtype == np.float32
    np.testing.assert_array_equal(y, y_image)
    # Row-major: pixel (r, c) is flat position 8 r + c.
    np.testing.assert_array_equal(image[:, 2, 5, 0], flat[:, 2 * 8 + 5])
    np.testing.assert_array_equal(sequence[:, :, 0], flat)
    raw, _ = load_digits("val", normalize=False)
    assert raw.max() == 16.0
    np.testing.assert_array_equal(raw / 16.0, flat)


def test_digits_deterministic_and_fresh():
    x1, y1 = load_digits("train", layout="image", permuted=True)
    x1[...] = -1.0
    y1[...] = -1
    x2, y2 = load_digits("train", layout="image", permuted=True)
    x3, y3 = load_digits("train", layout="image", permuted=True)
    assert x2.min() >= 0.0 and y2.min() >= 0
    np.testing.assert_array_equal(x2, x3)
    np.testing.assert_array_equal(y2, y3)


def test_digits_permuted():
    perm = digits_permutation()
    np.testing.assert_array_equal(
        perm, np.random.RandomState(42).permutation(64)
    )
    assert sorted(perm.tolist()) == list(range(64))
    assert not np.array_equal(perm, np.arange(64))
    x, y = load_digits("test")
    xp, yp = load_digits("test", permuted=True)
    np.testing.assert_array_equal(y, yp)
    np.testing.assert_array_equal(xp, x[:, perm])
    np.testing.assert_array_equal(np.sort(xp, axis=1), np.sort(x, axis=1))
    assert not np.array_equal(xp, x)
    image, _ = load_digits("test", layout="image", permuted=True)
    np.testing.assert_array_equal(image.reshape(-1, 64), xp)


def test_digits_class_names():
    assert DIGITS_CLASS_NAMES == tuple(str(i) for i in range(10))


def test_digits_bad_arguments():
    with pytest.raises(ValueError, match=r"`split`.*Received: split='foo'"):
        load_digits("foo")
    with pytest.raises(ValueError, match=r"`layout`.*layout='nchw'"):
        load_digits(layout="nchw")
    with pytest.raises(ValueError, match="`permuted`"):
        load_digits(permuted="yes")
    with pytest.raises(ValueError, match="`split`"):
        digits_split_indices("validation")


# ---------------------------------------------------------------------------
# MNIST-1D
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist1d_splits():
    return {s: load_mnist1d(s) for s in ("train", "val", "test", "trainval")}


def test_mnist1d_shapes(mnist1d_splits):
    sizes = {"train": 3500, "val": 500, "test": 1000, "trainval": 4000}
    for split, (x, y) in mnist1d_splits.items():
        assert x.shape == (sizes[split], 40)
        assert y.shape == (sizes[split],)
        assert x.dtype == np.float32 and y.dtype == np.int32
        assert set(np.unique(y)) == set(range(10))
        assert np.isfinite(x).all()


def test_mnist1d_matches_package(mnist1d_splits):
    from mnist1d.data import get_dataset_args
    from mnist1d.data import make_dataset

    state = np.random.get_state()
    python_state = random.getstate()
    data = make_dataset(get_dataset_args())
    np.random.set_state(state)
    random.setstate(python_state)
    x, y = data["x"].astype("float32"), data["y"]
    np.testing.assert_array_equal(mnist1d_splits["trainval"][0], x)
    np.testing.assert_array_equal(mnist1d_splits["train"][0], x[:3500])
    np.testing.assert_array_equal(mnist1d_splits["train"][1], y[:3500])
    np.testing.assert_array_equal(mnist1d_splits["val"][0], x[3500:])
    np.testing.assert_array_equal(mnist1d_splits["val"][1], y[3500:])
    np.testing.assert_array_equal(
        mnist1d_splits["test"][0], data["x_test"].astype("float32")
    )
    np.testing.assert_array_equal(mnist1d_splits["test"][1], data["y_test"])


def test_mnist1d_deterministic_and_no_rng_side_effects(mnist1d_splits):
    np.random.seed(123)
    random.seed(123)
    expected_numpy = np.random.rand()
    expected_python = random.random()
    np.random.seed(123)
    random.seed(123)
    x, y = load_mnist1d("val", cache=False)
    assert np.random.rand() == expected_numpy
    assert random.random() == expected_python
    np.testing.assert_array_equal(x, mnist1d_splits["val"][0])
    np.testing.assert_array_equal(y, mnist1d_splits["val"][1])


def test_mnist1d_shuffled(mnist1d_splits):
    perm = mnist1d_permutation()
    state = np.random.get_state()
    np.random.seed(42)
    notebook_perm = np.random.permutation(40)
    np.random.set_state(state)
    np.testing.assert_array_equal(perm, notebook_perm)
    x, y = mnist1d_splits["test"]
    xs, ys = load_mnist1d("test", shuffled=True)
    np.testing.assert_array_equal(ys, y)
    np.testing.assert_array_equal(xs, x[:, perm])
    np.testing.assert_array_equal(np.sort(xs, axis=1), np.sort(x, axis=1))
    assert not np.array_equal(xs, x)


def test_mnist1d_bad_arguments():
    with pytest.raises(ValueError, match=r"`split`.*Received: split='all'"):
        load_mnist1d("all")
    with pytest.raises(ValueError, match="`seed`"):
        load_mnist1d(seed=-1)
    with pytest.raises(ValueError, match="`shuffled`"):
        load_mnist1d(shuffled=1)


# ---------------------------------------------------------------------------
# Lorenz 96
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lorenz96_f8():
    # 20000 steps: about 1 s.
    return lorenz96(num_steps=20000, forcing=8.0, cache=False)


def test_lorenz96_statistics(lorenz96_f8):
    x = lorenz96_f8
    assert x.shape == (20000, 40) and x.dtype == np.float32
    assert np.isfinite(x).all()
    # Observed (seeds 100, 1, 2, 3): mean 2.317-2.345, std 3.629-3.641.
    assert abs(x.mean() - 2.34) < 0.15
    assert abs(x.std() - 3.64) < 0.2


def test_lorenz96_deterministic_and_consistent(lorenz96_f8):
    x = lorenz96(num_steps=300, cache=False)
    np.testing.assert_array_equal(x, lorenz96_f8[:300])
    # Row i + 1 is one RK4 step after row i (float32 storage).
    nxt = lorenz96_step(x[:-1].astype("float64"), 8.0, 0.01)
    np.testing.assert_allclose(nxt, x[1:], atol=1e-4)
    y = lorenz96(num_steps=300, seed=101, cache=False)
    assert not np.allclose(x, y)


def test_lorenz96_lyapunov(lorenz96_f8):
    # 10000 steps: about 1 s. Observed 1.64-1.71 over 3 initial
    # conditions and 2 perturbation seeds (reference 1.66; literature 1.68).
    step = functools.partial(lorenz96_step, forcing=8.0, dt=0.01)
    lam = lyapunov_exponent(step, lorenz96_f8[0], dt=0.01, num_steps=10000)
    assert 1.4 <= lam <= 1.9


def test_lorenz96_bad_arguments_and_blow_up():
    with pytest.raises(ValueError, match=r"`num_steps`.*num_steps=0"):
        lorenz96(num_steps=0)
    with pytest.raises(ValueError, match=r"`dt`.*dt=0"):
        lorenz96(dt=0.0)
    with pytest.raises(ValueError, match=r"`dt`"):
        lorenz96(dt=-0.01)
    with pytest.raises(ValueError, match=r"`num_dims`.*num_dims=3"):
        lorenz96(num_dims=3)
    with pytest.raises(ValueError, match=r"`transient_steps`"):
        lorenz96(transient_steps=-1)
    with pytest.raises(ValueError, match=r"`seed`"):
        lorenz96(seed=None)
    with pytest.raises(ValueError, match=r"`num_steps`"):
        lorenz96(num_steps=100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointError, match="dt=1.0"):
            lorenz96(num_steps=100, dt=1.0, transient_steps=0, cache=False)


def test_lyapunov_bad_arguments():
    step = functools.partial(lorenz96_step, forcing=8.0, dt=0.01)
    x0 = np.full(8, 8.0)
    with pytest.raises(ValueError, match="`num_steps`"):
        lyapunov_exponent(step, x0, dt=0.01, num_steps=0)
    with pytest.raises(ValueError, match="`d0`"):
        lyapunov_exponent(step, x0, dt=0.01, num_steps=10, d0=0.0)
    with pytest.raises(ValueError, match="`step_fn`"):
        lyapunov_exponent(None, x0, dt=0.01, num_steps=10)
    with pytest.raises(FloatingPointError, match="collapsed"):
        lyapunov_exponent(lambda s: 0.0 * s, x0, dt=0.01, num_steps=10)


# ---------------------------------------------------------------------------
# Two-scale Lorenz 96
# ---------------------------------------------------------------------------


def test_two_scale_lorenz96_statistics():
    # 2000 samples (20 time units at dt=0.005, sample_every=2): about 1 s.
    # Observed for seeds 0, 1, 2 with 1000-5000 samples: X std 4.95-5.15,
    # X mean 3.36-4.02, Y std 0.29-0.32 (reference: X std 5.1, Y 0.3).
    x, y = two_scale_lorenz96(num_steps=2000, return_fast=True, cache=False)
    assert x.shape == (2000, 8) and y.shape == (2000, 256)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert np.isfinite(x).all() and np.isfinite(y).all()
    assert 4.5 < x.std() < 5.7
    assert 2.5 < x.mean() < 5.0
    assert 0.2 < y.std() < 0.45


def test_two_scale_lorenz96_options():
    kwargs = dict(num_steps=20, transient_time=0.5, cache=False)
    x = two_scale_lorenz96(**kwargs)
    x2, y = two_scale_lorenz96(return_fast=True, **kwargs)
    np.testing.assert_array_equal(x, x2)
    assert x.shape == (20, 8) and y.shape == (20, 256)
    small = two_scale_lorenz96(num_slow=4, num_fast_per_slow=3, **kwargs)
    assert small.shape == (20, 4)
    with pytest.raises(ValueError, match="`sample_every`"):
        two_scale_lorenz96(sample_every=0)
    with pytest.raises(ValueError, match="`transient_time`"):
        two_scale_lorenz96(transient_time=-1.0)
    with pytest.raises(ValueError, match="`dt`"):
        two_scale_lorenz96(dt=0)


# ---------------------------------------------------------------------------
# Kuramoto-Sivashinsky
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ks_l22():
    # 4000 steps (1000 time units) after 1000 transient steps: about 0.4 s.
    return kuramoto_sivashinsky(num_steps=4000, cache=False)


def test_ks_statistics(ks_l22):
    u = ks_l22
    assert u.shape == (4000, 64) and u.dtype == np.float32
    assert np.isfinite(u).all()
    # Observed for seeds 0, 1, 2: std 1.186-1.208, max |u| 3.08-3.09
    # (reference std 1.19, range +-3.1); the mean stays 0 (conserved).
    assert abs(u.std() - 1.19) < 0.06
    assert abs(u.mean()) < 1e-6
    assert 2.5 < np.abs(u).max() < 3.6


def test_ks_spectrum(ks_l22):
    k, energy = ks_energy_spectrum(ks_l22, length=22.0)
    assert k.shape == energy.shape == (32,)
    np.testing.assert_allclose(k, 2 * np.pi * np.arange(1, 33) / 22.0)
    # Observed: peak at n = 2, k = 0.571 for seeds 0, 1, 2.
    assert 0.5 <= k[np.argmax(energy)] <= 0.9
    # Normalisation: a cos(k_n x) has |u_hat_n|^2 = a^2 / 4.
    x = np.arange(64) * 22.0 / 64
    _, e = ks_energy_spectrum(3.0 * np.cos(2 * np.pi * 5 * x / 22.0))
    np.testing.assert_allclose(e[4], 9.0 / 4.0)
    assert np.allclose(np.delete(e, 4), 0.0, atol=1e-20)


def test_ks_integrator_consistent(ks_l22):
    integrator = KSIntegrator(22.0, 64, 0.25)
    u = ks_l22[:50].astype("float64")
    np.testing.assert_allclose(integrator.step(u[:-1]), u[1:], atol=1e-4)
    np.testing.assert_array_equal(
        kuramoto_sivashinsky(num_steps=50, cache=False), ks_l22[:50]
    )


def test_ks_lyapunov(ks_l22):
    # 10000 steps (2500 time units): about 2 s. Observed 0.045-0.054 over
    # 6 initial conditions, 0.0485 for this one (reference 0.047,
    # literature 0.043-0.048).
    integrator = KSIntegrator(22.0, 64, 0.25)
    lam = lyapunov_exponent(
        integrator.step, ks_l22[0], dt=0.25, num_steps=10000
    )
    assert 0.035 <= lam <= 0.06


def test_ks_bad_arguments():
    with pytest.raises(ValueError, match=r"`num_points`.*num_points=0"):
        kuramoto_sivashinsky(num_points=0)
    with pytest.raises(ValueError, match=r"`length`"):
        kuramoto_sivashinsky(length=-22.0)
    with pytest.raises(ValueError, match=r"`dt`"):
        KSIntegrator(22.0, 64, 0.0)
    with pytest.raises(ValueError, match=r"`u`"):
        KSIntegrator(22.0, 64, 0.25).step(np.zeros(32))
    with pytest.raises(ValueError, match=r"`u`"):
        ks_energy_spectrum(np.zeros((3, 1)))


# ---------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------


def _npz_files(path):
    return sorted(p.name for p in path.glob("*")) if path.exists() else []


def test_cached_array_roundtrip_and_hit(fresh_cache):
    calls = []

    def make():
        calls.append(1)
        return np.arange(5.0), np.array([1, 2], dtype=np.int32)

    first = cached_array("demo", {"b": 1, "a": 2.0}, make)
    second = cached_array("demo", {"a": 2.0, "b": 1}, make)
    assert len(calls) == 1
    assert isinstance(second, tuple) and len(second) == 2
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    files = _npz_files(fresh_cache)
    assert len(files) == 1 and files[0].startswith("demo-")
    assert files[0].endswith(".npz")
    cached_array("demo", {"a": 3.0, "b": 1}, make)
    assert len(calls) == 2
    assert len(_npz_files(fresh_cache)) == 2


def test_cached_array_bad_arguments(fresh_cache):
    with pytest.raises(ValueError, match="`name`"):
        cached_array("../evil", {}, lambda: np.zeros(1))
    with pytest.raises(ValueError, match="`params_dict`"):
        cached_array("demo", {"x": object()}, lambda: np.zeros(1))
    with pytest.raises(ValueError, match="`fn`"):
        cached_array("demo", {}, lambda: "not an array")


def test_generator_second_call_reads_cache(fresh_cache, monkeypatch):
    x1 = lorenz96(num_steps=50, transient_steps=10)
    files = _npz_files(fresh_cache)
    assert len(files) == 1 and files[0].startswith("lorenz96-")

    def fail(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(dynamics_module, "_integrate", fail)
    x2 = lorenz96(num_steps=50, transient_steps=10)
    np.testing.assert_array_equal(x1, x2)
    assert x2.dtype == np.float32
    with pytest.raises(AssertionError, match="cache was not used"):
        lorenz96(num_steps=50, transient_steps=10, cache=False)


def test_corrupt_cache_is_regenerated(fresh_cache):
    x1 = kuramoto_sivashinsky(num_steps=20, transient_steps=5)
    (path,) = fresh_cache.glob("kuramoto_sivashinsky-*.npz")
    path.write_bytes(b"this is not an npz file")
    x2 = kuramoto_sivashinsky(num_steps=20, transient_steps=5)
    np.testing.assert_array_equal(x1, x2)
    with np.load(path) as data:  # rewritten, valid again
        assert len(data.files) == 2
    path.write_bytes(b"")
    x3 = kuramoto_sivashinsky(num_steps=20, transient_steps=5)
    np.testing.assert_array_equal(x1, x3)
    assert _npz_files(fresh_cache) == [path.name]  # no temporary files


def test_cache_false_writes_nothing(fresh_cache):
    lorenz96(num_steps=20, transient_steps=0, cache=False)
    two_scale_lorenz96(num_steps=5, transient_time=0.1, cache=False)
    kuramoto_sivashinsky(num_steps=5, transient_steps=0, cache=False)
    assert _npz_files(fresh_cache) == []


def test_cache_dir_default(monkeypatch):
    monkeypatch.delenv("HYPERZOO_DATA_CACHE", raising=False)
    expected = os.path.join(
        os.path.expanduser("~"), ".cache", "hyperzoo", "data"
    )
    assert zoo.data.data_cache_dir() == expected
