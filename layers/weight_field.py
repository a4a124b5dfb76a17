"""NeuMeta's coordinate weight field: a hypernetwork over weight indices.

An implicit neural representation (INR) maps the coordinate of one
weight entry to its value, so the weights of a network of any width can
be sampled from one continuous "weight manifold" (Neural Metamorphosis).
"""

import math

import keras
import numpy as np
from keras import ops

from layers._checks import check_number_above
from layers._checks import check_positive_int

KINDS = ("kernel", "bias")
NUM_COORDINATES = 6


def _check_tensors(tensors):
    """Normalises the target tensor descriptions; returns a tuple.

    Each entry is `{"layer": int, "kind": "kernel" | "bias"}`.
    """
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise ValueError(
            "`tensors` must be a non-empty list of {'layer': int, 'kind': "
            f"'kernel' or 'bias'}} dicts. Received: tensors={tensors!r}"
        )
    out = []
    for i, spec in enumerate(tensors):
        if not isinstance(spec, dict) or set(spec) != {"layer", "kind"}:
            raise ValueError(
                f"`tensors[{i}]` must be a dict with keys 'layer' and "
                f"'kind'. Received: {spec!r}"
            )
        layer = spec["layer"]
        if isinstance(layer, bool) or not isinstance(layer, int) or (
                layer < 0):
            raise ValueError(
                f"`tensors[{i}]['layer']` must be an int >= 0. Received: "
                f"{layer!r}"
            )
        if spec["kind"] not in KINDS:
            raise ValueError(
                f"`tensors[{i}]['kind']` must be one of {KINDS}. Received: "
                f"{spec['kind']!r}"
            )
        out.append({"layer": layer, "kind": spec["kind"]})
    return tuple(out)


@keras.saving.register_keras_serializable(package="hyperzoo")
class CoordinateWeightField(keras.layers.Layer):
    """NeuMeta's INR hypernetwork: weight coordinate -> weight value.

    Every entry `(in, out)` of a target tensor of layer `layer` has the
    coordinate `[layer / num_layers, in / in_size, out / out_size,
    num_layers / size_scale, in_size / size_scale, out_size /
    size_scale]`. The coordinate is Fourier-encoded (`x` and `sin/cos(2^i
    pi x)` for `i < num_frequencies`) and fed to a **separate residual
    MLP per target tensor** (`Dense(hidden_units)`, ReLU, then
    `num_blocks` blocks `h + s_j * relu(W_j h + b_j)` with learnable
    residual scalars `s_j` initialised at 0.1, then a linear output of
    `kernel_size**2` values). A `kh x kw` convolution kernel takes the
    central `kh x kw` crop of the `kernel_size x kernel_size` output;
    Dense kernels and biases take entry 0. A kernel is divided by its
    input size (input channels of a convolution, input features of a
    Dense), which keeps weight magnitudes right across widths.

    During training the coordinates get uniform noise `(U(0, 1) - 0.5) *
    coordinate_noise`; at inference `generate(..., num_samples=K,
    seed=s)` averages the weights of `K` noisy samples, drawn with numpy
    from `seed` so every backend averages the same samples (K = 1 or no
    noise: the clean coordinates).

    Keras layout: Dense kernels are `(in, out)`, convolution kernels
    `(kh, kw, in, out)`, biases `(out,)`; `generate` returns tensors in
    this layout, ready for `layers.FunctionalDense` /
    `layers.FunctionalConv2D`.

    Decisions not fixed by the paper's text (unverified against the
    reference code, each tested in `tests/test_weight_field.py`):

    - The sizes in the coordinate are divided by `size_scale` (raw
      integer sizes make every `sin(2^i pi n)` zero).
    - The encoding keeps the raw coordinate next to its sin/cos
      features.
    - Biases are indexed on the `in` axis (`in = out channel`, `in_size
      = out_size` of the layer, `out = 0`, `out_size = 1`) and are not
      divided by an input size.
    - The noise is added to all six coordinates.
    - With `active_sizes`, entries beyond the active sizes are zeroed
      (a width-`w` network computed at the padded maximal shape): this
      gives exactly the outputs of the width-`w` network and lets one
      compiled training step serve every width.

    Args:
        tensors: list of dicts `{"layer": int, "kind": "kernel" |
            "bias"}`, one per target tensor (each gets its own MLP).
        num_frequencies: int. Fourier frequencies per coordinate.
        hidden_units: int. Width of each residual MLP.
        num_blocks: int. Residual blocks per MLP.
        kernel_size: int. Side of the square kernel each coordinate
            outputs (`kernel_size**2` values).
        size_scale: float. Divisor of the sizes in the coordinate.
        coordinate_noise: float. Width of the uniform coordinate noise
            in training (0 disables it).
        seed: int or `None`. Seeds the initialisers and the noise.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        coordinates: float tensor `(N, 6)`, normalised coordinates.
        tensor_ids: int tensor `(N,)`, which tensor's MLP evaluates each
            coordinate.
        training: bool. Adds coordinate noise when true.

    Returns:
        `(N, kernel_size**2)` raw field values (before cropping and
        scaling).

    Example:

    ```python
    field = layers.CoordinateWeightField(
        [{"layer": 0, "kind": "kernel"}, {"layer": 0, "kind": "bias"}])
    kernel, bias = field.generate(
        [(3, 3, 1, 8), (8,)], layer_indices=[0, 0], num_layers=1)
    y = layers.FunctionalConv2D(padding="same")(
        np.zeros((2, 8, 8, 1), "float32"), kernel, bias)
    ```

    Reference:
    - [Yang & Wang, 2024](https://arxiv.org/abs/2410.11878), "Neural
      Metamorphosis" (ECCV 2024).
    """

    def __init__(self, tensors, num_frequencies=6, hidden_units=64,
                 num_blocks=2, kernel_size=3, size_scale=64.0,
                 coordinate_noise=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.tensors = _check_tensors(tensors)
        self.num_frequencies = check_positive_int(
            "num_frequencies", num_frequencies)
        self.hidden_units = check_positive_int("hidden_units",
                                               hidden_units)
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) \
                or num_blocks < 0:
            raise ValueError(
                f"`num_blocks` must be an int >= 0. Received: {num_blocks!r}"
            )
        self.num_blocks = num_blocks
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.size_scale = float(check_number_above(
            "size_scale", size_scale, 0.0))
        coordinate_noise = float(coordinate_noise)
        if coordinate_noise < 0 or not math.isfinite(coordinate_noise):
            raise ValueError(
                "`coordinate_noise` must be a finite float >= 0. Received: "
                f"{coordinate_noise!r}"
            )
        self.coordinate_noise = coordinate_noise
        self.seed = seed
        self.seed_generator = (
            keras.random.SeedGenerator(seed) if coordinate_noise > 0
            else None
        )

    @property
    def num_tensors(self):
        """Number of target tensors (= residual MLPs)."""
        return len(self.tensors)

    @property
    def encoding_dim(self):
        """Size of the Fourier-encoded coordinate."""
        return NUM_COORDINATES * (1 + 2 * self.num_frequencies)

    def build(self, coordinates_shape=None, tensor_ids_shape=None):
        t, e, h, b = (self.num_tensors, self.encoding_dim,
                      self.hidden_units, self.num_blocks)
        k2 = self.kernel_size ** 2
        seed = self.seed

        def init(name, seed_offset):
            if seed is None:
                return keras.initializers.get(name)
            return keras.initializers.get(
                {"class_name": name, "config": {"seed": seed + seed_offset}})

        self.input_kernel = self.add_weight(
            name="input_kernel", shape=(t, e, h),
            initializer=init("he_uniform", 0))
        self.input_bias = self.add_weight(
            name="input_bias", shape=(t, h), initializer="zeros")
        self.block_kernels = self.add_weight(
            name="block_kernels", shape=(t, max(b, 1), h, h),
            initializer=init("he_uniform", 1))
        self.block_biases = self.add_weight(
            name="block_biases", shape=(t, max(b, 1), h),
            initializer="zeros")
        self.residual_scales = self.add_weight(
            name="residual_scales", shape=(t, max(b, 1)),
            initializer=keras.initializers.Constant(0.1))
        self.output_kernel = self.add_weight(
            name="output_kernel", shape=(t, h, k2),
            initializer=init("glorot_uniform", 2))
        self.output_bias = self.add_weight(
            name="output_bias", shape=(t, k2), initializer="zeros")
        if b == 0:
            # No blocks: the block weights would get no gradient.
            for w in (self.block_kernels, self.block_biases,
                      self.residual_scales):
                w.trainable = False
        self.built = True

    # ------------------------------------------------------------------
    # The field
    # ------------------------------------------------------------------
    def encode(self, coordinates):
        """Fourier encoding `[x, sin(2^i pi x), cos(2^i pi x)]`.

        Args:
            coordinates: float tensor `(..., 6)`.

        Returns:
            Tensor `(..., 6 * (1 + 2 * num_frequencies))`.
        """
        x = ops.cast(coordinates, self.compute_dtype)
        freqs = ops.cast(
            ops.power(2.0, ops.arange(self.num_frequencies, dtype="float32"))
            * math.pi, self.compute_dtype)
        angles = ops.reshape(
            ops.expand_dims(x, -1) * freqs,
            tuple(ops.shape(x)[:-1]) + (-1,))
        return ops.concatenate([x, ops.sin(angles), ops.cos(angles)],
                               axis=-1)

    def _mlp(self, encoded, index):
        """Residual MLP of tensor `index` (a Python int)."""
        dtype = self.compute_dtype

        def w(var, *idx):
            return ops.cast(var[idx], dtype)

        h = ops.relu(ops.add(ops.matmul(encoded, w(self.input_kernel, index)),
                             w(self.input_bias, index)))
        for j in range(self.num_blocks):
            update = ops.relu(ops.add(
                ops.matmul(h, w(self.block_kernels, index, j)),
                w(self.block_biases, index, j)))
            h = ops.add(h, ops.multiply(w(self.residual_scales, index, j),
                                        update))
        return ops.add(ops.matmul(h, w(self.output_kernel, index)),
                       w(self.output_bias, index))

    def _noise(self, shape, seed):
        if self.coordinate_noise <= 0:
            return None
        u = keras.random.uniform(shape, seed=seed, dtype="float32")
        return (u - 0.5) * self.coordinate_noise

    def call(self, coordinates, tensor_ids, training=None):
        coordinates = ops.cast(coordinates, "float32")
        if training and self.coordinate_noise > 0:
            coordinates = coordinates + self._noise(
                ops.shape(coordinates), self.seed_generator)
        encoded = self.encode(coordinates)
        ids = ops.cast(tensor_ids, "int32")
        out = None
        for t in range(self.num_tensors):
            value = self._mlp(encoded, t)
            mask = ops.cast(ops.equal(ids, t), self.compute_dtype)
            term = ops.multiply(value, ops.expand_dims(mask, -1))
            out = term if out is None else ops.add(out, term)
        return out

    def compute_output_shape(self, coordinates_shape,
                             tensor_ids_shape=None):
        return tuple(coordinates_shape[:-1]) + (self.kernel_size ** 2,)

    # ------------------------------------------------------------------
    # Weight generation
    # ------------------------------------------------------------------
    def tensor_coordinates(self, index, shape, layer_index, num_layers,
                           active_sizes=None):
        """Normalised coordinates of every `(in, out)` entry of a tensor.

        Args:
            index: int. Which target tensor (its kind decides the layout).
            shape: tuple. The tensor's Keras-layout shape (`(out,)`,
                `(in, out)` or `(kh, kw, in, out)`).
            layer_index: int. The tensor's layer.
            num_layers: int. Layers of the target network.
            active_sizes: `None` or `(in_size, out_size)` (ints or
                scalar tensors): the sizes used to normalise the indices
                (default: the shape's).

        Returns:
            Float32 tensor `(in, out, 6)` (`(out, 1, 6)` for a bias).
        """
        kind = self.tensors[index]["kind"]
        n_in, n_out = (shape[-1], 1) if kind == "bias" else shape[-2:]
        if active_sizes is None:
            in_size, out_size = n_in, n_out
        else:
            in_size, out_size = active_sizes
            if kind == "bias":
                in_size, out_size = out_size, 1
        in_size = ops.cast(in_size, "float32")
        out_size = ops.cast(out_size, "float32")
        i = ops.arange(n_in, dtype="float32")[:, None] / in_size
        o = ops.arange(n_out, dtype="float32")[None, :] / out_size
        grid_i = ops.broadcast_to(i, (n_in, n_out))
        grid_o = ops.broadcast_to(o, (n_in, n_out))
        ones = ops.ones((n_in, n_out), "float32")
        scale = self.size_scale
        return ops.stack([
            ones * (layer_index / num_layers), grid_i, grid_o,
            ones * (num_layers / scale), ones * in_size / scale,
            ones * out_size / scale,
        ], axis=-1)

    def _values_to_tensor(self, index, values, shape, active_sizes):
        """Crops, scales and masks the field values `(..., in, out, k2)`."""
        kind = self.tensors[index]["kind"]
        k = self.kernel_size
        dtype = self.compute_dtype
        if kind == "bias":
            out = values[..., 0, 0]  # (..., out)
        elif len(shape) == 2:
            out = values[..., 0]  # (..., in, out)
        else:
            kh, kw = shape[0], shape[1]
            if kh > k or kw > k:
                raise ValueError(
                    f"A {kh}x{kw} kernel needs kernel_size >= {max(kh, kw)}"
                    f". Received: kernel_size={k}"
                )
            grid = ops.reshape(values, tuple(values.shape[:-1]) + (k, k))
            r0, c0 = (k - kh) // 2, (k - kw) // 2
            grid = grid[..., r0:r0 + kh, c0:c0 + kw]  # (..., in, out, kh, kw)
            rank = len(grid.shape)
            perm = list(range(rank - 4)) + [rank - 2, rank - 1, rank - 4,
                                            rank - 3]
            out = ops.transpose(grid, perm)  # (..., kh, kw, in, out)
        if kind == "kernel":
            in_size = shape[-2] if active_sizes is None else active_sizes[0]
            out = ops.divide(out, ops.cast(in_size, dtype))
        if active_sizes is not None:
            n_out = shape[-1]
            out_mask = ops.cast(
                ops.arange(n_out) < ops.cast(active_sizes[1], "int32"),
                dtype)
            out = ops.multiply(out, out_mask)
            if kind == "kernel":
                n_in = shape[-2]
                in_mask = ops.cast(
                    ops.arange(n_in) < ops.cast(active_sizes[0], "int32"),
                    dtype)
                out = ops.multiply(out, ops.expand_dims(in_mask, -1))
        return out

    def generate(self, shapes, layer_indices=None, num_layers=None,
                 active_sizes=None, training=False, num_samples=1,
                 seed=None):
        """Weights of every target tensor, in Keras layout.

        Args:
            shapes: list of Keras-layout shapes, one per target tensor.
            layer_indices: list of int or `None` (the `layer` of each
                entry of `tensors`).
            num_layers: int or `None` (1 + the largest layer index).
            active_sizes: `None` or a list of `(in_size, out_size)` per
                tensor (ints or scalar tensors): entries beyond them are
                zeroed and the indices are normalised by them.
            training: bool. One noisy sample from the layer's seed
                generator (with `coordinate_noise > 0`).
            num_samples: int. Outside training: average of this many
                noisy samples drawn from `seed` (1: clean coordinates).
            seed: int or `None`. Seed of the averaged samples' noise.

        Returns:
            List of tensors with the given shapes.
        """
        if len(shapes) != self.num_tensors:
            raise ValueError(
                f"`shapes` needs one shape per tensor ({self.num_tensors})."
                f" Received: {len(shapes)} shapes"
            )
        if not self.built:
            self.build()
        if layer_indices is None:
            layer_indices = [t["layer"] for t in self.tensors]
        if num_layers is None:
            num_layers = 1 + max(layer_indices)
        noisy = self.coordinate_noise > 0
        samples = num_samples if (noisy and not training) else 1
        outs = []
        for index, shape in enumerate(shapes):
            shape = tuple(int(s) for s in shape)
            sizes = None if active_sizes is None else active_sizes[index]
            coords = self.tensor_coordinates(
                index, shape, layer_indices[index], num_layers, sizes)
            if noisy and training:
                coords = coords + self._noise(ops.shape(coords),
                                              self.seed_generator)
            elif samples > 1:
                # numpy noise: the same samples on every backend.
                base = 0 if seed is None else int(seed)
                rng = np.random.default_rng(base + 7919 * index)
                noise = (rng.uniform(size=(samples,) + tuple(coords.shape))
                         - 0.5) * self.coordinate_noise
                coords = ops.expand_dims(coords, 0) + ops.convert_to_tensor(
                    noise.astype("float32"))
            values = self._mlp(self.encode(coords), index)
            if samples > 1:
                values = ops.mean(values, axis=0)
            outs.append(self._values_to_tensor(index, values, shape, sizes))
        return outs

    def get_config(self):
        config = super().get_config()
        config.update({
            "tensors": [dict(t) for t in self.tensors],
            "num_frequencies": self.num_frequencies,
            "hidden_units": self.hidden_units,
            "num_blocks": self.num_blocks,
            "kernel_size": self.kernel_size,
            "size_scale": self.size_scale,
            "coordinate_noise": self.coordinate_noise,
            "seed": self.seed,
        })
        return config
