"""Backend-agnostic hyperzoo building blocks (`keras.ops` only)."""

from layers.encodings import CosSinEncoding
from layers.encodings import cos_sin_encoding
from layers.functional import FunctionalConv2D
from layers.functional import FunctionalDense
from layers.hyper_dense import HyperDense
from layers.hyper_dense import target_variance
from layers.hypernetwork import HyperNetwork
from layers.hypernetwork import HyperOutputRegularizer
from layers.hypernetwork import conv2d_specs
from layers.hypernetwork import dense_specs
from layers.hypernetwork import mlp_specs
from layers.hypernetwork import normalize_specs
from layers.hypernetwork import num_spec_params
from layers.hypernetwork import spec_stddevs
from layers.hypernetwork import split_params
from layers.special import digamma
from layers.special import lgamma
from layers.unem import UNEMDirichletHead
from layers.unem import UNEMGaussianHead
from layers.unem import dirichlet_em
from layers.unem import gaussian_em
