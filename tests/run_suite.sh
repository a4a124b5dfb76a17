#!/usr/bin/env bash
# Runs the suite once per backend (one pytest process each, since the
# backend is fixed at `import keras`), the multi-device tests on 4 fake
# JAX CPU devices, and the demo, browser and `once` tests (slow and
# backend-independent, like killing a real training process) once, in two
# lanes side by side; the logs are printed lane by lane at the end.
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
once_run() {
    KERAS_BACKEND=jax "$PY" -m pytest -q -p no:cacheprovider \
        -m "demo or browser or once"
}

# Two lanes run side by side (the CI machine has 2 cores); within a lane
# the runs are sequential, each its own pytest process. Arguments:
# "label|command words".
lane() {
    local name=$1; shift
    : > "$LOGS/$name.rc"
    for spec in "$@"; do
        local label=${spec%%|*} cmd=${spec#*|}
        local start=$SECONDS
        echo "=== $label: $cmd" >> "$LOGS/$name.log"
        $cmd >> "$LOGS/$name.log" 2>&1
        local rc=$?
        if [ $rc -eq 5 ]; then
            echo "!!! $label collected no tests (pytest exit 5): failure" \
                >> "$LOGS/$name.log"
        fi
        echo "$label: exit $rc in $((SECONDS - start)) s" >> "$LOGS/$name.rc"
    done
}

# Balanced by the measured run times (tensorflow is the longest run).
lane a "jax|backend_run jax" "torch|backend_run torch" \
    "demo + browser + once (jax)|once_run" &
lane b "tensorflow|backend_run tensorflow" \
    "multi-device (jax, 4 CPU devices)|multi_device_run" &
wait
for name in a b; do
    cat "$LOGS/$name.log"
    while read -r line; do
        SUMMARY+=("$line")
        case "$line" in *"exit 0 "*) ;; *) STATUS=1 ;; esac
    done < "$LOGS/$name.rc"
done
rm -rf "$LOGS"
# Every run must have reported (a lane that died early fails the suite).
if [ ${#SUMMARY[@]} -ne 5 ]; then
    echo "!!! expected 5 runs, got ${#SUMMARY[@]}"
    STATUS=1
fi

echo "=== summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
if [ $STATUS -eq 0 ]; then echo "ALL SUITES PASSED"; else echo "SOME SUITES FAILED"; fi
exit $STATUS
