"""Compiled batch-1 prefill of DyVTE's removal path, and its speed-up.

`TokenExitVLMBackbone.prefill_with_exit` runs the removal path eagerly,
one op at a time from Python: on a small model the dispatch cost hides
the FLOPs the exit saves. `CompiledPrefill` runs the same algorithm with
the backend's compiler (`zoo._inference_shim.compiled_function`: JAX
`jax.jit`, TensorFlow XLA, PyTorch eager) on two static sequence lengths
only: the full sequence (image tokens in) and the short one (image
tokens removed, original position ids kept). `measure_prefill_speedup`
times it against the full model compiled as one function.
"""

import time

import numpy as np
from keras import ops

EXECUTIONS = ("fused", "split", "steps")


def _median(values):
    return float(np.median(np.asarray(values, "float64")))


class CompiledPrefill:
    """Batch-1 DyVTE prefill with physical removal, compiled.

    The algorithm of `TokenExitVLMBackbone.prefill_with_exit` (router
    `i` after layer `i` until the first `p(exit) > threshold`, or a
    forced `exit_layer`; then the image rows leave the hidden states and
    the later layers run on the short sequence with the kept original
    position ids) followed by the final norm and the answer head on the
    last prompt token. Only two sequence lengths are ever compiled.

    Three executions (`execution`), fastest first on CPU:
    - `"fused"` (default): ONE compiled call. The embedding, then
      layer `i` and router `i` on the full sequence followed by a
      `keras.ops.cond` that either runs the tail of exit layer `i`
      (layers `i+1..L-1` on the short sequence, final norm, head) or
      goes on to layer `i+1`: nested conditionals that XLA executes
      lazily (only the taken branch runs), so the exit decision never
      leaves the device. Threshold and forced exit layer are runtime
      scalars (no recompilation). Compiles `L(L-1)/2` short layers
      once (seconds).
    - `"split"`: TWO compiled calls: the same conditionals with
      branches that only stop (returning the states, exit layer and
      probabilities), then the compiled tail of that exit layer (one
      per exit layer, cached). On JAX within noise of `"fused"`; on
      TensorFlow slower (a second `tf.function` call costs more than
      the untaken branches).
    - `"steps"`: one compiled function per full-length step `i`
      (`layer i + router i`, the embedding fused into step 0) with a
      host read of `p(exit)` after each, then the cached tail. `k + 2`
      calls for an exit after layer `k`: per-call overhead dominates
      on small models.

    The baseline `full` is the whole model (embedding, every layer on
    the full sequence, final norm, head; no routers) as one compiled
    function. On PyTorch both run eagerly (`compiled_function`).

    The weights are read when the object is built (JAX): build a new
    one after training.

    Args:
        model: `zoo.TokenExitVLM`.
        execution: `"fused"`, `"split"` or `"steps"`.

    Example:

    ```python
    fast = CompiledPrefill(model)
    x1 = {"images": x["images"][:1], "token_ids": x["token_ids"][:1]}
    out = fast(x1, threshold=0.5)  # logits, exit_layer, exit_probs
    logits = fast.full(x1)         # the full model, one call
    ```

    Reference:
    - [Li et al., 2024](https://arxiv.org/abs/2411.19628), "Dynamic
      Visual-Token Exit and the Empirical Findings of MLLMs".
    """

    def __init__(self, model, execution="fused"):
        from zoo._inference_shim import compiled_function

        if execution not in EXECUTIONS:
            raise ValueError(
                f"`execution` must be one of {EXECUTIONS}. Received: "
                f"execution={execution!r}"
            )
        self.model = model
        self.execution = execution
        b = model.backbone
        self._backbone = b
        self._last = b.num_layers - 1
        start = b.num_prefix_tokens
        stop = start + b.num_image_tokens
        positions = np.arange(b.sequence_length, dtype="int32")
        self._full_positions = positions
        self._keep = np.concatenate([positions[:start], positions[stop:]])
        self._compile = lambda fn: compiled_function(fn, model.variables)
        self._full = self._compile(self._full_fn)
        self._tails = {}
        if execution == "split":
            self._prefix = self._compile(self._prefix_fn)
        elif execution == "fused":
            self._fused = self._compile(self._fused_fn)
        else:
            self._steps = [self._compile(self._step0_fn)] + [
                self._compile(self._step_fn(i))
                for i in range(1, b.num_layers)
            ]

    # --- building blocks (backend ops, traced by the compiler) ---------
    def _head(self, h):
        b = self._backbone
        return ops.cast(self.model.answer_head(b.final_norm(h)[:, -1]),
                        "float32")

    def _layer_step(self, i, h):
        b = self._backbone
        h = b.transformer_layers[i](h, position_ids=self._full_positions)
        logits = ops.cast(b.routers[i](h), "float32")
        return h, ops.softmax(logits)[0, 1]

    def _tail_fn(self, k, h):
        """Drop the image rows after layer `k`, layers `k+1..`, head."""
        h = ops.take(h, self._keep, axis=1)
        for layer in self._backbone.transformer_layers[k + 1:]:
            h = layer(h, position_ids=self._keep)
        return self._head(h)

    def _full_fn(self, images, token_ids):
        b = self._backbone
        h = b.embed(images, token_ids)
        for layer in b.transformer_layers:
            h = layer(h, position_ids=self._full_positions)
        return self._head(h)

    def _fused_fn(self, images, token_ids, threshold, forced):
        b = self._backbone
        last = self._last
        h = b.embed(images, token_ids)
        probs = ops.zeros((b.num_layers,), "float32")

        def exit_at(k, h, probs):
            return self._tail_fn(k, h), ops.convert_to_tensor(
                k, "int32"), probs

        def level(i, h, probs):
            h, p = self._layer_step(i, h)
            probs = probs + p * ops.one_hot(i, b.num_layers,
                                            dtype="float32")
            if i == last:
                return self._head(h), ops.convert_to_tensor(
                    last, "int32"), probs
            fire = ops.where(forced < -1, p > threshold, forced == i)
            return ops.cond(fire, lambda: exit_at(i, h, probs),
                            lambda: level(i + 1, h, probs))

        return ops.cond(forced == -1, lambda: exit_at(-1, h, probs),
                        lambda: level(0, h, probs))

    def _prefix_fn(self, images, token_ids, threshold, forced):
        """Full-length layers + routers up to the exit: `(h, k, probs)`."""
        b = self._backbone
        last = self._last
        auto = forced < -1
        h = b.embed(images, token_ids)

        def stop(k, h, ps):
            ps = ps + [ops.zeros((), "float32")] * (b.num_layers - len(ps))
            return h, ops.convert_to_tensor(k, "int32"), ops.stack(ps)

        def level(i, h, ps):
            h, p = self._layer_step(i, h)
            ps = ps + [p]
            if i == last:
                return stop(i, h, ps)
            fire = ops.where(auto, p > threshold, forced == i)
            return ops.cond(fire, lambda: stop(i, h, ps),
                            lambda: level(i + 1, h, ps))

        return ops.cond(forced == -1, lambda: stop(-1, h, []),
                        lambda: level(0, h, []))

    def _split_tail(self, k):
        key = ("split", k)
        if key not in self._tails:
            if k == self._last:
                fn = self._head
            else:
                fn = lambda h: self._tail_fn(k, h)  # noqa: E731
            self._tails[key] = self._compile(fn)
        return self._tails[key]

    def _step0_fn(self, images, token_ids):
        return self._layer_step(0, self._backbone.embed(images, token_ids))

    def _step_fn(self, i):
        return lambda h: self._layer_step(i, h)

    def _tail(self, k):
        if k not in self._tails:
            if k == -1:  # No layer ran yet: the embedding is fused in.
                fn = lambda i, t: self._tail_fn(  # noqa: E731
                    -1, self._backbone.embed(i, t))
            else:
                fn = lambda h: self._tail_fn(k, h)  # noqa: E731
            self._tails[k] = self._compile(fn)
        return self._tails[k]

    # --- public API ------------------------------------------------------
    def _inputs(self, inputs):
        b = self._backbone
        images = np.asarray(inputs["images"], "float32")
        token_ids = np.asarray(inputs["token_ids"], "int32")
        if images.shape[0] != 1 or token_ids.shape[0] != 1:
            raise ValueError(
                "`CompiledPrefill` runs on one example (batch size 1). "
                f"Received images of shape {images.shape}."
            )
        length = b.num_prefix_tokens + b.num_text_tokens
        if images.shape[1:3] != (b.image_size, b.image_size) or (
                token_ids.shape != (1, length)):
            raise ValueError(
                "Expected images (1, S, S, C) with S = "
                f"{b.image_size} and token_ids (1, {length}). Received: "
                f"{images.shape} and {token_ids.shape}"
            )
        return images, token_ids

    def full(self, inputs):
        """Answer logits of the full model (no routers), one call.

        Args:
            inputs: dict with `images` `(1, S, S, C)` and `token_ids`.

        Returns:
            A float32 numpy array `(1, num_answers)`.
        """
        return ops.convert_to_numpy(self._full(*self._inputs(inputs)))

    def __call__(self, inputs, threshold=0.5, exit_layer=None):
        """Dynamic (or forced) exit on one example.

        Args:
            inputs: dict with `images` `(1, S, S, C)` and `token_ids`.
            threshold: float in `[0, 1]`: exit when `p(exit) >
                threshold` (compared in float32).
            exit_layer: int in `[-1, num_layers - 1]` or `None`: force
                the exit after this layer.

        Returns:
            A dict: `logits` (float32 numpy `(1, num_answers)`),
            `exit_layer` (int; `num_layers - 1` when no router fired)
            and `exit_probs` (list of float, the routers evaluated
            before the exit), as `prefill_with_exit`.
        """
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(
                f"`threshold` must be in [0, 1]. Received: {threshold!r}"
            )
        last = self._last
        if exit_layer is not None and (
            not isinstance(exit_layer, (int, np.integer))
            or not -1 <= exit_layer <= last
        ):
            raise ValueError(
                f"`exit_layer` must be an int in [-1, {last}] or None. "
                f"Received: exit_layer={exit_layer!r}"
            )
        images, token_ids = self._inputs(inputs)
        forced = np.int32(-2 if exit_layer is None else exit_layer)
        if self.execution == "split":
            h, k, probs = self._prefix(images, token_ids,
                                       np.float32(threshold), forced)
            k = int(ops.convert_to_numpy(k))
            logits = self._split_tail(k)(h)
            probs = ops.convert_to_numpy(probs)[:k + 1]
            return {"logits": ops.convert_to_numpy(logits),
                    "exit_layer": k,
                    "exit_probs": [float(p) for p in probs]}
        if self.execution == "fused":
            logits, k, probs = self._fused(images, token_ids,
                                           np.float32(threshold), forced)
            k = int(ops.convert_to_numpy(k))
            probs = ops.convert_to_numpy(probs)[:k + 1]
            return {"logits": ops.convert_to_numpy(logits),
                    "exit_layer": k,
                    "exit_probs": [float(p) for p in probs]}
        return self._run_steps(images, token_ids, np.float32(threshold),
                               exit_layer)

    def _run_steps(self, images, token_ids, threshold, exit_layer):
        last = self._last
        probs = []
        if exit_layer == -1:
            logits = self._tail(-1)(images, token_ids)
            return {"logits": ops.convert_to_numpy(logits),
                    "exit_layer": -1, "exit_probs": probs}
        h, p = self._steps[0](images, token_ids)
        for i in range(self._backbone.num_layers):
            if i:
                h, p = self._steps[i](h)
            p = np.float32(ops.convert_to_numpy(p))
            probs.append(float(p))
            fire = (p > threshold) if exit_layer is None else (
                i == exit_layer)
            if i == last:
                logits = self._head_fn()(h)
                break
            if fire:
                logits = self._tail(i)(h)
                break
        return {"logits": ops.convert_to_numpy(logits), "exit_layer": i,
                "exit_probs": probs}

    def _head_fn(self):
        if "head" not in self._tails:
            self._tails["head"] = self._compile(self._head)
        return self._tails["head"]

    def warm_up(self, inputs):
        """Compiles every function the calls may need (untimed).

        Args:
            inputs: one example (dict), as for `__call__`.
        """
        self.full(inputs)
        for k in range(-1, self._last + 1):
            self(inputs, exit_layer=k)


def measure_prefill_speedup(model, x, num_questions=48, repeats=3,
                            threshold=None, execution="fused",
                            exit_layer=None):
    """Batch-1 prefill speed-up of the compiled DyVTE removal path.

    Interleaved timing on the first `num_questions` examples of `x`:
    per repeat and question, the full model compiled as one function
    (`CompiledPrefill.full`), then the compiled removal path
    (`CompiledPrefill`, dynamic exit), back to back so that both see
    the same machine load. Each call includes the copy of the logits to
    the host. Compilation happens before timing.

    Args:
        model: `zoo.TokenExitVLM`, or a `CompiledPrefill` to reuse (its
            compiled functions and execution; `execution` is then
            ignored).
        x: input dict with `images` and `token_ids` (`exit_layers`
            ignored).
        num_questions: int. Questions timed (the first ones of `x`).
        repeats: int. Timed passes over them; the median is reported.
        threshold: float or `None` (the model's `exit_threshold`).
        execution: `"fused"`, `"split"` or `"steps"`
            (`CompiledPrefill`).
        exit_layer: int or `None`: force this exit layer instead of the
            routers (for measuring what an exit layer can buy).

    Returns:
        A dict: `speedup` (full / exit time), `full_ms` and `exit_ms`
        (median per question, milliseconds), `mean_exit_layer` and
        `exit_layers` (numpy, per question).

    Example:

    ```python
    measure_prefill_speedup(model, x, num_questions=48)["speedup"]
    ```
    """
    if not isinstance(num_questions, int) or num_questions < 1:
        raise ValueError(
            "`num_questions` must be a positive int. Received: "
            f"num_questions={num_questions!r}"
        )
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(
            f"`repeats` must be a positive int. Received: repeats={repeats!r}"
        )
    if isinstance(model, CompiledPrefill):
        fast, model = model, model.model
    else:
        fast = CompiledPrefill(model, execution)
    threshold = model.exit_threshold if threshold is None else threshold
    num = min(num_questions, len(x["images"]))
    singles = [{"images": np.asarray(x["images"][i:i + 1], "float32"),
                "token_ids": np.asarray(x["token_ids"][i:i + 1], "int32")}
               for i in range(num)]
    fast.warm_up(singles[0])
    exits = np.array([fast(s, threshold, exit_layer)["exit_layer"]
                      for s in singles])
    for s in singles:
        fast.full(s)
    full_t, exit_t = [], []
    for _ in range(repeats):
        full_sum = exit_sum = 0.0
        for s in singles:
            t0 = time.perf_counter()
            fast.full(s)
            t1 = time.perf_counter()
            fast(s, threshold, exit_layer)
            t2 = time.perf_counter()
            full_sum += t1 - t0
            exit_sum += t2 - t1
        full_t.append(full_sum / num)
        exit_t.append(exit_sum / num)
    full_ms, exit_ms = 1000 * _median(full_t), 1000 * _median(exit_t)
    return {"speedup": full_ms / exit_ms, "full_ms": full_ms,
            "exit_ms": exit_ms, "mean_exit_layer": float(np.mean(exits)),
            "exit_layers": exits}
