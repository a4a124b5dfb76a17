"""Backend-agnostic hyperzoo building blocks (`keras.ops` only)."""

from layers.encodings import CosSinEncoding
from layers.encodings import cos_sin_encoding
from layers.functional import FunctionalConv2D
from layers.functional import FunctionalDense

# Issue 18: LoGAH exports.
from layers.graph_encoder import GatedGraphEncoder
from layers.hyper_dense import HyperDense
from layers.hyper_dense import target_variance
from layers.hyper_lora import HyperLoRA
from layers.hypernetwork import HyperNetwork
from layers.hypernetwork import HyperOutputRegularizer
from layers.hypernetwork import conv2d_specs
from layers.hypernetwork import dense_specs
from layers.hypernetwork import mlp_specs
from layers.hypernetwork import normalize_specs
from layers.hypernetwork import num_spec_params
from layers.hypernetwork import spec_stddevs
from layers.hypernetwork import split_params
from layers.hyperzzw import ContextLocalConv
from layers.hyperzzw import GroupStandardization
from layers.hyperzzw import HyperInteraction
from layers.hyperzzw import HyperZZW
from layers.hyperzzw import ImplicitKernel
from layers.hyperzzw import RecursiveGatedUnit
from layers.hyperzzw import TerminatorBlock
from layers.hyperzzw import adaptive_pool_matrix
from layers.hyperzzw import batch_standardize
from layers.hyperzzw import grid_coordinates
from layers.hyperzzw import group_standardize
from layers.hyperzzw import hyperzzw_global
from layers.hyperzzw import instance_standardize
from layers.hyperzzw import per_sample_depthwise_conv
from layers.recurrent import RHN
from layers.recurrent import GatedResidual
from layers.recurrent import RelativeCausalAttention
from layers.recurrent import RHNCell
from layers.recurrent import relative_causal_mask
from layers.sie import ConcatPredictor
from layers.sie import HyperPredictor
from layers.special import digamma
from layers.special import lgamma
from layers.svh_psl import GaussianProcessPosterior
from layers.token_exit import TokenExitDecoderLayer
from layers.token_exit import TokenExitRouter
from layers.token_exit import decoder_flops
from layers.token_exit import rotary_embedding
from layers.token_exit import token_exit_labels
from layers.token_exit import visual_exit_key_mask
from layers.unem import UNEMDirichletHead
from layers.unem import UNEMGaussianHead
from layers.unem import dirichlet_em
from layers.unem import gaussian_em
from layers.weight_decoder import LowRankWeightDecoder
from layers.weight_decoder import kernel_block_size
from layers.weight_decoder import slice_kernel

# Issue 18: D2NWG exports.
from layers.weight_diffusion import ConditionalDenoiser
from layers.weight_diffusion import SetEncoder
from layers.weight_diffusion import timestep_embedding

# Issue 18: NeuMeta exports.
from layers.weight_field import CoordinateWeightField
