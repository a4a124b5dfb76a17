"""Bad input at every public entry point: a clear error, nothing broken.

One case (or a few) per row of the table of issue 14, item 3 (the hub
API row is tested with the demos). API cases use the tiny registry
models; the preset-specific rows use the bundled `hyper_mlp_digits`
preset; CLI cases call `zoo.cli.main` in-process. Pictures are made on
the fly in `tmp_path` (a "huge" PNG is a tiny PNG whose header claims a
huge size: nothing big is ever allocated). The two upstream Keras 3.15
behaviours the validation works around are kept as strict xfails, so a
Keras upgrade that fixes them is noticed.
"""

import json
import os
import shlex
import shutil
import struct
import sys
import zlib

import keras
import numpy as np
import pytest
from PIL import Image

import zoo
from tests import harness
from zoo import training
from zoo import validation
from zoo.hyper_mlp import features_to_image
from zoo.preset_utils import PRESETS_DIR

BACKEND = keras.backend.backend()
_CACHE = {}


def _tiny(name):
    """One tiny registry model per name for the whole module."""
    if name not in _CACHE:
        spec = zoo.get_model_spec(name)
        _CACHE[name] = (spec.build_tiny(0), spec.example_batch(4, 0)[0])
    return _CACHE[name]


def _digits_preset():
    if "preset" not in _CACHE:
        _CACHE["preset"] = zoo.load("hyper_mlp_digits")
    return _CACHE["preset"]


class _Result:
    def __init__(self, code, out, err):
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture
def cli(capsys):
    from zoo.cli import main

    def run(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return _Result(code, out.out, out.err)

    return run


def _one_line_error(result, pattern):
    """Exit code 2 and a single `error:` line matching `pattern`."""
    import re

    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    assert re.search(pattern, lines[0]), lines[0]


# ----------------------------------------------------------------------
# Upstream Keras 3.15 behaviour (plain 2-layer model): kept as strict
# xfails, so that an upgrade that fixes them fails here and is noticed.
# ----------------------------------------------------------------------
def _plain_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                             keras.layers.Dense(2)])


@pytest.mark.xfail(
    BACKEND == "jax", strict=True, raises=TypeError,
    reason="Keras 3.15 (JAX): a predict that fails after the variables "
    "are purged leaves them empty; later predicts raise TypeError "
    "'NoneType' object is not callable",
)
def test_upstream_predict_survives_a_wrong_shape():
    model = _plain_model()
    x = np.ones((2, 4), "float32")
    expected = model.predict(x, verbose=0)
    with pytest.raises(Exception):
        model.predict(np.ones((2, 5), "float32"), verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
@pytest.mark.xfail(
    strict=True, raises=UnboundLocalError,
    reason="Keras 3.15: predict on an empty batch raises UnboundLocalError "
    "from the predict loop on every backend",
)
def test_upstream_predict_of_an_empty_batch():
    out = _plain_model().predict(np.ones((0, 4), "float32"), verbose=0)
    assert out.shape == (0, 2)


# ----------------------------------------------------------------------
# Row: any predict on JAX, a wrong shape -> later predicts fail.
# Row: terminator 2-D, channel axis missing as the first call (TF).
# ----------------------------------------------------------------------
@pytest.mark.parametrize("name, bad", [
    ("hyper_mlp_classifier", lambda x: x[:, :5]),
    # (N, 4, 4): the channel axis missing, as the very first call.
    ("terminator_classifier_2d", lambda x: x[..., 0]),
])
def test_wrong_shape_is_refused_and_the_model_still_works(name, bad):
    spec = zoo.get_model_spec(name)
    model = spec.build_tiny(0)
    x, _ = spec.example_batch(4, 0)
    with pytest.raises(ValueError, match=r"must have shape \(batch, "):
        model.predict(bad(x), verbose=0)
    with pytest.raises(ValueError, match="must have shape"):
        model(bad(x))
    first = harness.to_numpy(model.predict(x, verbose=0))
    assert first.shape == (4, 3)
    np.testing.assert_allclose(
        harness.to_numpy(model.predict(x, verbose=0)), first, rtol=1e-6,
        atol=1e-6)


def test_error_inside_keras_does_not_break_the_model():
    # Even an error that gets past the validation (here: validation off)
    # leaves the model usable (JAX: the purged variables are restored).
    model, x = _tiny("hyper_mlp_classifier")
    expected = harness.to_numpy(model.predict(x, verbose=0))
    with validation.skip_validation():
        with pytest.raises(Exception):
            model.predict(np.ones((4, 5), "float32"), verbose=0)
    np.testing.assert_allclose(harness.to_numpy(model.predict(x, verbose=0)),
                               expected, rtol=1e-6, atol=1e-6)


def test_symbolic_input_passes_through():
    model, _ = _tiny("hyper_mlp_classifier")
    out = model(keras.KerasTensor((None, 12)))
    assert tuple(out.shape) == (None, 3)


# ----------------------------------------------------------------------
# Row: NaN / inf values (predict, rollout, CLI).
# ----------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(value):
    model, x = _tiny("terminator_classifier_1d")
    bad = x.copy()
    bad[2, 5, 1] = value
    with pytest.raises(ValueError, match=r"NaN or infinite.*sample\(s\) "
                                         r"\[2\]"):
        model.predict(bad, verbose=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.evaluate(bad, np.zeros(4, "int32"), verbose=0)


def test_rollout_refuses_non_finite_warmup():
    model, x = _tiny("forecaster_rhn_gating")
    bad = x.copy()
    bad[0, 1, 0] = np.nan
    with pytest.raises(ValueError, match="`warmup` contains NaN"):
        model.rollout(bad, steps=2)
    assert model.rollout(x, steps=2).shape == (4, 2, 3)


def test_cli_refuses_non_finite_npy(cli, tmp_path):
    x, _ = zoo.data.load_digits("test")
    bad = x[:2].copy()
    bad[1, 7] = np.inf
    path = tmp_path / "bad.npy"
    np.save(path, bad)
    _one_line_error(cli("predict", "hyper_mlp_digits", path),
                    r"NaN or infinite")


# ----------------------------------------------------------------------
# Row: hyper_mlp_digits with raw 0-255 or 0-16 pixels (API and CLI).
# ----------------------------------------------------------------------
@pytest.mark.parametrize("scale", [16.0, 255.0])
def test_digits_preset_refuses_raw_pixels(scale):
    model = _digits_preset()
    x, _ = zoo.data.load_digits("test")
    with pytest.raises(ValueError, match=r"`features` values must be in "
                                         r"\[0, 1\].*divide.*by 16"):
        model.predict(x[:4] * scale, verbose=0)
    assert model.predict(x[:4], verbose=0).shape == (4, 10)


def test_cli_refuses_raw_pixel_npy(cli, tmp_path):
    x, _ = zoo.data.load_digits("test")
    path = tmp_path / "raw.npy"
    np.save(path, (x[0] * 255).reshape(8, 8))
    _one_line_error(cli("predict", "hyper_mlp_digits", path),
                    r"must be in \[0, 1\].*max=255")


# ----------------------------------------------------------------------
# Row: empty batch (predict, evaluate, __call__, every backend).
# ----------------------------------------------------------------------
def test_empty_batch_is_a_clear_error():
    model, x = _tiny("hyper_mlp_classifier")
    empty = x[:0]
    with pytest.raises(ValueError, match="empty batch"):
        model.predict(empty, verbose=0)
    with pytest.raises(ValueError, match="empty batch"):
        model.predict_on_batch(empty)
    with pytest.raises(ValueError, match="empty batch"):
        model.evaluate(empty, np.zeros(0, "int32"), verbose=0)
    with pytest.raises(ValueError, match="empty batch"):
        model(empty)
    assert model.predict(x, verbose=0).shape == (4, 3)


# ----------------------------------------------------------------------
# Row: token-exit token ids -1, 2.7, 999 and exit layer 42.
# ----------------------------------------------------------------------
@pytest.mark.parametrize("key, value, message", [
    ("token_ids", -1, r"`token_ids` must hold token ids in \[0, 5\]\. "
                      r"Received -1"),
    ("token_ids", 2.7, r"`token_ids` must hold integer token ids.*2\.7"),
    ("token_ids", 999, r"token ids in \[0, 5\]\. Received 999"),
    ("exit_layers", 42, r"`exit_layers` must hold exit layers.*"
                        r"in \[-1, 0\]\. Received 42"),
])
def test_token_exit_ids_out_of_range(key, value, message):
    model, x = _tiny("token_exit_vlm")
    bad = dict(x)
    bad[key] = np.array(x[key], "float32" if value == 2.7 else "int32")
    bad[key].flat[0] = value
    with pytest.raises(ValueError, match=message):
        model.predict(bad, verbose=0)
    if key == "token_ids":
        with pytest.raises(ValueError, match=message):
            model.predict_with_exit(bad)
    assert model.predict(x, verbose=0).shape == (4, 3)


# ----------------------------------------------------------------------
# Row: hyper_cl predict dict path with task_id == num_tasks.
# ----------------------------------------------------------------------
def test_hyper_cl_task_id_out_of_range():
    model, x = _tiny("hyper_cl_classifier_chunked")
    bad = dict(x, task_id=np.full(4, 4, "int32"))  # 4 tasks: 0..3
    with pytest.raises(ValueError, match=r"`task_id` must hold task ids in "
                                         r"\[0, 3\]\. Received 4"):
        model.predict(bad, verbose=0)
    with pytest.raises(TypeError, match="dict of arrays"):
        model.predict(x["features"], verbose=0)
    assert np.all(np.isfinite(harness.to_numpy(model.predict(x, verbose=0))))


# ----------------------------------------------------------------------
# Row: UNEM support label 99, empty support set.
# ----------------------------------------------------------------------
def test_unem_bad_support():
    model, x = _tiny("unem_gaussian_classifier")
    bad = dict(x, support_labels=np.array(x["support_labels"]))
    bad["support_labels"][0, 0] = 99
    with pytest.raises(ValueError, match=r"`support_labels` must hold "
                                         r"support labels.*Received 99"):
        model.predict(bad, verbose=0)
    empty = dict(x, support=x["support"][:, :0],
                 support_labels=x["support_labels"][:, :0])
    with pytest.raises(ValueError, match=r"`support` \(the support set\) "
                                         r"has an empty axis"):
        model.predict(empty, verbose=0)
    short = dict(x, support_labels=x["support_labels"][:, :4])
    with pytest.raises(ValueError, match="one label per support sample"):
        model.predict(short, verbose=0)


# ----------------------------------------------------------------------
# Row: 1-D input to a Task.
# ----------------------------------------------------------------------
def test_one_sample_without_batch_axis():
    model, x = _tiny("hyper_mlp_classifier")
    with pytest.raises(ValueError, match=r"shape \(batch, 12\) \(rank 2\)\. "
                                         r"Received shape=\(12,\).*x\[None\]"):
        model.predict(x[0], verbose=0)
    with pytest.raises(TypeError, match="real numbers"):
        model.predict(np.array([["a"] * 12]), verbose=0)


# ----------------------------------------------------------------------
# Rows: CLI predict on pictures.
# ----------------------------------------------------------------------
def _digit_png(tmp_path, name="digit.png", mode=None):
    x, y = zoo.data.load_digits("test")
    idx = int(np.flatnonzero(y == 3)[0])
    img = Image.fromarray(features_to_image(x[idx], scale=8))
    if mode:
        img = img.convert(mode)
    path = tmp_path / name
    img.save(path)
    return path, x[idx]


def _with_header_size(src, dst, width, height):
    """Copies a PNG, claiming another size in its IHDR (CRC fixed)."""
    data = bytearray(src.read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    dst.write_bytes(bytes(data))
    return dst


def test_cli_truncated_png(cli, tmp_path):
    path, _ = _digit_png(tmp_path)
    data = path.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    _one_line_error(cli("predict", "hyper_mlp_digits", cut),
                    "truncated or corrupt")


@pytest.mark.parametrize("side, pattern", [
    (30000, "refused: its header declares more pixels"),
    # Refused from the header alone: the file holds a 64x64 picture's
    # data, so decoding it would fail as truncated instead.
    (8000, r"8000x8000 pixels \(64\.0 M\), over the limit"),
])
def test_cli_huge_png_header_is_refused_before_decoding(cli, tmp_path, side,
                                                        pattern):
    path, _ = _digit_png(tmp_path)
    huge = _with_header_size(path, tmp_path / "huge.png", side, side)
    _one_line_error(cli("predict", "hyper_mlp_digits", huge), pattern)


@pytest.mark.parametrize("mode", ["I;16", "P", "LA", "RGBA", "1"])
def test_cli_reads_16_bit_palette_and_alpha_pictures(cli, tmp_path, mode):
    if mode == "I;16":
        x, y = zoo.data.load_digits("test")
        digit = x[int(np.flatnonzero(y == 3)[0])].reshape(8, 8)
        # Light ink on a dark background, 16-bit values up to 40000.
        arr = np.kron(digit * 40000, np.ones((8, 8))).astype("uint16")
        path = tmp_path / "digit16.png"
        Image.fromarray(arr).save(path)
        assert Image.open(path).mode == "I;16"
    else:
        path, _ = _digit_png(tmp_path, mode=mode)
    result = cli("predict", "hyper_mlp_digits", path, "--json")
    assert result.returncode == 0, result.stderr
    probs = json.loads(result.stdout.strip().splitlines()[-1])
    assert max(probs, key=probs.get) == "3"


def test_cli_wrong_input_kind_for_preset(cli, tmp_path):
    path, _ = _digit_png(tmp_path)
    _one_line_error(cli("predict", "terminator_1d_mnist1d", path),
                    r"does not take a picture: give a \.npy/\.csv array")
    npy = tmp_path / "x.npy"
    np.save(npy, np.zeros((2, 5), "float32"))
    _one_line_error(cli("predict", "unem_gaussian_5shot", npy),
                    r"does not take a \.npy file: give a \.json file")


def test_cli_csv_is_validated_like_the_api(cli, tmp_path):
    x, _ = zoo.data.load_digits("test")
    good = tmp_path / "good.csv"
    np.savetxt(good, x[:2], delimiter=",")
    result = cli("predict", "hyper_mlp_digits", good, "--json", "--top", "1")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout.strip().splitlines()[-1])) == 2
    wide = tmp_path / "wide.csv"
    np.savetxt(wide, np.zeros((2, 65)), delimiter=",")
    _one_line_error(cli("predict", "hyper_mlp_digits", wide),
                    r"axis 1 must have size 64")
    text = tmp_path / "text.csv"
    text.write_text("a,b,c\n")
    _one_line_error(cli("predict", "hyper_mlp_digits", text),
                    "not a readable numeric CSV")


# ----------------------------------------------------------------------
# Rows: CLI train (--out, resume, training_command, Ctrl+C).
# ----------------------------------------------------------------------
def test_cli_train_out_is_a_file_or_unwritable(cli, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    _one_line_error(cli("train", "hyper_mlp_digits", "--out", afile),
                    "exists and is not a directory")
    # A path below a file cannot be created (even as root).
    _one_line_error(cli("train", "hyper_mlp_digits", "--out",
                        afile / "run"), "cannot be used as a run directory")


def _fake_checkpoint(out, epoch, **run):
    os.makedirs(os.path.join(out, "checkpoints", "latest"))
    with open(os.path.join(out, "checkpoints", "latest", "state.json"),
              "w") as f:
        json.dump({"epoch": epoch}, f)
    record = {"family": "hyper_mlp_digits", "precision": "float32",
              "seed": 0, "backend": BACKEND}
    record.update(run)
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump(record, f)


def test_cli_resume_refuses_another_run(cli, tmp_path):
    out = str(tmp_path / "run")
    # A float32 run killed after epoch 7.
    _fake_checkpoint(out, 7)
    _one_line_error(
        cli("train", "hyper_mlp_digits", "--out", out, "--epochs", "6",
            "--precision", "mixed_bfloat16"),
        r"checkpoint of another run: precision 'float32' "
        r"\(asked: 'mixed_bfloat16'\)")
    _one_line_error(
        cli("train", "hyper_mlp_digits", "--out", out, "--epochs", "6"),
        "already trained 7 epochs, more than the 6 asked")
    _one_line_error(
        cli("train", "hyper_mlp_digits", "--out", out, "--seed", "3"),
        r"seed 0 \(asked: 3\)")
    assert not os.path.exists(os.path.join(out, "preset"))


def _tiny_recipe(interrupt_after=None):
    """A recipe on the tiny HyperMLP (seconds, not minutes)."""

    class _CtrlC(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == interrupt_after:
                raise KeyboardInterrupt()

    def recipe(epochs=None, out_dir=None, seed=0, verbose=0):
        spec = zoo.get_model_spec("hyper_mlp_classifier")
        model = spec.build_tiny(seed)
        model.compile()
        x, y = spec.example_batch(16, seed)
        callbacks = [] if interrupt_after is None else [_CtrlC()]
        training.fit_resumable(model, x, y, epochs=epochs or 2,
                               out_dir=out_dir, batch_size=8, verbose=0,
                               callbacks=callbacks)
        return model, {"accuracy": 0.5}, {"dataset": "synthetic"}

    return recipe


def _declare_recipe(monkeypatch, recipe):
    """Declares `tiny_test_recipe` in a throw-away family module."""
    import types

    from zoo.family import Family
    from zoo.family import PresetSpec

    module = types.ModuleType("tiny_test_family")
    module.FAMILY = Family(
        name="tiny_test", title="test recipes",
        presets=(PresetSpec("tiny_test_recipe", zoo.HyperMLPClassifier,
                            recipe, evaluate=None),),
    )
    monkeypatch.setitem(sys.modules, "tiny_test_family", module)
    if "tiny_test_family" not in zoo.FAMILIES:
        monkeypatch.setattr(zoo, "FAMILIES",
                            zoo.FAMILIES + ["tiny_test_family"])


def test_cli_training_command_runs_when_pasted(cli, tmp_path, monkeypatch):
    _declare_recipe(monkeypatch, _tiny_recipe())
    out = str(tmp_path / "my run")
    result = cli("train", "tiny_test_recipe", "--out", out, "--epochs", "2",
                 "--quiet")
    assert result.returncode == 0, result.stderr
    preset = json.loads(result.stdout.strip().splitlines()[-1])["preset"]
    command = zoo.read_metadata(preset)["training_command"]
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "zoo"]
    assert argv[3:] == ["train", "tiny_test_recipe", "--out", out,
                        "--epochs", "2", "--quiet"]
    from zoo.cli import _parser

    args = _parser().parse_args(argv[3:])
    assert (args.family, args.out, args.epochs) == ("tiny_test_recipe", out,
                                                    2)
    # A script's command line is quoted the same way.
    assert training.command_line(["/x/zoo/__main__.py", "train", "a b"]) \
        == "python -m zoo train 'a b'"


def test_cli_ctrl_c_keeps_checkpoint_and_says_rerun(cli, tmp_path,
                                                    monkeypatch):
    _declare_recipe(monkeypatch, _tiny_recipe(interrupt_after=1))
    out = str(tmp_path / "run")
    result = cli("train", "tiny_test_recipe", "--out", out, "--epochs", "4",
                 "--quiet")
    assert result.returncode == 130
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "interrupted; rerun the same command to resume" in lines[0]
    assert training.checkpoint_epoch(out) == 2
    # Rerunning the same command resumes and finishes.
    _declare_recipe(monkeypatch, _tiny_recipe())
    result = cli("train", "tiny_test_recipe", "--out", out, "--epochs", "4",
                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert training.checkpoint_epoch(out) == 4
    epochs = [int(r["epoch"]) for r in training.read_log(
        os.path.join(out, "log.csv"))]
    assert epochs == [0, 1, 2, 3]


# ----------------------------------------------------------------------
# Rows: zoo.load with extra or edited files, invalid metadata.json,
# unknown names.
# ----------------------------------------------------------------------
def _copy_preset(tmp_path):
    dst = tmp_path / "digits"
    shutil.copytree(os.path.join(PRESETS_DIR, "hyper_mlp_digits"), dst)
    return dst


def test_load_ignores_files_it_does_not_load(tmp_path):
    path = _copy_preset(tmp_path)
    (path / ".DS_Store").write_bytes(b"\x00\x01")
    with open(path / "README.md", "a") as f:
        f.write("\nMy notes.\n")
    with pytest.warns(UserWarning, match=r"'\.DS_Store' \(not listed\).*"
                                         r"'README\.md' \(modified\)"):
        model = zoo.load(str(path))
    x, _ = zoo.data.load_digits("test")
    assert model.predict(x[:2], verbose=0).shape == (2, 10)
    # A loaded file is still checked.
    with open(path / "task.json", "a") as f:
        f.write(" ")
    with pytest.raises(zoo.PresetChecksumError, match="'task.json'"):
        zoo.load(str(path))


def test_load_invalid_metadata_json_names_the_file(tmp_path):
    path = _copy_preset(tmp_path)
    (path / "metadata.json").write_text("{not json")
    with pytest.raises(zoo.PresetError, match=r"metadata\.json' is not "
                                              r"valid JSON"):
        zoo.load(str(path))


def test_load_unknown_name_lists_presets(cli):
    with pytest.raises(zoo.PresetError, match=r"Unknown preset 'nope'\. "
                                              r"Known presets: .*"
                                              r"hyper_mlp_digits"):
        zoo.load("nope")
    _one_line_error(cli("info", "nope"), "Known presets: .*hyper_mlp_digits")
