"""Backend-agnostic hyperzoo building blocks (`keras.ops` only)."""

from layers.encodings import CosSinEncoding
from layers.encodings import cos_sin_encoding
from layers.hyper_dense import HyperDense
from layers.hyper_dense import target_variance
