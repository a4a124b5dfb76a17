"""The demo hub under load: latency and errors for N concurrent clients.

Launches the hub (`python -m demos`) on 127.0.0.1 in a child process,
with the bundled presets (default) or the tiny test models (`--tiny`),
and drives it with N client threads that each send one request, wait for
the answer, and send the next, for T seconds, through Gradio's plain
HTTP API (`POST /gradio_api/call/<endpoint>`, then the event stream).
The clients run on the same machine as the server (a 2-core CPU in the
recorded runs), so they take some of its CPU.

Tabs: every public endpoint gets a short warm-up and is then timed
alone (median of 3 requests); the cheapest and the most expensive are
loaded (`--tabs` to choose others). Rows of
`scripts/results/benchmark-hub-load.csv`: one per (queue setting, tab,
clients), with the requests answered, the errors (with one example
message), the p50/p90/p99 latency of the answered requests, and the
queue setting the server ran with.

Bounds: only 127.0.0.1; each client stops at the deadline or after
`--max-requests` requests; a request that has not finished 120 s after
it was sent counts as an error.

Usage:

```
python scripts/bench_hub_load.py                       # full run
python scripts/bench_hub_load.py --clients 10 --duration 10 --tiny
python scripts/bench_hub_load.py --queue 16:2 --queue 64:2 --queue 64:1
```
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from scripts._bench_common import RESULTS  # noqa: E402
from scripts._bench_common import cpu_model  # noqa: E402
from scripts._bench_common import today  # noqa: E402
from scripts._bench_common import usable_cpus  # noqa: E402
from scripts._bench_common import write_csv_atomic  # noqa: E402

HOST = "127.0.0.1"
OUT = os.path.join(RESULTS, "benchmark-hub-load.csv")
REQUEST_TIMEOUT_S = 120.0
SERVER_TIMEOUT_S = 600.0
FIELDS = [
    "date", "tab", "endpoint", "models", "clients", "duration_s",
    "requests", "errors", "error_example", "p50_s", "p90_s", "p99_s",
    "max_s", "throughput_rps", "alone_s", "queue_max_size",
    "concurrency", "backend", "machine", "cpus",
]
# One request per public endpoint (the picture is uploaded first).
DIGIT = "digit"
PAYLOADS = {
    "hyper_mlp_digits_classify": [DIGIT],
    "hyper_cl_permuted_digits_classify": [DIGIT, 1],
    "terminator_digits_classify": [DIGIT],
    "terminator_mnist1d_classify": [7],
    "forecasting_forecast": ["lorenz96", 3],
    "token_exit_answer": [4, "Which digit is it?", 0],
    "unem_fewshot_sample_episode": [5, 0, 75],
}


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def percentile(values, q):
    """The `q`-th percentile (0-100, nearest rank) of `values`."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _post(url, body, timeout):
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def upload(base_url, path):
    """Uploads a file to the server; its `FileData` dict for the API."""
    boundary = "hyperzoo-bench-boundary"
    with open(path, "rb") as f:
        content = f.read()
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
        f"filename=\"{os.path.basename(path)}\"\r\nContent-Type: "
        "image/png\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{base_url}gradio_api/upload", data=body, method="POST",
        headers={"Content-Type":
                 f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        server_path = json.loads(response.read())[0]
    return {"path": server_path, "orig_name": os.path.basename(path),
            "meta": {"_type": "gradio.FileData"}}


def call(base_url, endpoint, data, timeout=REQUEST_TIMEOUT_S):
    """One API call through the queue; `(ok, seconds, message)`.

    `ok` is True when the event stream ends with `complete`; otherwise
    `message` holds the error (Gradio's message, an HTTP error or a
    timeout).
    """
    start = time.perf_counter()
    try:
        event = _post(f"{base_url}gradio_api/call/{endpoint}",
                      json.dumps({"data": data}).encode(), timeout)
        url = f"{base_url}gradio_api/call/{endpoint}/{event['event_id']}"
        remaining = max(1.0, timeout - (time.perf_counter() - start))
        with urllib.request.urlopen(url, timeout=remaining) as stream:
            kind = None
            for raw in stream:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind in ("complete",
                                                           "error"):
                    seconds = time.perf_counter() - start
                    if kind == "complete":
                        return True, seconds, ""
                    message = line.split(":", 1)[1].strip()
                    return False, seconds, message or "error event"
        return False, time.perf_counter() - start, "stream ended early"
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:200]
        return False, time.perf_counter() - start, f"HTTP {exc.code} {detail}"
    except (OSError, ValueError, KeyError) as exc:
        return (False, time.perf_counter() - start,
                f"{type(exc).__name__}: {exc}")


def drive(base_url, endpoint, data, clients, duration_s,
          max_requests=10_000):
    """Holds `clients` concurrent clients on one endpoint.

    Each client thread sends a request, waits for its answer and sends
    the next until `duration_s` has passed (a request sent before the
    deadline is waited for) or it has sent `max_requests`.

    Args:
        base_url: str. `http://127.0.0.1:<port>/`; other hosts are
            refused.
        endpoint: str. API name without the slash.
        data: list. The request's `data`.
        clients: int. Concurrent clients.
        duration_s: float. Seconds to keep sending.
        max_requests: int. Requests per client at most.

    Returns:
        A dict: `requests` (answered or failed), `errors`,
        `error_example`, `latencies` (seconds of the answered ones),
        `wall_s`.
    """
    if not base_url.startswith(f"http://{HOST}:"):
        raise ValueError(f"`base_url` must be on {HOST}. Got {base_url!r}")
    results = []
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + duration_s

    def client():
        for _ in range(max_requests):
            if time.perf_counter() >= deadline:
                return
            outcome = call(base_url, endpoint, data)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration_s + REQUEST_TIMEOUT_S + 30)
    errors = [message for ok, _, message in results if not ok]
    return {
        "requests": len(results),
        "errors": len(errors),
        "error_example": errors[0][:160] if errors else "",
        "latencies": [s for ok, s, _ in results if ok],
        "wall_s": time.perf_counter() - start,
    }


class Hub:
    """The hub in a child process on 127.0.0.1 (a context manager).

    With the bundled presets, each tab's preset is loaded on its own and
    a tab whose preset does not load (e.g. one being retrained) is left
    out, with a line in the server's log.

    Args:
        tiny: bool. Serve the tiny test models (else bundled presets).
        queue_max_size: int or `None`. Overrides the hub's queue size.
        concurrency: int or `None`. Overrides the default concurrency.
        log_path: str. Where the server's output goes.
    """

    def __init__(self, tiny, queue_max_size, concurrency, log_path):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        overrides = []
        if queue_max_size is not None:
            overrides.append(f"c.QUEUE_MAX_SIZE = {int(queue_max_size)}")
        if concurrency is not None:
            overrides.append(
                f"c.DEFAULT_CONCURRENCY_LIMIT = {int(concurrency)}")
        self.code = (
            "import demos.components as c\n" + "\n".join(overrides)
            + "\nfrom demos import hub\n"
            + ("models = hub.build_tiny_models()\n" if tiny else
               "models = {}\n"
               "for tab in hub.tabs():\n"
               "    try:\n"
               "        models[tab.name] = hub.load(tab.preset)\n"
               "    except Exception as exc:\n"
               "        print('left out', tab.name, exc, flush=True)\n")
            + f"hub.launch_hub(host={HOST!r}, port={self.port}, "
            "models=models)\n"
        )
        self.log_path = log_path
        self.proc = None

    def __enter__(self):
        env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False",
                   PYTHONPATH=ROOT)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", self.code], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the hub exited with {self.proc.returncode}; see "
                    f"{self.log_path}")
            try:
                with urllib.request.urlopen(
                        f"{self.url}gradio_api/info", timeout=2):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the hub did not answer within {SERVER_TIMEOUT_S}"
                        f" s; see {self.log_path}") from None
                time.sleep(0.5)

    def endpoints(self):
        """The hub's public endpoint names (without the slash)."""
        with urllib.request.urlopen(f"{self.url}gradio_api/info",
                                    timeout=30) as response:
            info = json.loads(response.read())
        return [name.lstrip("/") for name in info["named_endpoints"]]

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def digit_png(directory):
    """Writes a test-split "4" as a 128x128 PNG; its path."""
    from PIL import Image

    from zoo.data import load_digits
    from zoo.hyper_mlp import features_to_image

    x, _ = load_digits("test")
    path = os.path.join(directory, "digit.png")
    Image.fromarray(features_to_image(x[1], 16)).save(path)
    return path


def payload(hub_url, endpoint, picture):
    """The request data of `endpoint` (uploads the picture if needed)."""
    data = list(PAYLOADS[endpoint])
    return [upload(hub_url, picture) if v == DIGIT else v for v in data]


def time_alone(hub_url, endpoints, picture, repeats=3):
    """Median seconds of one request per endpoint, after a warm-up."""
    times = {}
    for endpoint in endpoints:
        data = payload(hub_url, endpoint, picture)
        ok, _, message = call(hub_url, endpoint, data)  # warm-up
        if not ok:
            raise RuntimeError(f"{endpoint} failed alone: {message}")
        times[endpoint] = statistics.median(
            call(hub_url, endpoint, data)[1] for _ in range(repeats))
        print(f"  alone: {endpoint:40s} {times[endpoint]:.3f} s",
              flush=True)
    return times


def parse_args(argv=None):
    """Parses the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+",
                        default=[10, 20, 40])
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds of load per row (default 30)")
    parser.add_argument("--tabs", nargs="*", default=None,
                        help="endpoints to load (default: the cheapest "
                             "and the most expensive, measured)")
    parser.add_argument("--queue", action="append", default=None,
                        metavar="MAX_SIZE:CONCURRENCY",
                        help="queue settings to run (repeatable; default "
                             "the hub's own)")
    parser.add_argument("--tiny", action="store_true",
                        help="serve the tiny test models instead of the "
                             "bundled presets")
    parser.add_argument("--max-requests", type=int, default=10_000)
    parser.add_argument("--out", default=OUT)
    return parser.parse_args(argv)


def main(argv=None):
    """Runs the benchmark and writes the CSV (see the module docstring)."""
    args = parse_args(argv)
    from demos import components

    settings = [(components.QUEUE_MAX_SIZE,
                 components.DEFAULT_CONCURRENCY_LIMIT)]
    if args.queue:
        settings = [tuple(int(v) for v in q.split(":")) for q in args.queue]
    backend = os.environ.get("KERAS_BACKEND", "jax")
    rows = []
    tmp = tempfile.mkdtemp(prefix="hub-load-")
    picture = digit_png(tmp)
    tabs = args.tabs
    alone = {}
    for max_size, concurrency in settings:
        print(f"queue max_size={max_size}, concurrency={concurrency}",
              flush=True)
        log = os.path.join(tmp, f"hub-{max_size}-{concurrency}.log")
        with Hub(args.tiny, max_size, concurrency, log) as hub:
            if not alone:
                candidates = [e for e in hub.endpoints() if e in PAYLOADS]
                alone = time_alone(hub.url, candidates, picture)
                if not tabs:
                    tabs = sorted({min(alone, key=alone.get),
                                   max(alone, key=alone.get)},
                                  key=alone.get)
            for endpoint in tabs:
                data = payload(hub.url, endpoint, picture)
                call(hub.url, endpoint, data)  # warm-up on this server
                for clients in args.clients:
                    result = drive(hub.url, endpoint, data, clients,
                                   args.duration, args.max_requests)
                    lat = result["latencies"] or [float("nan")]
                    row = {
                        "date": today(),
                        "tab": endpoint.rsplit("_", 1)[0],
                        "endpoint": endpoint,
                        "models": "tiny" if args.tiny else "bundled",
                        "clients": clients,
                        "duration_s": args.duration,
                        "requests": result["requests"],
                        "errors": result["errors"],
                        "error_example": result["error_example"],
                        "p50_s": round(percentile(lat, 50), 3),
                        "p90_s": round(percentile(lat, 90), 3),
                        "p99_s": round(percentile(lat, 99), 3),
                        "max_s": round(max(lat), 3),
                        "throughput_rps": round(
                            len(result["latencies"]) / result["wall_s"], 2),
                        "alone_s": round(alone.get(endpoint, float("nan")),
                                         3),
                        "queue_max_size": max_size,
                        "concurrency": concurrency,
                        "backend": backend,
                        "machine": cpu_model(),
                        "cpus": usable_cpus(),
                    }
                    rows.append(row)
                    print(f"  {endpoint} x{clients}: "
                          f"{row['requests']} requests, {row['errors']} "
                          f"errors, p50 {row['p50_s']} s, p99 "
                          f"{row['p99_s']} s {row['error_example'][:60]}",
                          flush=True)
    write_csv_atomic(args.out, FIELDS, rows)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
