"""Resumable training, precision policies and the train() entry point."""

import os

import keras
import numpy as np
import pytest

import zoo
from zoo import training


class _Interrupt(Exception):
    pass


class _StopAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise _Interrupt()


def _data():
    spec = zoo.get_model_spec("hyper_mlp_classifier")
    return spec, *spec.example_batch(32, 0)


def test_fit_resumable_resumes_after_interruption(tmp_path):
    spec, x, y = _data()
    out = str(tmp_path / "run")
    model = spec.build_tiny(0)
    with pytest.raises(_Interrupt):
        training.fit_resumable(model, x, y, epochs=4, out_dir=out,
                               batch_size=8, verbose=0,
                               callbacks=[_StopAfter(1)])
    assert [int(r["epoch"]) for r in training.read_log(
        os.path.join(out, "log.csv"))] == [0, 1]
    # A new process would rebuild the model: do the same here.
    model = spec.build_tiny(1)
    history = training.fit_resumable(model, x, y, epochs=4, out_dir=out,
                                     batch_size=8, verbose=0)
    assert history.epoch == [2, 3]
    rows = training.read_log(os.path.join(out, "log.csv"))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    # Finished: running again trains nothing more.
    history = training.fit_resumable(spec.build_tiny(2), x, y, epochs=4,
                                     out_dir=out, batch_size=8, verbose=0)
    assert history.epoch == []


def test_precision_scope_restores_policy():
    with training.precision_scope("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ValueError, match="`precision` must be one of"):
        training.check_precision("fp8")


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_train_writes_a_loadable_preset(tmp_path, precision):
    preset, metrics = training.train(
        "hyper_mlp_digits", str(tmp_path / "run"), epochs=1,
        precision=precision, verbose=0,
    )
    assert 0.0 <= metrics["accuracy"] <= 1.0
    meta = zoo.read_metadata(preset)
    assert meta["precision"] == precision
    assert meta["backend"] == keras.backend.backend()
    model = zoo.load(preset)
    x, _ = zoo.data.load_digits("test")
    probs = model.predict(x[:4], verbose=0)
    assert np.all(np.isfinite(np.asarray(probs)))


def test_unknown_recipe_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown preset or recipe 'nope'.*"
                       "terminator_2d_digits"):
        training.train("nope", "/tmp/never")


def test_train_checks_arguments_before_training(tmp_path):
    out = tmp_path / "run"
    (out / "preset").mkdir(parents=True)
    with pytest.raises(ValueError, match="already exists; pass overwrite"):
        training.train("hyper_mlp_digits", str(out), epochs=1)
    with pytest.raises(ValueError, match="`epochs` must be a positive"):
        training.train("hyper_mlp_digits", str(out), epochs=0)
    # Nothing was trained: no log, no checkpoint.
    assert not (out / "log.csv").exists()
    assert training.checkpoint_epoch(str(out)) is None


def test_resume_without_run_record_warns(tmp_path):
    out = tmp_path / "run"
    state = out / "checkpoints" / "latest" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"epoch": 3}')
    assert training.checkpoint_epoch(str(out)) == 3
    run = {"family": "hyper_mlp_digits", "precision": "float32", "seed": 0,
           "epochs": 5, "backend": keras.backend.backend()}
    with pytest.warns(UserWarning, match="cannot be checked"):
        training._check_resume(str(out), run)
    # The run is recorded now: the same arguments pass, others do not.
    training._check_resume(str(out), run)
    with pytest.raises(ValueError, match=r"family 'hyper_mlp_digits' "
                                         r"\(asked: 'other'\)"):
        training._check_resume(str(out), dict(run, family="other"))


def test_command_line_runs_when_pasted():
    assert training.command_line(
        ["/usr/lib/python3/site-packages/zoo/__main__.py", "train", "x",
         "--out", "my runs/a"]) == "python -m zoo train x --out 'my runs/a'"
    assert training.command_line(["scripts/train_unem.py", "--seed", "1"]) \
        == "python scripts/train_unem.py --seed 1"
