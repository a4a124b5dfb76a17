"""`zoo.energy`: readers on fake hardware, the callback inside `fit`.

No real counter is read: RAPL is a temporary sysfs tree, NVML a stub
`pynvml` module, clocks are injected. Only the codecarbon test runs the
real (offline) estimator.
"""

import csv
import math
import os
import pickle
import sys
import types

import keras
import numpy as np
import pytest

from zoo import energy

# ---------------------------------------------------------------- RAPL


def _zone(root, entry, name, energy_uj, max_uj=1_000_000_000):
    path = root / entry
    path.mkdir(parents=True, exist_ok=True)
    (path / "name").write_text(name + "\n")
    (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")


def _set(root, entry, energy_uj):
    (root / entry / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def rapl_tree(tmp_path):
    root = tmp_path / "powercap"
    _zone(root, "intel-rapl:0", "package-0", 999_000_000)
    _zone(root, "intel-rapl:0:0", "core", 5_000_000)
    _zone(root, "intel-rapl:0:1", "dram", 10_000_000)
    _zone(root, "intel-rapl:1", "psys", 7_000_000)
    _zone(root, "intel-rapl-mmio:0", "package-0", 3_000_000)
    return root


def test_rapl_wraparound_exact_joules(rapl_tree):
    reader = energy.RaplReader(root=str(rapl_tree), sample_secs=None)
    assert reader.open(), reader.reason
    assert reader.zones == ["intel-rapl:0", "intel-rapl:0:1"]
    assert reader.source == "measured:rapl"
    reader.begin()
    _set(rapl_tree, "intel-rapl:0", 999_500_000)  # +0.5 J.
    reader.poll()
    _set(rapl_tree, "intel-rapl:0", 250_000)  # Wrapped: +0.75 J.
    _set(rapl_tree, "intel-rapl:0:1", 13_000_000)  # DRAM: +3 J.
    # Not counted: core (inside the package), psys, the mmio duplicate.
    _set(rapl_tree, "intel-rapl:0:0", 900_000_000)
    _set(rapl_tree, "intel-rapl:1", 900_000_000)
    _set(rapl_tree, "intel-rapl-mmio:0", 900_000_000)
    assert reader.end() == 4.25
    # A new window starts from the current counters.
    reader.begin()
    _set(rapl_tree, "intel-rapl:0", 1_250_000)
    assert reader.end() == 1.0
    reader.close()


def test_rapl_without_dram(rapl_tree):
    reader = energy.RaplReader(root=str(rapl_tree), include_dram=False,
                               sample_secs=None)
    assert reader.open()
    reader.begin()
    _set(rapl_tree, "intel-rapl:0", 999_000_001)
    _set(rapl_tree, "intel-rapl:0:1", 13_000_000)
    assert reader.end() == 1e-6


def test_rapl_poll_thread(rapl_tree):
    reader = energy.RaplReader(root=str(rapl_tree), sample_secs=0.01)
    assert reader.open()
    reader.begin()
    _set(rapl_tree, "intel-rapl:0", 999_000_002)
    assert reader.end() == 2e-6
    reader.close()


def test_rapl_absent_or_unreadable(tmp_path, rapl_tree):
    missing = energy.RaplReader(root=str(tmp_path / "nothing"))
    assert not missing.open()
    assert "no powercap tree" in missing.reason
    assert math.isnan(missing.end())

    psys_only = tmp_path / "psys"
    _zone(psys_only, "intel-rapl:0", "psys", 1)
    assert not energy.RaplReader(root=str(psys_only)).open()

    # `energy_uj` a directory: unreadable (as without root since
    # CVE-2020-8694; chmod would not stop a root test runner).
    (rapl_tree / "intel-rapl:0" / "energy_uj").unlink()
    (rapl_tree / "intel-rapl:0" / "energy_uj").mkdir()
    reader = energy.RaplReader(root=str(rapl_tree))
    assert not reader.open()
    assert "unreadable" in reader.reason


# ---------------------------------------------------------------- NVML


class _NVMLError(Exception):
    pass


def _stub_nvml(energy_mj=None, power_mw=None, fail_init=False):
    """A `pynvml` stand-in; mutate the returned dicts to move time."""
    nvml = types.ModuleType("pynvml")
    nvml.NVMLError = _NVMLError
    state = {"energy": energy_mj, "power": power_mw, "shutdown": 0}

    def init():
        if fail_init:
            raise _NVMLError("Driver Not Loaded")

    def count():
        return len(state["energy"] or state["power"])

    def total_energy(handle):
        if state["energy"] is None:
            raise _NVMLError("Not Supported")
        return state["energy"][handle]

    def power(handle):
        if state["power"] is None:
            raise _NVMLError("Not Supported")
        return state["power"][handle]

    def shutdown():
        state["shutdown"] += 1

    nvml.nvmlInit = init
    nvml.nvmlShutdown = shutdown
    nvml.nvmlDeviceGetCount = count
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i
    nvml.nvmlDeviceGetTotalEnergyConsumption = total_energy
    nvml.nvmlDeviceGetPowerUsage = power
    nvml.nvmlDeviceGetName = lambda i: b"Stub GPU %d" % i
    return nvml, state


def test_nvml_energy_counter(monkeypatch):
    nvml, state = _stub_nvml(energy_mj={0: 1_000_000, 1: 2_000_000})
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    reader = energy.NvmlReader(sample_secs=None)
    assert reader.open(), reader.reason
    assert reader.mode == "counter"
    assert reader.device_names() == ["Stub GPU 0", "Stub GPU 1"]
    reader.begin()
    state["energy"][0] += 12_500  # 12.5 J.
    state["energy"][1] += 1_000
    assert reader.end() == 13.5
    reader.close()
    assert state["shutdown"] == 1


def test_nvml_device_indices(monkeypatch):
    nvml, state = _stub_nvml(energy_mj={0: 0, 1: 0})
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    reader = energy.NvmlReader(device_indices=[1], sample_secs=None)
    assert reader.open()
    reader.begin()
    state["energy"][0] += 5_000
    state["energy"][1] += 2_000
    assert reader.end() == 2.0


def test_nvml_power_sampling_trapezoid(monkeypatch):
    nvml, state = _stub_nvml(power_mw={0: 60_000, 1: 40_000})
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    now = [0.0]
    reader = energy.NvmlReader(sample_secs=None, clock=lambda: now[0])
    assert reader.open(), reader.reason
    assert reader.mode == "power"
    reader.begin()  # t=0: 100 W.
    now[0], state["power"][0] = 1.0, 160_000
    reader.sample()  # t=1: 200 W.
    now[0] = 3.0
    reader.sample()  # t=3: 200 W.
    now[0], state["power"][0] = 4.0, 60_000
    # t=4: 100 W. 150 + 400 + 150 J.
    assert reader.end() == 700.0
    reader.close()


def test_nvml_power_thread(monkeypatch):
    nvml, _ = _stub_nvml(power_mw={0: 1_000})
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    now = [0.0]
    reader = energy.NvmlReader(sample_secs=0.01, clock=lambda: now[0],
                               mode="power")
    assert reader.open()
    reader.begin()
    now[0] = 2.0
    assert reader.end() == 2.0  # 1 W over 2 s, whatever the thread saw.
    reader.close()


def test_nvml_absent(monkeypatch):
    nvml, _ = _stub_nvml(energy_mj={0: 0}, fail_init=True)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    reader = energy.NvmlReader()
    assert not reader.open()
    assert "nvmlInit failed" in reader.reason
    assert math.isnan(reader.end())

    monkeypatch.setitem(sys.modules, "pynvml", None)  # Not installed.
    reader = energy.NvmlReader()
    assert not reader.open()
    assert "not installed" in reader.reason

    nvml, _ = _stub_nvml(energy_mj={})  # No GPU.
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert not energy.NvmlReader().open()


def test_trapezoid_energy():
    assert energy.trapezoid_energy([]) == 0.0
    assert energy.trapezoid_energy([(0.0, 5.0)]) == 0.0
    assert energy.trapezoid_energy([(0.0, 100.0), (2.0, 200.0)]) == 300.0


# ------------------------------------------------------------ callback


class _FakeReader(energy.EnergyReader):
    name = "fake"
    kind = "measured"

    def __init__(self, joules, name="fake"):
        super().__init__()
        self.joules = list(joules)
        self.name = name
        self.calls = []

    def open(self):
        self.available = True
        return True

    def begin(self):
        self.calls.append("begin")

    def end(self):
        self.calls.append("end")
        return self.joules.pop(0)

    def close(self):
        self.calls.append("close")
        self.available = False


def _tick_clock(step):
    now = [0.0]

    def clock():
        now[0] += step
        return now[0]

    return clock


def test_tracker_in_fit_writes_csv_log(tmp_path):
    x = np.random.RandomState(0).rand(16, 3).astype("float32")
    y = np.zeros((16, 1), "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    gpu = _FakeReader([100.0, 40.0], name="gpu")
    cpu = _FakeReader([20.0, 5.0], name="cpu")
    tracker = energy.EnergyTracker(readers=[gpu, cpu], carbon_intensity=0.5,
                                   clock=_tick_clock(2.0))
    path = str(tmp_path / "log.csv")
    # Tracker first: the CSVLogger sees the keys it added. verbose=1
    # checks that Keras's progress bar accepts the `energy_source` value.
    history = model.fit(
        x, y, epochs=2, batch_size=8, verbose=1,
        callbacks=[tracker, keras.callbacks.CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    for key in energy.ENERGY_KEYS:
        assert key in rows[0]
    assert [float(r["energy_j"]) for r in rows] == [120.0, 45.0]
    assert [float(r["power_w"]) for r in rows] == [60.0, 22.5]
    np.testing.assert_allclose(
        [float(r["co2eq_g"]) for r in rows],
        [120.0 / 3.6e6 * 0.5 * 1e3, 45.0 / 3.6e6 * 0.5 * 1e3], rtol=1e-12)
    assert {r["energy_source"] for r in rows} == {
        "measured:gpu+measured:cpu"}
    assert history.history["energy_j"] == [120.0, 45.0]
    assert gpu.calls == ["begin", "end", "begin", "end", "close"]
    assert [r["epoch"] for r in tracker.records] == [0, 1]


def test_train_options_energy_in_fit_resumable(tmp_path, monkeypatch):
    # `TrainOptions(energy=True)` puts the tracker before the CSVLogger
    # of `fit_resumable`; resuming appends rows with the same columns.
    from zoo import training

    if not hasattr(training, "training_options"):
        pytest.skip("zoo.training has no TrainOptions yet")
    reader = _FakeReader([3.0, 4.0, 5.0])  # Re-opened by the second fit.

    class Tracker(energy.EnergyTracker):
        def __init__(self):
            super().__init__(readers=[reader],
                             clock=_tick_clock(0.5))

    monkeypatch.setattr(energy, "EnergyTracker", Tracker)
    x = np.zeros((8, 2), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    run = str(tmp_path / "run")
    with training.training_options(training.TrainOptions(energy=True)):
        training.fit_resumable(model, x, x[:, :1], epochs=2, out_dir=run,
                               batch_size=4, verbose=0)
        training.fit_resumable(model, x, x[:, :1], epochs=3, out_dir=run,
                               batch_size=4, verbose=0)
    rows = training.read_log(os.path.join(run, "log.csv"))
    assert [float(r["energy_j"]) for r in rows] == [3.0, 4.0, 5.0]
    assert [float(r["power_w"]) for r in rows] == [6.0, 8.0, 10.0]
    assert {r["energy_source"] for r in rows} == {"measured:fake"}


def test_tracker_after_logger_misses_keys(tmp_path):
    # The reason for the order: a CSVLogger before the tracker writes
    # its header before the keys exist.
    x = np.zeros((4, 2), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "log.csv")
    tracker = energy.EnergyTracker(readers=[_FakeReader([1.0])])
    model.fit(x, x[:, :1], epochs=1, verbose=0,
              callbacks=[keras.callbacks.CSVLogger(path), tracker])
    with open(path, newline="") as f:
        assert "energy_j" not in next(csv.DictReader(f))


def test_tracker_auto_choice(monkeypatch, tmp_path):
    nvml, state = _stub_nvml(energy_mj={0: 0})
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    rapl_root = tmp_path / "powercap"
    _zone(rapl_root, "intel-rapl:0", "package-0", 0)
    rapl_cls = energy.RaplReader
    monkeypatch.setattr(
        energy, "RaplReader",
        lambda: rapl_cls(root=str(rapl_root), sample_secs=None))
    tracker = energy.EnergyTracker(clock=_tick_clock(1.0))
    tracker.on_train_begin()
    assert tracker.source == "measured:nvml+measured:rapl"
    tracker.on_epoch_begin(0)
    state["energy"][0] += 3_000
    _set(rapl_root, "intel-rapl:0", 2_000_000)
    logs = {}
    tracker.on_epoch_end(0, logs)
    assert logs["energy_j"] == 5.0 and logs["power_w"] == 5.0
    assert logs["energy_source"] == "measured:nvml+measured:rapl"
    tracker.on_train_end()

    # No measured reader: codecarbon's estimate (a fake one here).
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setattr(
        energy, "RaplReader",
        lambda: rapl_cls(root=str(tmp_path / "none"), sample_secs=None))
    fake = _FakeReader([7.0], name="codecarbon")
    fake.kind = "estimated"
    monkeypatch.setattr(energy, "CodecarbonEstimator", lambda: fake)
    tracker = energy.EnergyTracker(clock=_tick_clock(1.0))
    tracker.on_train_begin()
    assert tracker.source == "estimated:codecarbon"

    # Nothing at all: NaN, source "none".
    monkeypatch.setattr(energy, "CodecarbonEstimator",
                        lambda: energy.EnergyReader())
    tracker = energy.EnergyTracker(clock=_tick_clock(1.0))
    tracker.on_train_begin()
    tracker.on_epoch_begin(0)
    logs = {}
    tracker.on_epoch_end(0, logs)
    assert math.isnan(logs["energy_j"]) and math.isnan(logs["co2eq_g"])
    assert logs["energy_source"] == "none"


def test_tracker_named_readers(monkeypatch):
    nvml, state = _stub_nvml(energy_mj={0: 0})
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    tracker = energy.EnergyTracker(readers="nvml", carbon_intensity=0.0,
                                   clock=_tick_clock(1.0))
    tracker.on_train_begin()
    tracker.on_epoch_begin(0)
    state["energy"][0] += 1_000
    logs = {}
    tracker.on_epoch_end(0, logs)
    assert logs["energy_j"] == 1.0 and logs["co2eq_g"] == 0.0
    tracker.on_train_end()


def test_tracker_survives_failing_reader():
    class Broken(_FakeReader):
        def end(self):
            raise RuntimeError("GPU is lost")

    tracker = energy.EnergyTracker(
        readers=[Broken([]), _FakeReader([2.0])], clock=_tick_clock(1.0))
    tracker.on_train_begin()
    tracker.on_epoch_begin(0)
    logs = {}
    with pytest.warns(RuntimeWarning, match="GPU is lost"):
        tracker.on_epoch_end(0, logs)
    assert math.isnan(logs["energy_j"])
    tracker.on_train_end()


def test_energy_source_label():
    source = energy.EnergySource("measured:nvml")
    assert source == "measured:nvml" and source != "measured:rapl"
    assert str(source) == "measured:nvml" and f"{source:.4f}" == str(source)
    assert isinstance(source, float) and math.isnan(float(source))
    assert pickle.loads(pickle.dumps(source)) == "measured:nvml"
    assert source / 3 is source and 3 * source is source


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"carbon_intensity": -0.1}, "carbon_intensity"),
        ({"carbon_intensity": float("nan")}, "carbon_intensity"),
        ({"carbon_intensity": True}, "carbon_intensity"),
        ({"carbon_intensity": "0.4"}, "carbon_intensity"),
        ({"pue": 0.9}, "pue"),
        ({"readers": ["nvml", "wattmeter"]}, "Unknown reader 'wattmeter'"),
        ({"readers": [object()]}, "EnergyReader"),
        ({"readers": []}, "must not be empty"),
    ],
)
def test_tracker_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        energy.EnergyTracker(**kwargs)


def test_reader_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        energy.NvmlReader(mode="sometimes")
    with pytest.raises(ValueError, match="device_indices"):
        energy.NvmlReader(device_indices=[-1])
    with pytest.raises(ValueError, match="sample_secs"):
        energy.RaplReader(sample_secs=0)
    with pytest.raises(ValueError, match="country_iso_code"):
        energy.CodecarbonEstimator(country_iso_code="France")
    with pytest.raises(ValueError, match="tracking_mode"):
        energy.CodecarbonEstimator(tracking_mode="cluster")


# ----------------------------------------------------------- codecarbon


def test_codecarbon_estimator_offline():
    pytest.importorskip("codecarbon")
    reader = energy.CodecarbonEstimator(country_iso_code="DEU",
                                        measure_power_secs=1)
    assert reader.open(), reader.reason
    tmp = reader._tmp
    assert os.path.isdir(tmp)
    assert reader.source == "estimated:codecarbon"
    reader.begin()
    a = np.ones((200, 200))
    for _ in range(20):
        a = a @ a / 200.0
    joules = reader.end()
    assert math.isfinite(joules) and joules > 0
    assert reader.last_emissions_kg > 0
    reader.close()
    assert not os.path.exists(tmp)
