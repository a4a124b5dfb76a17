"""Offline data sets for the zoo (numpy only; no keras or backend import).

- `load_digits`: scikit-learn 8x8 digits with fixed train/val/test splits.
- `digit_image_to_features`, `features_to_image`: any picture to the
  8x8 digits features and back.
- `load_mnist1d`: MNIST-1D generated locally by the `mnist1d` package.
- `lorenz96`, `two_scale_lorenz96`, `kuramoto_sivashinsky`: chaotic
  dynamical systems for forecasting, with `lyapunov_exponent` and
  `ks_energy_spectrum` to check them.
"""

from zoo.data._cache import cached_array
from zoo.data._cache import data_cache_dir
from zoo.data.digit_images import digit_image_to_features
from zoo.data.digit_images import features_to_image
from zoo.data.digits import DIGITS_CLASS_NAMES
from zoo.data.digits import digits_permutation
from zoo.data.digits import digits_split_indices
from zoo.data.digits import load_digits
from zoo.data.dynamics import KSIntegrator
from zoo.data.dynamics import ks_energy_spectrum
from zoo.data.dynamics import kuramoto_sivashinsky
from zoo.data.dynamics import lorenz96
from zoo.data.dynamics import lorenz96_step
from zoo.data.dynamics import lyapunov_exponent
from zoo.data.dynamics import two_scale_lorenz96
from zoo.data.mnist_1d import load_mnist1d
from zoo.data.mnist_1d import mnist1d_permutation

__all__ = [
    "DIGITS_CLASS_NAMES",
    "KSIntegrator",
    "cached_array",
    "data_cache_dir",
    "digits_permutation",
    "digit_image_to_features",
    "digits_split_indices",
    "features_to_image",
    "ks_energy_spectrum",
    "kuramoto_sivashinsky",
    "load_digits",
    "load_mnist1d",
    "lorenz96",
    "lorenz96_step",
    "lyapunov_exponent",
    "mnist1d_permutation",
    "two_scale_lorenz96",
]
