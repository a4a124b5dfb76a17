"""Gradient audit: the exact gradient of the training loss per weight.

    KERAS_BACKEND=jax python -m tests.grad_audit [NAME ...] [--dead-only]

For every layer case of `tests/cases.py` (inputs from
`harness.make_inputs`, an MSE loss against a fixed normal target, as in
the harness's training step) and every registry model
(`spec.build_tiny(0)`, `spec.example_batch(8, 0)`, the Task's own
training loss), this computes the gradient of the training loss with
respect to every trainable weight on the current backend (JAX
`jax.grad` of `compute_loss_and_updates`, a `tf.GradientTape`, or torch
autograd: the same loss the backend's `train_step` differentiates) and
prints, per weight, `max|g|` and `max|g|` relative to the largest
per-weight `max|g|` of the model. Weights whose relative gradient is
below `DEAD_REL` are listed as structurally dead candidates.

The harness (`tests/harness.py`) imports `weight_gradients` and
`relative_gradients` from here for its "every weight gets a gradient"
check.
"""

import re
import sys

import keras
import numpy as np

BACKEND = keras.backend.backend()
# Below this relative gradient a weight is a structurally dead candidate.
DEAD_REL = 1e-5


def _to_backend(x):
    """Numpy structure -> backend tensors (the trainers do the same)."""
    return keras.tree.map_structure(
        lambda v: None if v is None else keras.ops.convert_to_tensor(v), x
    )


def _grads_jax(model, x, y):
    import jax

    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    mv = [v.value for v in model.metrics_variables]
    ov = [v.value for v in model.optimizer.variables]

    def loss_fn(trainable):
        loss, _ = model.compute_loss_and_updates(
            trainable, ntv, mv, x, y, None, training=True,
            optimizer_variables=ov,
        )
        return loss

    return jax.jit(jax.grad(loss_fn))(tv)


def _forward_loss(model, x, y):
    if model._call_has_training_arg:
        y_pred = model(x, training=True)
    else:
        y_pred = model(x)
    return model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=None,
                               training=True)


def _grads_tensorflow(model, x, y):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = _forward_loss(model, x, y)
    return tape.gradient(loss, model.trainable_weights)


def _grads_torch(model, x, y):
    model.zero_grad()
    loss = _forward_loss(model, x, y)
    loss.backward()
    grads = [v.value.grad for v in model.trainable_weights]
    grads = [None if g is None else g.detach().clone() for g in grads]
    model.zero_grad()
    return grads


def weight_gradients(model, x, y):
    """`max|g|` of the training loss for every trainable weight.

    The model must be compiled (its loss is the one differentiated). The
    gradient is taken at the current weights, in training mode, on the
    whole of `(x, y)` as one batch, without the optimizer's loss scaling.
    A weight that the loss does not depend on at all gets 0.

    Args:
        model: a compiled `keras.Model`.
        x: numpy inputs (array, list or dict).
        y: numpy targets.

    Returns:
        A list of `(path, max_abs_gradient)` in `model.trainable_weights`
        order (float, exact float32 values converted to Python floats).

    Example:

    ```python
    model.compile(optimizer="adam", loss="mse")
    for path, g in weight_gradients(model, x, y):
        print(path, g)
    ```
    """
    model._symbolic_build(data_batch=(x, y, None))
    xt, yt = _to_backend(x), _to_backend(y)
    grads = {"jax": _grads_jax, "tensorflow": _grads_tensorflow,
             "torch": _grads_torch}[BACKEND](model, xt, yt)
    out = []
    for w, g in zip(model.trainable_weights, grads):
        if g is None:
            out.append((w.path, 0.0))
            continue
        g = np.asarray(keras.ops.convert_to_numpy(g), dtype="float64")
        assert np.all(np.isfinite(g)), f"{w.path}: non-finite gradient"
        out.append((w.path, float(np.max(np.abs(g))) if g.size else 0.0))
    return out


def relative_gradients(gradients):
    """Divides each `max|g|` by the largest one of the model.

    Args:
        gradients: the list returned by `weight_gradients`.

    Returns:
        A list of `(path, max_abs_gradient, relative)`.

    Example:

    ```python
    rows = relative_gradients(weight_gradients(model, x, y))
    ```
    """
    top = max((g for _, g in gradients), default=0.0)
    assert top > 0, "The loss has no gradient with respect to any weight"
    return [(p, g, g / top) for p, g in gradients]


def _reference_prefix(path, paths):
    """The layer whose weights set the scale of `path`'s gradient."""
    prefix = path.rsplit("/", 1)[0] if "/" in path else ""
    while prefix:
        members = [p for p in paths if p.startswith(prefix + "/")]
        if len(members) >= 2:
            return prefix
        prefix = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    return ""


def local_relative_gradients(gradients):
    """Each `max|g|` relative to the largest one of its own layer.

    The reference of a weight is the largest `max|g|` among the weights
    of its layer (the variables sharing its path without the last
    component); for a weight alone in its layer, the nearest enclosing
    layer with at least two weights, and at the top, the whole model.
    Rounding noise in a gradient that cancels exactly (a bias before a
    standardisation, a shift before a softmax) is of the order of
    float32 epsilon times the gradient flowing into that layer, which
    its sibling weights see too; a real gradient deep in a network can
    be far below the model's largest gradient, but not far below its
    siblings'.

    Args:
        gradients: the list returned by `weight_gradients`.

    Returns:
        A list of `(path, max_abs_gradient, relative_to_model,
        relative_to_layer, reference_prefix)`.

    Example:

    ```python
    rows = local_relative_gradients(weight_gradients(model, x, y))
    ```
    """
    paths = [p for p, _ in gradients]
    top = max((g for _, g in gradients), default=0.0)
    assert top > 0, "The loss has no gradient with respect to any weight"
    rows = []
    for path, g in gradients:
        prefix = _reference_prefix(path, paths)
        ref = max(h for p, h in gradients
                  if not prefix or p.startswith(prefix + "/"))
        rows.append((path, g, g / top, g / ref if ref > 0 else 0.0,
                     prefix))
    return rows


def declared_zero(path, zero_grad_weights):
    """The reason a weight is declared structurally zero, or `None`.

    Args:
        path: a variable path.
        zero_grad_weights: dict `{path regex: reason}` (`re.search`).

    Returns:
        The reason string of the first matching pattern, or `None`.

    Example:

    ```python
    declared_zero("block/mixer/bias", {r"mixer/bias$": "before a norm"})
    ```
    """
    for pattern, reason in (zero_grad_weights or {}).items():
        if re.search(pattern, path):
            return reason
    return None


# ----------------------------------------------------------------------
# The layer cases and registry models, built as the harness builds them
# ----------------------------------------------------------------------
def layer_case_model(case):
    """A compiled one-layer model, its inputs and its MSE target.

    Args:
        case: an entry of `tests/cases.py:LAYER_CASES`.

    Returns:
        `(model, inputs, target)` as the harness's training step uses
        them (inputs a list of numpy arrays in call order).

    Example:

    ```python
    model, x, y = layer_case_model(LAYER_CASES["rhn_separate_carry"])
    ```
    """
    import layers
    from tests import harness

    layer_cls = getattr(layers, case["layer"])
    inputs = harness.make_inputs(case["inputs"], np.random.default_rng(0))
    model, _ = harness._layer_model(
        lambda: layer_cls(**case["init_kwargs"]), inputs
    )
    data = list(inputs.values())
    y = harness.to_numpy(model(data))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model, data, harness._regression_target(y)


def registry_model(spec):
    """A tiny registry model compiled as the harness compiles it.

    Args:
        spec: a `zoo.registry.ModelSpec`.

    Returns:
        `(model, x, y)` with `harness.build_tiny(spec)` and
        `spec.example_batch(8, 0)`.

    Example:

    ```python
    model, x, y = registry_model(zoo.get_model_spec("hyper_mlp_classifier"))
    ```
    """
    from tests import harness

    x, y = spec.example_batch(8, 0)
    model = harness.build_tiny(spec)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model, x, y


def audit_all(names=()):
    """Audits every layer case and registry model (or those named).

    Args:
        names: iterable of case / model names; empty for all.

    Returns:
        A dict `{name: (rows, zero_grad_weights)}` with rows from
        `local_relative_gradients`.

    Example:

    ```python
    results = audit_all(["rhn_separate_carry"])
    ```
    """
    import zoo
    from tests.cases import LAYER_CASES

    results = {}
    for name in sorted(LAYER_CASES):
        case = LAYER_CASES[name]
        if names and name not in names:
            continue
        if not case.get("num_trainable"):
            continue
        keras.backend.clear_session(free_memory=False)
        model, x, y = layer_case_model(case)
        results[name] = (
            local_relative_gradients(weight_gradients(model, x, y)),
            case.get("zero_grad_weights", {}),
        )
    for name in zoo.list_models():
        if names and name not in names:
            continue
        spec = zoo.get_model_spec(name)
        keras.backend.clear_session(free_memory=False)
        model, x, y = registry_model(spec)
        results[name] = (
            local_relative_gradients(weight_gradients(model, x, y)),
            getattr(spec, "zero_grad_weights", None) or {},
        )
    return results


def main(argv=None):
    """Prints the audit table and the dead candidates.

    Args:
        argv: list of str, names to audit and `--dead-only`.

    Returns:
        The dead candidates, a list of `(name, path, max|g|, relative to
        model, relative to layer)`.

    Example:

    ```bash
    KERAS_BACKEND=torch python -m tests.grad_audit --dead-only
    ```
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    dead_only = "--dead-only" in argv
    names = [a for a in argv if not a.startswith("--")]
    results = audit_all(names)
    dead = []
    live, zero = [], []
    print(f"backend {BACKEND}, keras {keras.version()}; relative = max|g| "
          "over the largest max|g| of the model / of the weight's layer")
    for name, (rows, zero_decl) in results.items():
        if not dead_only:
            print(f"\n== {name}")
            print(f"{'weight':<62} {'max|g|':>9} {'rel model':>9} "
                  f"{'rel layer':>9}")
        for path, g, rel, local, _ in rows:
            reason = declared_zero(path, zero_decl)
            flag = ""
            if reason is not None:
                zero.append((local, rel, name, path))
                flag = "  declared zero"
            elif local < DEAD_REL:
                dead.append((name, path, g, rel, local))
                flag = "  DEAD?"
            else:
                live.append((local, rel, name, path))
            if not dead_only:
                print(f"{path:<62} {g:9.2e} {rel:9.2e} {local:9.2e}{flag}")
    print(f"\nDead candidates (relative to layer < {DEAD_REL:g}, not "
          "declared):")
    for name, path, g, rel, local in dead:
        print(f"  {name}: {path}  max|g|={g:.2e}  rel model={rel:.2e}  "
              f"rel layer={local:.2e}")
    if not dead:
        print("  none")
    for label, group in (("live", live), ("declared-zero", zero)):
        if group:
            lo, hi = min(group), max(group)
            print(f"{label} weights: relative to layer in [{lo[0]:.2e} "
                  f"({lo[2]}: {lo[3]}), {hi[0]:.2e}]; smallest relative to "
                  f"model {min(r for _, r, _, _ in group):.2e}")
    return dead


if __name__ == "__main__":
    main()
