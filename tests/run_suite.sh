#!/usr/bin/env bash
# Runs the suite once per backend (one pytest process each, since the
# backend is fixed at `import keras`), the multi-device tests on 4 fake
# JAX CPU devices, and the demo, browser and `once` tests (slow and
# backend-independent, like killing a real training process) once, on two
# workers side by side; the logs are printed run by run at the end.
# Exit status: non-zero if any run failed. pytest's exit code 5 ("no
# tests collected") is a failure too: every run here must collect tests.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export TF_CPP_MIN_LOG_LEVEL=3 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
export HYPERZOO_DATA_CACHE=${HYPERZOO_DATA_CACHE:-$PWD/.keras_home/data}
declare -a SUMMARY=()
STATUS=0

SELECT="not multi_device and not demo and not browser and not once"
LOGS=$(mktemp -d)

backend_run() {
    KERAS_BACKEND=$1 "$PY" -m pytest -q -p no:cacheprovider -m "$SELECT"
}
multi_device_run() {
    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=4 \
        "$PY" -m pytest -q -p no:cacheprovider -m multi_device \
        tests/test_multi_device.py
}
# The backend-independent runs, split in three so that the queue
# balances. The demo tests (pure predict functions, Gradio apps) run on
# torch: they build and call small models eagerly, where jax would spend
# most of its time compiling (measured: 4x the CPU time on jax).
browser_run() {
    KERAS_BACKEND=jax "$PY" -m pytest -q -p no:cacheprovider -m browser \
        tests/test_browser.py
}
once_run() {
    KERAS_BACKEND=jax "$PY" -m pytest -q -p no:cacheprovider \
        -m "once and not browser"
}
demo_run() {
    KERAS_BACKEND=torch "$PY" -m pytest -q -p no:cacheprovider \
        -m "demo and not once and not browser"
}

# Two workers run side by side (the CI machine has 2 cores); each takes
# the next unclaimed run from JOBS (longest first, as measured), so the
# lanes balance themselves whatever the machine. `mkdir` is the atomic
# claim. Each run is its own pytest process with its own log.
JOBS=(
    "jax|backend_run jax"
    "tensorflow|backend_run tensorflow"
    "once (jax)|once_run"
    "browser (jax)|browser_run"
    "torch|backend_run torch"
    "demo (torch)|demo_run"
    "multi-device (jax, 4 CPU devices)|multi_device_run"
)
worker() {
    local i
    for i in "${!JOBS[@]}"; do
        mkdir "$LOGS/claim.$i" 2>/dev/null || continue
        local spec=${JOBS[$i]}
        local label=${spec%%|*} cmd=${spec#*|}
        local start=$SECONDS
        echo "=== $label: $cmd (worker $1)" > "$LOGS/$i.log"
        $cmd >> "$LOGS/$i.log" 2>&1
        local rc=$?
        if [ $rc -eq 5 ]; then
            echo "!!! $label collected no tests (pytest exit 5): failure" \
                >> "$LOGS/$i.log"
        fi
        echo "$label: exit $rc in $((SECONDS - start)) s (worker $1)" \
            > "$LOGS/$i.rc"
    done
}

worker 1 &
worker 2 &
wait
for i in "${!JOBS[@]}"; do
    [ -f "$LOGS/$i.log" ] && cat "$LOGS/$i.log"
    if [ -f "$LOGS/$i.rc" ]; then
        line=$(cat "$LOGS/$i.rc")
    else
        line="${JOBS[$i]%%|*}: did not report"
    fi
    SUMMARY+=("$line")
    case "$line" in *"exit 0 "*) ;; *) STATUS=1 ;; esac
done
rm -rf "$LOGS"
# Every run must have reported (a worker that died early fails the suite).
if [ ${#SUMMARY[@]} -ne ${#JOBS[@]} ]; then
    echo "!!! expected ${#JOBS[@]} runs, got ${#SUMMARY[@]}"
    STATUS=1
fi

echo "=== summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
if [ $STATUS -eq 0 ]; then echo "ALL SUITES PASSED"; else echo "SOME SUITES FAILED"; fi
exit $STATUS
