"""DFP INT16 training: fake-quantised products in any Keras model.

`enable_dfp(model)` makes every product of activations with weights in
`model` (nested layers included) compute on dynamic-fixed-point values:
the input and the kernel are fake-quantised to `bits`-bit DFP
(`layers.dfp.dfp_quantize`, straight-through gradient) and the gradient
arriving at the product's output is DFP-quantised on its way back
(`layers.dfp.dfp_quantize_gradient`), so the backward products take DFP
operands too. The variables (master weights) and the optimizer update
stay float32. `disable_dfp(model)` restores the float model exactly.

Products covered:

- `keras.layers.Dense`, `EinsumDense`, `Conv1D`/`Conv2D`/`Conv3D`
  (causal padding included), `DepthwiseConv1D`/`2D` and
  `SeparableConv1D`/`2D` (both kernels quantised; the intermediate
  depthwise output stays float32, as inside `ops.separable_conv`).
- The zoo's generated kernels, where they meet the activations:
  `FunctionalDense`/`FunctionalConv2D` (kernel and inputs of
  `_forward`), `HyperDense` (the generated kernel times the inputs),
  `ContextLocalConv` (the generated depthwise kernel and the values of
  `per_sample_depthwise_conv`), `TerminatorBlock` and `HyperZZW` (the
  slow network's hyper-kernel `K` is quantised before `Z = x ⊙ K`; `Z`
  and the values are quantised before the global product, whose output
  gradient is quantised).

Decisions:

- Scope as in the paper (unverified details): normalisations, the
  element-wise ops (activations, gates, `x ⊙ K`, residual sums), the
  softmax/attention products of layers that compute them with
  `ops.matmul` on activations only, and the sine coordinate networks
  that generate kernels (`ImplicitKernel`, the kernel network of
  `ContextLocalConv`: their `ops.matmul` on frequencies reach sine
  arguments of hundreds of radians) stay float32. Their `Dense`
  sublayers (channel mixers, context reducers) are quantised like any
  `Dense`. Layers that multiply their own weights with `ops.matmul`
  (`RHNCell`, the token-exit decoder, the hypernetworks' heads) are not
  covered: only the classes listed above are.
- Transposed convolutions are not covered.
- Wrapping is per instance (an instance attribute `call`, `_forward`
  for the functional layers, or the product hooks `hyper_kernel`,
  `global_product`, `depthwise_product` of the Terminator layers, which
  call the class' own method on quantised operands), never a class
  change: `get_config`, the
  weights and `.keras` files are those of the float model, and a model
  saved while enabled loads as a float model. The compiled train, test
  and predict functions are dropped so that the next `fit` retraces.
- One exponent per tensor, i.e. per batch for activations and
  gradients, as in the paper.

Reference:
- [Das et al., 2018](https://arxiv.org/abs/1802.00930), "Mixed Precision
  Training of Convolutional Neural Networks using Integer Operations".
"""

import weakref

import keras
import numpy as np
from keras import ops

from layers.dfp import dfp_quantize
from layers.dfp import dfp_quantize_gradient
from layers.functional import FunctionalConv2D
from layers.functional import FunctionalDense
from layers.functional import _dense_forward
from layers.hyper_dense import HyperDense
from layers.hyperzzw.block import TerminatorBlock
from layers.hyperzzw.global_operator import HyperZZW
from layers.hyperzzw.local_kernels import ContextLocalConv
from zoo import dfp_reference

# layer -> {"bits": int or None (identity, tests only), "attrs": [names]}
_STATE = weakref.WeakKeyDictionary()
# A list while `dfp_overflow_report` records the operands of products.
_CAPTURE = None
_NO_BITS = object()


def _bits(layer):
    return _STATE[layer]["bits"]


def _qx(layer, x):
    bits = _bits(layer)
    return x if bits is None else dfp_quantize(x, bits)


def _qg(layer, y):
    bits = _bits(layer)
    return y if bits is None else dfp_quantize_gradient(y, bits)


def _record(layer, op, a, b, **meta):
    if _CAPTURE is None:
        return
    _CAPTURE.append({
        "layer": layer, "op": op,
        "a": np.asarray(ops.convert_to_numpy(a), "float32"),
        "b": np.asarray(ops.convert_to_numpy(b), "float32"),
        **meta,
    })


def _bias_activation(layer, y, channels, rank=None):
    if layer.bias is not None:
        bias = layer.bias
        if rank is not None:
            if layer.data_format == "channels_last":
                shape = (1,) * (rank + 1) + (channels,)
            else:
                shape = (1, channels) + (1,) * rank
            bias = ops.reshape(bias, shape)
        y = ops.add(y, bias)
    if layer.activation is not None:
        y = layer.activation(y)
    return y


# ----------------------------------------------------------------------
# Per-class calls (same ops, in the same order, as the originals; with
# the quantisers off they give the float outputs bit for bit).
# ----------------------------------------------------------------------
def _dense(layer):
    def call(inputs, training=None):
        kernel = layer.kernel
        _record(layer, "matmul", inputs, kernel)
        y = ops.matmul(_qx(layer, inputs), _qx(layer, kernel))
        return _bias_activation(layer, _qg(layer, y), None)

    return {"call": call}


def _einsum_dense(layer):
    def call(inputs, training=None):
        kernel = layer.kernel
        _record(layer, "einsum", inputs, kernel, equation=layer.equation)
        y = ops.einsum(layer.equation, _qx(layer, inputs),
                       _qx(layer, kernel))
        return _bias_activation(layer, _qg(layer, y), None)

    return {"call": call}


def _conv(layer):
    def call(inputs):
        padding = layer.padding
        if padding == "causal":
            inputs = ops.pad(inputs, layer._compute_causal_padding())
            padding = "valid"
        kernel = layer.kernel
        _record(layer, "conv", inputs, kernel, strides=layer.strides,
                padding=padding, dilation=layer.dilation_rate,
                data_format=layer.data_format)
        y = ops.conv(_qx(layer, inputs), _qx(layer, kernel),
                     strides=list(layer.strides), padding=padding,
                     dilation_rate=layer.dilation_rate,
                     data_format=layer.data_format)
        return _bias_activation(layer, _qg(layer, y), layer.filters,
                                layer.rank)

    return {"call": call}


def _depthwise(layer):
    def call(inputs):
        channel = layer._get_input_channel(inputs.shape)
        kernel = layer.kernel
        _record(layer, "depthwise", inputs, kernel, strides=layer.strides,
                padding=layer.padding, dilation=layer.dilation_rate,
                data_format=layer.data_format)
        y = ops.depthwise_conv(_qx(layer, inputs), _qx(layer, kernel),
                               strides=layer.strides, padding=layer.padding,
                               dilation_rate=layer.dilation_rate,
                               data_format=layer.data_format)
        return _bias_activation(layer, _qg(layer, y),
                                layer.depth_multiplier * channel,
                                layer.rank)

    return {"call": call}


def _separable(layer):
    def call(inputs):
        y = ops.separable_conv(
            _qx(layer, inputs), _qx(layer, layer.depthwise_kernel),
            _qx(layer, layer.pointwise_kernel), strides=layer.strides,
            padding=layer.padding, dilation_rate=layer.dilation_rate,
            data_format=layer.data_format,
        )
        return _bias_activation(layer, _qg(layer, y), layer.filters,
                                layer.rank)

    return {"call": call}


def _record_functional(layer, inputs, kernel):
    if _CAPTURE is None:
        return
    rank = len(kernel.shape)
    if isinstance(layer, FunctionalConv2D):
        if rank == 4:
            _record(layer, "conv", inputs, kernel, strides=layer.strides,
                    padding=layer.padding, dilation=(1, 1),
                    data_format="channels_last")
        else:
            _record(layer, "sample_conv", inputs, kernel,
                    strides=layer.strides, padding=layer.padding)
    elif rank == 2:
        _record(layer, "matmul", inputs, kernel)
    else:
        _record(layer, "sample_matmul", inputs, kernel)


def _functional(layer):
    forward = type(layer)._forward.__get__(layer)

    def _forward(inputs, kernel, bias):
        _record_functional(layer, inputs, kernel)
        y = forward(_qx(layer, inputs), _qx(layer, kernel), bias)
        return _qg(layer, y)

    return {"_forward": _forward}


def _hyper_dense(layer):
    def call(inputs, condition=None):
        kernel, bias = layer.generate_weights(condition)
        _record_functional(layer, inputs, kernel)
        y = _dense_forward(_qx(layer, inputs), _qx(layer, kernel), bias,
                           layer.compute_dtype)
        y = _qg(layer, y)
        if layer.activation is not None:
            y = layer.activation(y)
        return y

    return {"call": call}


def _global_hooks(layer):
    """The product hooks of `TerminatorBlock` and `HyperZZW`: the slow
    kernel is quantised before `x * K`; `z` and the values before the
    global product, whose output gradient is quantised."""
    cls = type(layer)

    def global_product(z, values):
        _record(layer, "global", z, values, rank=layer.rank,
                mode=layer.global_mode)
        y = cls.global_product(layer, _qx(layer, z), _qx(layer, values))
        return _qg(layer, y)

    if isinstance(layer, TerminatorBlock):
        def hyper_kernel(dtype):
            return _qx(layer, cls.hyper_kernel(layer, dtype))
    else:
        def hyper_kernel(kernel, dtype):
            return _qx(layer, cls.hyper_kernel(layer, kernel, dtype))

    return {"global_product": global_product, "hyper_kernel": hyper_kernel}


def _local_conv(layer):
    cls = type(layer)

    def depthwise_product(inputs, kernel):
        _record(layer, "sample_depthwise", inputs, kernel)
        y = cls.depthwise_product(layer, _qx(layer, inputs),
                                  _qx(layer, kernel))
        return _qg(layer, y)

    return {"depthwise_product": depthwise_product}


# Most specific classes first.
_WRAPPERS = (
    ((TerminatorBlock, HyperZZW), _global_hooks),
    (ContextLocalConv, _local_conv),
    (HyperDense, _hyper_dense),
    ((FunctionalDense, FunctionalConv2D), _functional),
    ((keras.layers.SeparableConv1D, keras.layers.SeparableConv2D),
     _separable),
    ((keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D),
     _depthwise),
    ((keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D),
     _conv),
    (keras.layers.EinsumDense, _einsum_dense),
    (keras.layers.Dense, _dense),
)


def _wrapper_for(layer):
    for classes, make in _WRAPPERS:
        if isinstance(layer, classes):
            return make
    return None


def _layers(model):
    return list(model._flatten_layers(include_self=True, recursive=True))


def _drop_compiled(model):
    for name in ("train_function", "test_function", "predict_function"):
        if getattr(model, name, None) is not None:
            setattr(model, name, None)


def _enable(model, bits):
    for layer in _layers(model):
        make = _wrapper_for(layer)
        if make is None:
            continue
        if getattr(layer, "quantization_mode", None):
            raise ValueError(
                f"Layer {layer.name!r} is quantised "
                f"({layer.quantization_mode}); DFP needs a float layer."
            )
        state = _STATE.get(layer)
        if state is not None:
            state["bits"] = bits
            continue
        methods = make(layer)
        for name, fn in methods.items():
            object.__setattr__(layer, name, fn)
        _STATE[layer] = {"bits": bits, "attrs": list(methods)}
    _drop_compiled(model)
    return model


def enable_dfp(model, bits=16):
    """Trains `model`'s products in `bits`-bit dynamic fixed point.

    Wraps every supported layer of `model` (nested ones included; see
    the module docstring for the list and the decisions) so that its
    inputs and kernels are DFP fake-quantised with straight-through
    gradients and the gradient at its product's output is DFP-quantised.
    Idempotent: calling it again changes nothing (or only `bits`).

    Args:
        model: a `keras.Model` or `keras.layers.Layer`.
        bits: int. Mantissa width including the sign (2 to 24).

    Returns:
        `model`, wrapped in place.

    Example:

    ```python
    model = zoo.registry.build_tiny("hyper_mlp_tiny")
    zoo.dfp_training.enable_dfp(model)
    model.fit(x, y)  # products in DFP INT16, master weights float32
    zoo.dfp_training.disable_dfp(model)
    ```

    Reference:
    - [Das et al., 2018](https://arxiv.org/abs/1802.00930), "Mixed
      Precision Training of Convolutional Neural Networks using Integer
      Operations".
    """
    if not isinstance(bits, int) or not 2 <= bits <= 24:
        raise ValueError(
            f"`bits` must be an int in [2, 24]. Received: bits={bits!r}"
        )
    return _enable(model, bits)


def disable_dfp(model):
    """Removes the DFP wrappers of `model`: the float model again.

    Args:
        model: a `keras.Model` or layer passed to `enable_dfp` (or not:
            then nothing changes).

    Returns:
        `model`, whose layers use their class' `call` again.

    Example:

    ```python
    zoo.dfp_training.disable_dfp(model)
    ```
    """
    for layer in _layers(model):
        state = _STATE.pop(layer, None)
        if state is None:
            continue
        for name in state["attrs"]:
            if name in vars(layer):
                object.__delattr__(layer, name)
    _drop_compiled(model)
    return model


def dfp_layers(model):
    """The layers of `model` that currently compute in DFP.

    Args:
        model: a `keras.Model` or layer.

    Returns:
        List of `(layer, bits)` pairs, in `model`'s layer order.

    Example:

    ```python
    [layer.name for layer, _ in zoo.dfp_training.dfp_layers(model)]
    ```
    """
    return [(layer, _STATE[layer]["bits"]) for layer in _layers(model)
            if layer in _STATE]


# ----------------------------------------------------------------------
# Overflow report
# ----------------------------------------------------------------------
def _pad_same(size, k, stride, dilation):
    span = (k - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def _patches(x, kernel_size, strides, padding, dilation):
    """im2col, channels last: `(B, *out, prod(kernel_size) * C)`."""
    rank = len(kernel_size)
    if padding == "same":
        pads = [_pad_same(x.shape[1 + i], kernel_size[i], strides[i],
                          dilation[i]) for i in range(rank)]
        x = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    elif padding != "valid":
        raise ValueError(f"Unsupported padding {padding!r}.")
    sizes = [(x.shape[1 + i] - (kernel_size[i] - 1) * dilation[i] - 1)
             // strides[i] + 1 for i in range(rank)]
    taps = []
    for offset in np.ndindex(*kernel_size):
        index = (slice(None),) + tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offset, dilation, sizes, strides)
        )
        taps.append(x[index])
    patches = np.stack(taps, axis=-2)  # (B, *out, taps, C)
    return patches.reshape(patches.shape[:-2] + (-1,))


def _to_last(x, data_format):
    if data_format == "channels_first":
        return np.moveaxis(x, 1, -1)
    return x


def _tuple(value, rank):
    return tuple(value) if isinstance(value, (tuple, list)) else (
        (value,) * rank)


def _circulant(values, mode):
    """`V[b, s, t, c] = values[b, t - s, c]` (circular or causal)."""
    length = values.shape[1]
    t = np.arange(length)
    shift = (t[None, :] - t[:, None])  # (s, t)
    v = values[:, shift % length, :]
    if mode == "causal":
        v = v * (shift >= 0)[None, :, :, None]
    return v


def _product_of(rec, chunk, bits):
    """`(DFPProduct, reduction length)` of one recorded product."""
    a, b, op = rec["a"], rec["b"], rec["op"]
    run = dfp_reference.dfp_einsum

    def ein(equation, left, right, k):
        return run(equation, left, right, chunk, bits), k

    if op == "matmul":
        return dfp_reference.dfp_matmul(a, b, chunk, bits), b.shape[0]
    if op == "einsum":
        return ein(rec["equation"], a, b, None)
    if op == "sample_matmul":
        left = a.reshape(a.shape[0], -1, a.shape[-1])
        return ein("bni,bio->bno", left, b, b.shape[1])
    if op in ("conv", "depthwise"):
        x = _to_last(a, rec["data_format"])
        rank = x.ndim - 2
        ks = b.shape[:rank]
        p = _patches(x, ks, _tuple(rec["strides"], rank), rec["padding"],
                     _tuple(rec["dilation"], rank))
        flat = p.reshape(-1, p.shape[-1])
        if op == "depthwise":
            cin = x.shape[-1]
            taps = flat.reshape(flat.shape[0], -1, cin)
            kern = b.reshape(-1, cin, b.shape[-1])
            return ein("ntc,tcm->ncm", taps, kern, kern.shape[0])
        cin_group = b.shape[-2]
        groups = x.shape[-1] // cin_group
        if groups == 1:
            return dfp_reference.dfp_matmul(
                flat, b.reshape(-1, b.shape[-1]), chunk, bits
            ), flat.shape[-1]
        taps = flat.reshape(flat.shape[0], -1, groups, cin_group)
        kern = b.reshape(-1, cin_group, groups, b.shape[-1] // groups)
        return ein("ntgc,tcgo->ngo", taps, kern, taps.shape[1] * cin_group)
    if op == "sample_conv":
        ks = b.shape[1:3]
        p = _patches(a, ks, rec["strides"], rec["padding"], (1, 1))
        flat = p.reshape(p.shape[0], -1, p.shape[-1])
        kern = b.reshape(b.shape[0], -1, b.shape[-1])
        return ein("bpk,bko->bpo", flat, kern, kern.shape[1])
    if op == "sample_depthwise":
        rank = a.ndim - 2
        k = b.shape[1]
        ones = (1,) * rank
        p = _patches(a, (k,) * rank, ones, "same", ones)
        taps = p.reshape(p.shape[0], -1, k**rank, a.shape[-1])
        kern = b.reshape(b.shape[0], k**rank, b.shape[-1])
        return ein("bptc,btc->bpc", taps, kern, k**rank)
    if op == "global":
        if rec["rank"] == 2:
            return ein("bhwc,bwvc->bhvc", a, b, a.shape[2])
        v = _circulant(b, rec["mode"])
        return ein("bsc,bstc->btc", a, v, a.shape[1])
    raise ValueError(f"Unknown product {op!r}.")


def dfp_overflow_report(model, x, chunk=8, bits=None):
    """Int32 accumulator overflows of every DFP product of `model` on `x`.

    Runs `model(x, training=False)` eagerly with DFP enabled (temporarily
    if it is not), records the operands of every product, and replays
    each product through `zoo.dfp_reference` (bit-exact DFP, int64
    overflow detection): once with one int32 accumulator per output over
    the whole reduction, once with accumulators over `chunk` entries.

    Args:
        model: a `keras.Model`.
        x: a batch of inputs for `model`.
        chunk: int. Reduction entries per chunked int32 accumulator.
            Decision: 8 by default (the paper's block size is
            unverified); eight int16 products overflow int32 only when
            their mean magnitude exceeds `2**28`, i.e. both operands
            above half range; two never do.
        bits: int or `None`. Mantissa width; `None`: the enabled width,
            or 16.

    Returns:
        List of dicts, one per (layer, product), with keys `layer`,
        `op`, `calls`, `reduction` (entries summed per output),
        `outputs` (accumulators without chunking), `overflows_unchunked`,
        `chunk`, `accumulators` and `overflows`. A product the reference
        cannot replay gets `None` counts and an `error` key.

    Example:

    ```python
    rows = zoo.dfp_training.dfp_overflow_report(model, x[:64])
    sum(r["overflows_unchunked"] for r in rows)
    ```
    """
    global _CAPTURE
    enabled = dict(dfp_layers(model))
    if bits is None:
        bits = next(iter(enabled.values()), None) or 16
    _enable(model, bits)
    _CAPTURE = []
    try:
        model(x, training=False)
        records = _CAPTURE
    finally:
        _CAPTURE = None
        disable_dfp(model)
        for layer, layer_bits in enabled.items():
            _enable(layer, layer_bits)
    rows = {}
    for rec in records:
        layer = rec["layer"]
        key = (getattr(layer, "path", layer.name), rec["op"])
        row = rows.setdefault(key, {
            "layer": key[0], "op": rec["op"], "calls": 0, "reduction": 0,
            "outputs": 0, "overflows_unchunked": 0, "chunk": chunk,
            "accumulators": 0, "overflows": 0,
        })
        row["calls"] += 1
        if row.get("error"):
            continue
        try:
            product, k = _product_of(rec, chunk, bits)
        except ValueError as error:
            row.update(error=str(error), overflows=None,
                       overflows_unchunked=None)
            continue
        row["reduction"] = k
        row["outputs"] += product.value.size
        row["overflows_unchunked"] += product.overflows_unchunked
        row["accumulators"] += product.accumulators
        row["overflows"] += product.overflows
    return list(rows.values())

