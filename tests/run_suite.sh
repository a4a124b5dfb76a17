#!/usr/bin/env bash
# Runs the suite once per backend (one pytest process each, since the
# backend is fixed at `import keras`), then the multi-device tests on 4
# fake JAX CPU devices, then the demo, browser and `once` tests (slow and
# backend-independent, like killing a real training process) once.
# Exit status: non-zero if any run failed. pytest's exit code 5 ("no
# tests collected") is a failure too: every run here must collect tests.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export TF_CPP_MIN_LOG_LEVEL=3 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
export HYPERZOO_DATA_CACHE=${HYPERZOO_DATA_CACHE:-$PWD/.keras_home/data}
declare -a SUMMARY=()
STATUS=0

run() {
    local label=$1; shift
    echo "=== $label: $*"
    local start=$SECONDS
    env "$@"
    local rc=$?
    if [ $rc -eq 5 ]; then
        echo "!!! $label collected no tests (pytest exit 5): treated as failure"
    fi
    if [ $rc -ne 0 ]; then STATUS=1; fi
    SUMMARY+=("$label: exit $rc in $((SECONDS - start)) s")
}

SELECT="not multi_device and not demo and not browser and not once"
for backend in tensorflow jax torch; do
    run "$backend" KERAS_BACKEND=$backend "$PY" -m pytest -q -m "$SELECT" \
        -p no:cacheprovider
done
run "multi-device (jax, 4 CPU devices)" KERAS_BACKEND=jax \
    XLA_FLAGS=--xla_force_host_platform_device_count=4 \
    "$PY" -m pytest -q -m multi_device -p no:cacheprovider
run "demo + browser + once (jax)" KERAS_BACKEND=jax \
    "$PY" -m pytest -q -m "demo or browser or once" -p no:cacheprovider

echo "=== summary"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
if [ $STATUS -eq 0 ]; then echo "ALL SUITES PASSED"; else echo "SOME SUITES FAILED"; fi
exit $STATUS
