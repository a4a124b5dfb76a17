"""`python -m zoo` end to end, in subprocesses on the current backend."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.hyper_mlp import features_to_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, env=None):
    """Runs `python -m zoo ARGS` in a fresh process."""
    full_env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "zoo", *args],
        capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=300,
    )


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


@pytest.fixture
def cli(capsys):
    """Runs the CLI's `main` in this process (same code path as -m zoo,
    without paying a Python + TensorFlow start-up per call)."""
    from zoo.cli import main

    def run(*args):
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return _Result(code, out.out, out.err)

    return run


@pytest.mark.once
def test_module_entry_point_lists_the_preset():
    # One real `python -m zoo` process (backend-independent: run once);
    # the other commands run in-process.
    result = _run("list", "--all")
    assert result.returncode == 0, result.stderr
    assert "hyper_mlp_digits" in result.stdout
    assert "hyper_mlp_classifier" in result.stdout


def test_list_reads_preset_folders_without_importing_keras():
    # `list` reads metadata.json only: no Keras and no backend imported.
    code = (
        "import sys, zoo.cli\n"
        "code = zoo.cli.main(['list'])\n"
        "heavy = ('keras', 'keras_hub', 'tensorflow', 'jax', 'torch')\n"
        "print('IMPORTED', [m for m in heavy if m in sys.modules])\n"
        "sys.exit(code)\n"
    )
    env = dict(os.environ, PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        cwd=ROOT, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "IMPORTED []", result.stdout
    listed = {line.split()[0] for line in lines[1:-1]}
    assert listed == set(zoo.list_presets())
    assert "Model families" not in result.stdout


def test_info_prints_metadata(cli):
    result = cli("info", "hyper_mlp_digits")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dataset"] == "digits"


def test_eval_json_computes_accuracy(cli):
    result = cli("eval", "hyper_mlp_digits", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["accuracy"] >= 0.97
    assert metrics["num_examples"] == 540
    assert metrics["backend"] == os.environ.get("KERAS_BACKEND",
                                                "tensorflow")


def test_predict_on_a_png(cli, tmp_path):
    x, y = zoo.data.load_digits("test")
    # A digit drawn dark-on-white at 256x256, like a user's picture.
    idx = int(np.flatnonzero(y == 3)[0])
    path = str(tmp_path / "three.png")
    Image.fromarray(features_to_image(x[idx], scale=32)).save(path)
    result = cli("predict", "hyper_mlp_digits", path, "--json")
    assert result.returncode == 0, result.stderr
    probs = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(probs) == 3
    assert max(probs, key=probs.get) == "3"


def test_predict_rejects_a_non_image(cli, tmp_path):
    path = str(tmp_path / "notes.png")
    with open(path, "w") as f:
        f.write("not an image")
    result = cli("predict", "hyper_mlp_digits", path)
    assert result.returncode == 2
    assert "not a readable image" in result.stderr


def test_unknown_preset_is_a_clear_error(cli):
    result = cli("eval", "clowntown")
    assert result.returncode == 2
    assert "Unknown preset 'clowntown'" in result.stderr
    assert "hyper_mlp_digits" in result.stderr


def test_corrupted_preset_checksum_error(cli, tmp_path):
    src = os.path.join(ROOT, "zoo", "presets", "hyper_mlp_digits")
    dst = str(tmp_path / "broken")
    shutil.copytree(src, dst)
    with open(os.path.join(dst, "model.weights.h5"), "r+b") as f:
        f.seek(4096)
        f.write(b"\x00\x01\x02\x03")
    result = cli("eval", dst, "--json")
    assert result.returncode == 2
    assert "Checksum mismatch for 'model.weights.h5'" in result.stderr


@pytest.mark.once
def test_train_resumes_after_kill(tmp_path):
    out = str(tmp_path / "run")
    # First run: killed by the test after its first checkpoint.
    cmd = [sys.executable, "-m", "zoo", "train", "hyper_mlp_digits",
           "--epochs", "40", "--out", out, "--quiet"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    log = os.path.join(out, "log.csv")
    try:
        import time

        deadline = time.time() + 240
        while time.time() < deadline:
            if os.path.isfile(log) and len(open(log).readlines()) >= 3:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "training ended before it was killed"
    finally:
        proc.kill()
        proc.wait()
    from zoo.training import read_log

    done = len(read_log(log))
    assert 2 <= done < 40
    # Second run continues to a total of `done + 2` epochs.
    result = _run("train", "hyper_mlp_digits", "--epochs", str(done + 2),
                  "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    epochs = [int(r["epoch"]) for r in read_log(log)]
    assert epochs == list(range(done + 2))
    preset = json.loads(result.stdout.strip().splitlines()[-1])["preset"]
    zoo.verify_preset(preset)


def test_read_image_rescales_16_bit_by_its_range(tmp_path):
    from zoo.inputs import read_image

    arr = np.zeros((16, 16), "uint16")
    arr[4:12, 6:10] = 30000  # light ink on a dark background
    path = str(tmp_path / "ink16.png")
    Image.fromarray(arr).save(path)
    out = read_image(path)
    assert out.dtype == np.float64 and out.shape == (16, 16)
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_array_equal(out > 0.5, arr > 0)
