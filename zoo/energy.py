"""Energy and carbon of training: NVML, RAPL and codecarbon readers.

`EnergyTracker` is a Keras callback that adds, per epoch, the energy the
machine spent (J), its mean power (W), the CO2-equivalent of that energy
(g) and where the figure comes from to the epoch's `logs`, so a
`keras.callbacks.CSVLogger` placed *after* it writes them to the training
log. Each source is a reader, and each is optional:

- `NvmlReader`: NVIDIA GPUs through NVML (`pip install nvidia-ml-py`,
  imported as `pynvml`). Measured.
- `RaplReader`: CPU packages (and their DRAM) through the Linux powercap
  RAPL counters, where readable. Measured.
- `CodecarbonEstimator`: codecarbon's offline tracker, a model of the
  machine's power (TDP and load for an unknown CPU, a fixed figure per
  GB of RAM). Estimated; the fallback.

Log keys (`ENERGY_KEYS`):

- `energy_j`: energy of the epoch in joules, summed over the readers.
- `power_w`: mean power of the epoch in watts (`energy_j` divided by the
  epoch's wall time).
- `co2eq_g`: grams of CO2-equivalent, `energy_j` in kWh times the PUE
  times the grid's carbon intensity.
- `energy_source`: `"measured:nvml"`, `"measured:rapl"`,
  `"estimated:codecarbon"`, joined by `"+"` when several readers
  contributed, or `"none"` (the numbers are then NaN).

The first epoch includes compilation (tracing, XLA): leave it out of
comparisons. Counters are machine-wide (all processes), not per process.
Nothing here imports a backend.

Reference:
- [Antonopoulos, "Improve ML carbon footprint using Nvidia GPU and Mixed
  Precision training for classification models -- Part I", 2024](
  https://arxiv.org/abs/2409.07853)
"""

import logging
import math
import numbers
import os
import re
import shutil
import tempfile
import threading
import time
import warnings

import keras

# 475 gCO2eq/kWh: world-average carbon intensity of electricity from the
# IEA "Global Energy & CO2 Status Report 2019"
# (https://www.iea.org/reports/global-energy-co2-status-report-2019/
# emissions), the figure codecarbon 3.3.2 ships as its `world_average`
# (codecarbon/data/private_infra/carbon_intensity_per_source.json).
DEFAULT_CARBON_INTENSITY = 0.475  # kg CO2eq per kWh.
ENERGY_KEYS = ("energy_j", "power_w", "co2eq_g", "energy_source")
READERS = ("nvml", "rapl", "codecarbon")
JOULES_PER_KWH = 3.6e6

_RAPL_ZONE = re.compile(r"^(intel-rapl|amd-rapl):(\d+)(?::(\d+))?$")


def _check_number(name, value, minimum, allow_none=False):
    if value is None and allow_none:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value < minimum):
        raise ValueError(
            f"`{name}` must be a finite number >= {minimum}. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def _check_interval(name, value):
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(
            f"`{name}` must be a positive number of seconds or None. "
            f"Received: {name}={value!r}"
        )
    return float(value)


class EnergySource(float):
    """The `energy_source` log value: a label that Keras can display.

    Keras's progress bar averages every value in `logs` as a number (a
    plain string there raises a `TypeError`), so the label is a NaN
    `float` whose `str()`, `repr()` and format are the label: `CSVLogger`
    writes the label, the progress bar shows it, and it compares equal to
    the plain string.

    Args:
        label: str. E.g. `"measured:nvml+measured:rapl"`.

    Example:

    ```python
    source = zoo.energy.EnergySource("estimated:codecarbon")
    assert source == "estimated:codecarbon"
    ```

    Reference:
    - [Antonopoulos, 2024](https://arxiv.org/abs/2409.07853)
    """

    def __new__(cls, label):
        obj = super().__new__(cls, math.nan)
        obj.label = str(label)
        return obj

    def __init__(self, label):
        super().__init__()

    def __reduce__(self):
        return (EnergySource, (self.label,))

    def __str__(self):
        return self.label

    def __repr__(self):
        return self.label

    def __format__(self, spec):
        return self.label

    def __eq__(self, other):
        if isinstance(other, EnergySource):
            return self.label == other.label
        if isinstance(other, str):
            return self.label == other
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self):
        return hash(self.label)

    # The progress bar computes `value * steps`, `value / count`, `abs`.
    def __mul__(self, other):
        return self

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self

    def __add__(self, other):
        return self

    __radd__ = __add__


class _Poller:
    """Calls `fn()` every `interval` seconds in a daemon thread."""

    def __init__(self, interval, fn):
        self._interval = interval
        self._fn = fn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self._interval):
            try:
                self._fn()
            except Exception:  # A failed sample is skipped, not fatal.
                pass

    def stop(self):
        self._stop.set()
        self._thread.join()


class EnergyReader:
    """Base class of the energy readers used by `EnergyTracker`.

    A reader measures (or estimates) the energy spent between `begin()`
    and `end()`. `open()` probes the hardware and returns whether the
    reader is usable; an absent or unreadable source is not an error,
    it makes `available` false and `reason` says why. Subclasses set
    `name` and `kind` (`"measured"` or `"estimated"`).

    Example:

    ```python
    class Constant(zoo.energy.EnergyReader):
        name, kind = "constant", "estimated"

        def open(self):
            self.available = True
            return True

        def end(self):
            return 1.0
    ```

    Reference:
    - [Antonopoulos, 2024](https://arxiv.org/abs/2409.07853)
    """

    name = "reader"
    kind = "measured"

    def __init__(self):
        self.available = False
        self.reason = "not opened"

    @property
    def source(self):
        """The `energy_source` label, e.g. `"measured:nvml"`."""
        return f"{self.kind}:{self.name}"

    def open(self):
        """Probes the source.

        Returns:
            bool, whether the reader can be used (also in `available`).
        """
        self.available = False
        return False

    def begin(self):
        """Starts a measurement window (an epoch)."""

    def end(self):
        """Ends the window.

        Returns:
            float, joules spent since `begin()` (NaN if unknown).
        """
        return math.nan

    def close(self):
        """Releases the source (threads, library handles)."""


class NvmlReader(EnergyReader):
    """Energy of NVIDIA GPUs through NVML (`nvidia-ml-py`).

    Where every GPU has an energy counter
    (`nvmlDeviceGetTotalEnergyConsumption`, Volta and newer, mJ since the
    driver loaded), the energy of a window is the sum of the counters'
    differences. Otherwise the board power (`nvmlDeviceGetPowerUsage`,
    mW) is sampled every `sample_secs` in a background thread, summed
    over the GPUs and integrated over time with the trapezoid rule. A
    missing `pynvml` module, a failed `nvmlInit` or no GPU makes the
    reader absent. NVML reports the whole board, all processes included.

    Args:
        device_indices: list of int or `None` for every GPU.
        sample_secs: float or `None`. Power sampling period (power mode
            only); `None` starts no thread (call `sample()` yourself).
        clock: callable returning seconds; defaults to `time.monotonic`.
        mode: `"auto"` (counter where supported, else power), `"counter"`
            or `"power"`.

    Example:

    ```python
    reader = zoo.energy.NvmlReader()
    if reader.open():
        reader.begin()
        train_one_epoch()
        joules = reader.end()
        reader.close()
    ```

    Reference:
    - [Antonopoulos, 2024](https://arxiv.org/abs/2409.07853)
    """

    name = "nvml"
    kind = "measured"

    def __init__(self, device_indices=None, sample_secs=0.1, clock=None,
                 mode="auto"):
        super().__init__()
        if mode not in ("auto", "counter", "power"):
            raise ValueError(
                "`mode` must be 'auto', 'counter' or 'power'. "
                f"Received: mode={mode!r}"
            )
        if device_indices is not None:
            device_indices = list(device_indices)
            if any(isinstance(i, bool) or not isinstance(i, int) or i < 0
                   for i in device_indices):
                raise ValueError(
                    "`device_indices` must be non-negative integers. "
                    f"Received: device_indices={device_indices!r}"
                )
        self.device_indices = device_indices
        self.sample_secs = _check_interval("sample_secs", sample_secs)
        self.clock = clock or time.monotonic
        self.requested_mode = mode
        self.mode = None
        self._nvml = None
        self._handles = []
        self._start = None
        self._samples = []
        self._lock = threading.Lock()
        self._poller = None

    def open(self):
        """Initialises NVML and picks the counter or the power mode.

        Returns:
            bool, whether a GPU can be read.
        """
        self.available = False
        try:
            import pynvml
        except ImportError:
            self.reason = "pynvml (nvidia-ml-py) is not installed"
            return False
        try:
            pynvml.nvmlInit()
        except Exception as e:
            self.reason = f"nvmlInit failed: {e}"
            return False
        self._nvml = pynvml
        try:
            count = pynvml.nvmlDeviceGetCount()
            indices = (range(count) if self.device_indices is None
                       else self.device_indices)
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                             for i in indices]
        except Exception as e:
            self.reason = f"no GPU handle: {e}"
            self._shutdown()
            return False
        if not self._handles:
            self.reason = "no GPU"
            self._shutdown()
            return False
        mode = None
        if self.requested_mode in ("auto", "counter"):
            try:
                self._counters()
                mode = "counter"
            except Exception as e:
                self.reason = f"no energy counter: {e}"
        if mode is None and self.requested_mode in ("auto", "power"):
            try:
                self._power_w()
                mode = "power"
            except Exception as e:
                self.reason = f"no power reading: {e}"
        if mode is None:
            self._shutdown()
            return False
        self.mode = mode
        self.available = True
        self.reason = ""
        return True

    def _shutdown(self):
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
        self._nvml = None
        self._handles = []

    def _counters(self):
        return [int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h))
                for h in self._handles]

    def _power_w(self):
        return sum(float(self._nvml.nvmlDeviceGetPowerUsage(h))
                   for h in self._handles) / 1000.0

    def device_names(self):
        """Names of the GPUs read (after a successful `open()`).

        Returns:
            list of str.
        """
        names = []
        for h in self._handles:
            name = self._nvml.nvmlDeviceGetName(h)
            names.append(name.decode() if isinstance(name, bytes)
                         else str(name))
        return names

    def sample(self):
        """Records one power sample (power mode; the thread calls it)."""
        if self.mode != "power":
            return
        sample = (self.clock(), self._power_w())
        with self._lock:
            self._samples.append(sample)

    def begin(self):
        """Reads the counters, or starts sampling the power."""
        if not self.available:
            return
        if self.mode == "counter":
            self._start = self._counters()
            return
        with self._lock:
            self._samples = []
        self.sample()
        if self.sample_secs is not None:
            self._poller = _Poller(self.sample_secs, self.sample)

    def end(self):
        """Joules spent by the GPUs since `begin()`.

        Returns:
            float, joules (NaN when the reader is absent).
        """
        if not self.available:
            return math.nan
        if self.mode == "counter":
            if self._start is None:
                return math.nan
            now = self._counters()
            mj = sum(b - a for a, b in zip(self._start, now))
            self._start = None
            return mj / 1000.0
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.sample()
        with self._lock:
            samples, self._samples = self._samples, []
        return trapezoid_energy(samples)

    def close(self):
        """Stops sampling and shuts NVML down."""
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self._shutdown()
        self.available = False
        self.reason = "closed"


def trapezoid_energy(samples):
    """Integrates `(time_s, power_w)` samples with the trapezoid rule.

    Args:
        samples: list of `(seconds, watts)` pairs in time order.

    Returns:
        float, joules (0 for fewer than two samples).

    Example:

    ```python
    zoo.energy.trapezoid_energy([(0.0, 100.0), (2.0, 200.0)])  # 300.0
    ```
    """
    total = 0.0
    for (t0, p0), (t1, p1) in zip(samples, samples[1:]):
        total += 0.5 * (p0 + p1) * (t1 - t0)
    return total


class RaplReader(EnergyReader):
    """Energy of the CPU packages through Linux powercap RAPL counters.

    Reads `energy_uj` of every package zone (`intel-rapl:<n>` or
    `amd-rapl:<n>` whose `name` starts with `package`) and, with
    `include_dram`, of their `dram` subzones (`intel-rapl:<n>:<m>`);
    `core`/`uncore` subzones are part of the package and `psys` and the
    `intel-rapl-mmio` duplicates are skipped, so nothing is counted twice.
    A counter that went down wrapped around at `max_energy_range_uj`: the
    difference is `max - previous + current`. Counters wrap within
    minutes at high power, so a thread reads them every `sample_secs`.
    A missing tree, no package zone, or an unreadable `energy_uj` (root
    only since CVE-2020-8694) makes the reader absent.

    Args:
        root: str. The powercap directory.
        include_dram: bool. Add the packages' DRAM subzones.
        sample_secs: float or `None`. Reading period against wrap-around;
            `None` starts no thread (call `poll()` yourself).

    Example:

    ```python
    reader = zoo.energy.RaplReader()
    if reader.open():
        reader.begin()
        train_one_epoch()
        joules = reader.end()
    ```

    Reference:
    - [Antonopoulos, 2024](https://arxiv.org/abs/2409.07853)
    """

    name = "rapl"
    kind = "measured"

    def __init__(self, root="/sys/class/powercap", include_dram=True,
                 sample_secs=10.0):
        super().__init__()
        if not isinstance(root, (str, os.PathLike)):
            raise ValueError(
                f"`root` must be a path. Received: root={root!r}"
            )
        self.root = os.fspath(root)
        self.include_dram = bool(include_dram)
        self.sample_secs = _check_interval("sample_secs", sample_secs)
        self.zones = []
        self._last = {}
        self._max = {}
        self._acc_uj = 0
        self._lock = threading.Lock()
        self._poller = None

    @staticmethod
    def _read_text(path):
        with open(path, encoding="ascii") as f:
            return f.read().strip()

    def open(self):
        """Finds the package (and DRAM) zones and checks they are readable.

        Returns:
            bool, whether the counters can be read.
        """
        self.available = False
        self.zones = []
        try:
            entries = sorted(os.listdir(self.root))
        except OSError as e:
            self.reason = f"no powercap tree: {e}"
            return False
        names = {}
        for entry in entries:
            if _RAPL_ZONE.match(entry):
                try:
                    names[entry] = self._read_text(
                        os.path.join(self.root, entry, "name"))
                except OSError:
                    continue
        packages = [e for e in names if _RAPL_ZONE.match(e).group(3) is None
                    and names[e].startswith("package")]
        zones = list(packages)
        if self.include_dram:
            for entry, name in names.items():
                parent = entry.rsplit(":", 1)[0]
                if (_RAPL_ZONE.match(entry).group(3) is not None
                        and parent in packages and name == "dram"):
                    zones.append(entry)
        if not zones:
            self.reason = f"no RAPL package zone under {self.root}"
            return False
        try:
            for zone in zones:
                self._max[zone] = int(self._read_text(os.path.join(
                    self.root, zone, "max_energy_range_uj")))
                self._last[zone] = self._read_uj(zone)
        except (OSError, ValueError) as e:
            self.reason = f"RAPL counters unreadable: {e}"
            return False
        self.zones = sorted(zones)
        self.available = True
        self.reason = ""
        return True

    def _read_uj(self, zone):
        return int(self._read_text(
            os.path.join(self.root, zone, "energy_uj")))

    def poll(self):
        """Reads every counter and adds its increase (wrap-aware)."""
        if not self.available:
            return
        with self._lock:
            for zone in self.zones:
                now = self._read_uj(zone)
                last = self._last[zone]
                if now >= last:
                    delta = now - last
                else:
                    delta = self._max[zone] - last + now
                self._acc_uj += delta
                self._last[zone] = now

    def begin(self):
        """Reads the counters and starts the wrap-around thread."""
        if not self.available:
            return
        with self._lock:
            for zone in self.zones:
                self._last[zone] = self._read_uj(zone)
            self._acc_uj = 0
        if self.sample_secs is not None:
            self._poller = _Poller(self.sample_secs, self.poll)

    def end(self):
        """Joules spent by the packages (and DRAM) since `begin()`.

        Returns:
            float, joules (NaN when the reader is absent).
        """
        if not self.available:
            return math.nan
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        try:
            self.poll()
        except (OSError, ValueError):
            return math.nan
        with self._lock:
            joules, self._acc_uj = self._acc_uj / 1e6, 0
        return joules

    def close(self):
        """Stops the thread."""
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.available = False
        self.reason = "closed"


class CodecarbonEstimator(EnergyReader):
    """Energy *estimated* by codecarbon's offline tracker.

    Wraps `codecarbon.OfflineEmissionsTracker` (no network call) with one
    codecarbon task per window; the energy is the task's
    `energy_consumed` (CPU + GPU + RAM, kWh) in joules. Without RAPL or
    NVML codecarbon models the CPU from its TDP (or a default per thread)
    and its load, and the RAM from a fixed figure: label and report these
    as estimates, never compare them with measured joules. Files go to a
    temporary directory, removed by `close()`. A missing `codecarbon`
    makes the reader absent.

    Args:
        country_iso_code: str. 3-letter country for codecarbon's own
            emissions figure (`last_emissions_kg`); `EnergyTracker`
            computes `co2eq_g` from its `carbon_intensity` instead.
        tracking_mode: `"process"` (this process's CPU load) or
            `"machine"`.
        measure_power_secs: float. codecarbon's sampling period.
        output_dir: str or `None` (a temporary directory).

    Example:

    ```python
    reader = zoo.energy.CodecarbonEstimator(country_iso_code="DEU")
    if reader.open():
        reader.begin()
        train_one_epoch()
        joules = reader.end()
        reader.close()
    ```

    Reference:
    - [Antonopoulos, 2024](https://arxiv.org/abs/2409.07853)
    """

    name = "codecarbon"
    kind = "estimated"

    def __init__(self, country_iso_code="FRA", tracking_mode="process",
                 measure_power_secs=1.0, output_dir=None):
        super().__init__()
        if (not isinstance(country_iso_code, str)
                or not re.fullmatch(r"[A-Za-z]{3}", country_iso_code)):
            raise ValueError(
                "`country_iso_code` must be a 3-letter ISO code. "
                f"Received: country_iso_code={country_iso_code!r}"
            )
        if tracking_mode not in ("process", "machine"):
            raise ValueError(
                "`tracking_mode` must be 'process' or 'machine'. "
                f"Received: tracking_mode={tracking_mode!r}"
            )
        measure_power_secs = _check_interval("measure_power_secs",
                                             measure_power_secs)
        if measure_power_secs is None:
            raise ValueError("`measure_power_secs` must be positive.")
        self.country_iso_code = country_iso_code.upper()
        self.tracking_mode = tracking_mode
        self.measure_power_secs = measure_power_secs
        self.output_dir = output_dir
        self.last_emissions_kg = math.nan
        self._tracker = None
        self._tmp = None
        self._in_task = False

    def open(self):
        """Builds the offline tracker.

        Returns:
            bool, whether codecarbon is usable.
        """
        self.available = False
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            self.reason = "codecarbon is not installed"
            return False
        if self._tracker is not None:
            self.available = True
            return True
        out = self.output_dir
        if out is None:
            self._tmp = out = tempfile.mkdtemp(prefix="hyperzoo-codecarbon-")
        # codecarbon sets its logger to `log_level` in `__init__`, after
        # logging its first lines: quiet those too.
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        try:
            tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso_code,
                measure_power_secs=self.measure_power_secs,
                tracking_mode=self.tracking_mode,
                save_to_file=False,
                output_dir=out,
                log_level="error",
                allow_multiple_runs=True,
            )
        except Exception as e:
            self.reason = f"codecarbon failed: {e}"
            self._remove_tmp()
            return False
        # codecarbon swallows exceptions in `__init__`.
        if not hasattr(tracker, "_hardware"):
            self.reason = "codecarbon tracker did not initialise"
            self._remove_tmp()
            return False
        self._tracker = tracker
        self.available = True
        self.reason = ""
        return True

    def _remove_tmp(self):
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def begin(self):
        """Starts a codecarbon task."""
        if not self.available:
            return
        self._tracker.start_task("epoch")
        self._in_task = True

    def end(self):
        """Estimated joules since `begin()` (codecarbon's task energy).

        Returns:
            float, joules (NaN when absent or when the task failed).
        """
        if not self.available or not self._in_task:
            return math.nan
        self._in_task = False
        data = self._tracker.stop_task()
        if data is None:
            return math.nan
        self.last_emissions_kg = float(data.emissions)
        return float(data.energy_consumed) * JOULES_PER_KWH

    def close(self):
        """Stops the tracker and removes its temporary directory."""
        if self._tracker is not None:
            if self._in_task:
                self._tracker.stop_task()
                self._in_task = False
            try:
                self._tracker.stop()
            except Exception:
                pass
            self._tracker = None
        self._remove_tmp()
        self.available = False
        self.reason = "closed"


_READER_CLASSES = {
    "nvml": NvmlReader,
    "rapl": RaplReader,
    "codecarbon": CodecarbonEstimator,
}


class EnergyTracker(keras.callbacks.Callback):
    """Adds energy, mean power and CO2eq per epoch to the training logs.

    At `on_epoch_end` it writes `energy_j` (J), `power_w` (mean W over
    the epoch's wall time), `co2eq_g` (g CO2eq: kWh x `pue` x
    `carbon_intensity` x 1000) and `energy_source` (see `EnergySource`)
    into `logs`. Put it *before* `keras.callbacks.CSVLogger` in the
    callback list so the log row has these columns; Keras calls
    callbacks in list order with the same `logs` dict.

    With `readers=None` it picks, at `on_train_begin`: NVML if a GPU is
    readable, RAPL if readable (both when both are, summed: GPU + CPU
    packages), else codecarbon's estimate; with none of them the values
    are NaN and the source `"none"`. Readers are closed at
    `on_train_end`. The per-epoch records are also kept in `records`.

    Args:
        readers: `None` (automatic) or a list of reader names
            (`"nvml"`, `"rapl"`, `"codecarbon"`) and/or `EnergyReader`
            instances; their energies are summed (do not combine
            `"codecarbon"` with a measured reader of the same hardware).
        carbon_intensity: float. Grid carbon intensity in kg CO2eq per
            kWh; default `DEFAULT_CARBON_INTENSITY` (0.475, the IEA 2019
            world average that codecarbon ships).
        pue: float >= 1. Power usage effectiveness of the data centre.
        clock: callable returning seconds (default `time.monotonic`).

    Example:

    ```python
    tracker = zoo.energy.EnergyTracker(carbon_intensity=0.056)
    logger = keras.callbacks.CSVLogger("log.csv")
    model.fit(x, y, epochs=3, callbacks=[tracker, logger])
    ```

    Reference:
    - [Antonopoulos, "Improve ML carbon footprint using Nvidia GPU and
      Mixed Precision training for classification models -- Part I",
      2024](https://arxiv.org/abs/2409.07853)
    """

    def __init__(self, readers=None, carbon_intensity=DEFAULT_CARBON_INTENSITY,
                 pue=1.0, clock=None):
        super().__init__()
        self.carbon_intensity = _check_number(
            "carbon_intensity", carbon_intensity, 0.0)
        self.pue = _check_number("pue", pue, 1.0)
        if readers is not None:
            if isinstance(readers, (str, EnergyReader)):
                readers = [readers]
            readers = list(readers)
            if not readers:
                raise ValueError(
                    "`readers` must not be empty; pass None to pick "
                    "the readers automatically."
                )
            for r in readers:
                if isinstance(r, str):
                    if r not in READERS:
                        raise ValueError(
                            f"Unknown reader {r!r}; expected one of "
                            f"{READERS} or an EnergyReader."
                        )
                elif not isinstance(r, EnergyReader):
                    raise ValueError(
                        "`readers` items must be reader names "
                        f"{READERS} or EnergyReader instances. "
                        f"Received: {r!r}"
                    )
        self.readers = readers
        self.clock = clock or time.monotonic
        self.active = []
        self.records = []
        self._t0 = None

    def _resolve(self):
        if self.readers is not None:
            chosen = [_READER_CLASSES[r]() if isinstance(r, str) else r
                      for r in self.readers]
            return [r for r in chosen if r.available or r.open()]
        measured = [r for r in (NvmlReader(), RaplReader()) if r.open()]
        if measured:
            return measured
        estimate = CodecarbonEstimator()
        return [estimate] if estimate.open() else []

    @staticmethod
    def _call(reader, method):
        # A failing reader (a GPU lost mid-run) never stops training:
        # its figure becomes NaN.
        try:
            result = getattr(reader, method)()
        except Exception as e:
            warnings.warn(f"{reader.source} {method}() failed: {e}",
                          RuntimeWarning, stacklevel=2)
            return math.nan
        return math.nan if result is None and method == "end" else result

    @property
    def source(self):
        """The `energy_source` label of the active readers."""
        return "+".join(r.source for r in self.active) or "none"

    def on_train_begin(self, logs=None):
        """Opens the readers (automatic choice when `readers` is None)."""
        self.active = self._resolve()

    def on_epoch_begin(self, epoch, logs=None):
        """Starts every reader's window."""
        for r in self.active:
            self._call(r, "begin")
        # After `begin()`: codecarbon detects the hardware in its first.
        self._t0 = self.clock()

    def on_epoch_end(self, epoch, logs=None):
        """Ends the windows and writes the energy keys into `logs`."""
        seconds = self.clock() - self._t0 if self._t0 is not None else 0.0
        joules = (sum(self._call(r, "end") for r in self.active)
                  if self.active else math.nan)
        power = joules / seconds if seconds > 0 else math.nan
        co2 = joules / JOULES_PER_KWH * self.pue * self.carbon_intensity * 1e3
        record = {
            "energy_j": float(joules),
            "power_w": float(power),
            "co2eq_g": float(co2),
            "energy_source": EnergySource(self.source),
        }
        self.records.append(dict(record, epoch=epoch, seconds=seconds))
        if logs is not None:
            logs.update(record)

    def on_train_end(self, logs=None):
        """Closes the readers."""
        for r in self.active:
            self._call(r, "close")
        self.active = []
