"""HyperZ·Z·W operator and the building blocks of the Terminator network.

All layers are channels-last and work on sequences `(batch, length,
channels)` (`rank=1`) and images `(batch, height, width, channels)`
(`rank=2`). No layer downsamples.

Decisions (the reference code is 2-D only and was withdrawn; the choices
below are documented here and tested in `tests/test_terminator.py`):

1. 1-D global operator. The 2-D reference multiplies the context kernel
   `Z = x ⊙ K` and the values as matrices over the two spatial axes, which
   needs a square map and has no 1-D form. In 1-D the global interaction is
   a long convolution of the values with `Z`, computed with an FFT
   (CKConv/CCNN style). `global_mode="circular"` (default) makes every
   output position see every input position; `"causal"` zero-pads to `2L`
   so position `t` only sees positions `<= t`.
2. Batch independence (a deliberate deviation, chosen on validation; see
   `tests/test_terminator.py` and the Terminator model cards). The
   reference standardises half of the channel groups with the statistics
   of the current batch, in training *and* at inference
   (`affine=False, track_running_stats=False`), and averages the context
   of the local kernels over the batch, so an answer depends on the other
   samples of its batch (measured on the old MNIST-1D preset: 98 % top-1
   at batch 1000, 30 % at batch 1). Every layer here takes
   `statistics`: `"running"` (default) is the reference in training
   (batch statistics, batch-mean contexts) and uses moving averages of
   those at inference (batch normalisation without affine parameters; a
   moving average of the context); `"sample"` uses per-sample statistics only
   (group normalisation for the reference's batch-normalised groups,
   instance normalisation elsewhere) and a per-sample context, so training
   and inference compute the same function of each sample alone;
   `"batch"` is the reference's batch-dependent behaviour, kept for
   comparison. Measured on the MNIST-1D validation split with the
   preset's recipe (`scripts/select_terminator_statistics.py`):
   `"running"` 99.0 % at batch 1, `"sample"` 97.0 %, the reference
   98.8 % at batch 100 and 35.6 % at batch 1.
3. Structurally dead parameters are not created: a bias directly before
   a standardisation over the same axis (the channel mixers of `mix`, of
   the local branches and of the RGU outputs summed into `fast`, the
   bottleneck) and a 1×1 mixer on a single channel before an instance
   standardisation (which keeps only its sign). Their gradient is zero in
   exact arithmetic; they only ever moved by rounding noise.
4. The reference's unregistered `alphas`/`betas` of the local kernel
   network are kept as untrained constants (1.0 and 0.1); the reference's
   stop-gradient on the first term is dropped (see `ContextLocalConv`).
6. Two branches of the reference carry no signal and are rewired (see
   `TerminatorBlock`): the channel gate is applied to `IN(x)` instead of
   being followed by `IN` (which cancels any per-channel gate exactly),
   and the channel × spatial gate is scored on `sigmoid(out) ⊙ out`
   instead of `out` (in 1-D, `out` has exactly zero spatial mean, so the
   reference's channel score would be 0).
5. Frequencies of the implicit kernels are scaled by `2π·ω0·γ` with
   `γ ~ Gamma(6/(i+1), 1)`, seeded. The reference uses ω0 = 2000 on a
   32×32 grid, where the sinusoids are pseudo-random and float32 `sin` of
   arguments ~1e4 differs across backends; the default here is ω0 = 10.

Modules: `implicit_kernels` (the slow coordinate networks),
`global_operator` (the global HyperZ·Z·W operator), `standardization`
(instance, batch and group standardisation), `gates` (the recursive gated
unit and the hyper-interaction gates), `local_kernels` (context-generated
depthwise kernels) and `block` (`TerminatorBlock`). Every public name is
re-exported here.
"""

from layers.hyperzzw._common import GLOBAL_MODES
from layers.hyperzzw._common import INTERACTION_MODES
from layers.hyperzzw._common import RANKS
from layers.hyperzzw._common import STATISTICS
from layers.hyperzzw.block import TerminatorBlock
from layers.hyperzzw.gates import HyperInteraction
from layers.hyperzzw.gates import RecursiveGatedUnit
from layers.hyperzzw.global_operator import HyperZZW
from layers.hyperzzw.global_operator import hyperzzw_global
from layers.hyperzzw.implicit_kernels import ImplicitKernel
from layers.hyperzzw.implicit_kernels import grid_coordinates
from layers.hyperzzw.local_kernels import ContextLocalConv
from layers.hyperzzw.local_kernels import adaptive_pool_matrix
from layers.hyperzzw.local_kernels import per_sample_depthwise_conv
from layers.hyperzzw.standardization import GroupStandardization
from layers.hyperzzw.standardization import batch_standardize
from layers.hyperzzw.standardization import group_standardize
from layers.hyperzzw.standardization import instance_standardize
