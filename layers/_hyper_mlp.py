"""The MLP inside the hypernetwork layers (private).

`HyperDense` and `HyperNetwork` both map a condition (a learned task
embedding or an encoded input) through an MLP to the weights of a
target; in chunked generation a learned chunk embedding is concatenated
to the condition and one shared head emits every chunk. This mixin
holds the weights and the forward pieces they share.
"""

import keras
from keras import ops


class _HyperMLPMixin:
    """Seeded float32 weights and MLP features of a hypernetwork layer.

    The layer defines `seed`, `conditioning`, `embedding_dim`,
    `input_encoding`, `condition_dim`, `num_chunks`,
    `chunk_embedding_dim` and `hyper_activation`.
    """

    def _initializer(self, kind, offset, stddev=1.0):
        """`"normal"` (N(0, stddev²)), `"he"` or `"glorot"`, seeded."""
        seed = None if self.seed is None else self.seed + offset
        if kind == "normal":
            return keras.initializers.RandomNormal(0.0, stddev, seed=seed)
        if kind == "he":
            return keras.initializers.HeNormal(seed=seed)
        return keras.initializers.GlorotUniform(seed=seed)

    def _weight(self, name, shape, initializer):
        # Not autocast: the hypernetwork runs in float32.
        return self.add_weight(name=name, shape=shape,
                               initializer=initializer, autocast=False)

    def _condition_features(self):
        """Size and mean square of the hypernetwork's conditioning vector."""
        if self.conditioning in ("embedding", "task"):
            return self.embedding_dim, 1.0
        if self.input_encoding == "cos_sin":
            return 2 * self.condition_dim, 0.5
        return self.condition_dim, 1.0

    def _build_chunk_embeddings(self, z_dim, z_sq):
        """Chunk embeddings (N(0, 1)); size and mean square of `[z, c]`."""
        self.chunk_embeddings = self._weight(
            "chunk_embeddings",
            (self.num_chunks, self.chunk_embedding_dim),
            self._initializer("normal", 1),
        )
        h_dim = z_dim + self.chunk_embedding_dim
        return h_dim, (z_dim * z_sq + self.chunk_embedding_dim) / h_dim

    def _build_mlp(self, prefix, h_dim, units):
        """He-normal hidden kernels and zero biases; the output width."""
        kernels = []
        biases = []
        for i, width in enumerate(units):
            kernels.append(self._weight(
                f"{prefix}_kernel_{i}", (h_dim, width),
                self._initializer("he", 10 + i),
            ))
            biases.append(self._weight(f"{prefix}_bias_{i}", (width,),
                                       "zeros"))
            h_dim = width
        return kernels, biases, h_dim

    def _run_mlp(self, h, kernels, biases):
        for kernel, bias in zip(kernels, biases):
            h = self.hyper_activation(ops.add(ops.matmul(h, kernel), bias))
        return h

    def _chunk_inputs(self, z):
        """`(n, d)` conditions repeated per chunk, chunk embeddings added."""
        h = ops.repeat(ops.expand_dims(z, 1), self.num_chunks, axis=1)
        if not self.chunk_embedding_dim:
            return h
        chunks = ops.broadcast_to(
            ops.expand_dims(self.chunk_embeddings, 0),
            (ops.shape(z)[0], self.num_chunks, self.chunk_embedding_dim),
        )
        return ops.concatenate([h, chunks], axis=-1)

    def _chunks_to_flat(self, h, kernel, bias, size):
        """Head over `(n, chunks, d)` features; the first `size` values."""
        flat = ops.add(ops.matmul(h, kernel), bias)
        flat = ops.reshape(
            flat, (ops.shape(h)[0], self.num_chunks * self.chunk_size)
        )
        return flat[:, :size]
