"""The `hyper_crl_pendulum` preset: its sizes, data and training budget.

The preset itself is the folder `zoo/presets/hyper_crl_pendulum/`; this
module holds what produces it and what the benchmark shares with it.
"""

import keras

from zoo.hyper_crl import envs
from zoo.hyper_crl.continual import make_rollouts
from zoo.hyper_crl.continual import make_stream
from zoo.hyper_crl.continual import normalization_stats
from zoo.hyper_crl.hyper_crl_backbone import HyperCRLBackbone
from zoo.hyper_crl.hyper_crl_dynamics import HyperCRLDynamics

PRESET_NAME = "hyper_crl_pendulum"
ENV_NAME = "pendulum"
NUM_TASKS = len(envs.PENDULUM_TASKS)
NUM_TRAIN = 3000
NUM_VAL = 500
NUM_TEST = 1000
NUM_ROLLOUTS = 100
EPOCHS_PER_TASK = 40
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
BETA = 0.05
# Dynamics MLP 4 -> 32 -> 32 -> 3 (tanh); the hypernetwork is an MLP
# (task embedding 10, HyperCRL's default, one hidden layer of 64).
TARGET = dict(hidden_dims=(32, 32), activation="tanh")
HYPERNET = dict(architecture="mlp", embedding_dim=10, hidden_units=(64,))


def preset_stats(env_name=ENV_NAME):
    """Normalisation statistics, from the first task's training data.

    Args:
        env_name: env name.

    Returns:
        The `continual.normalization_stats` dict.
    """
    return normalization_stats(*envs.task_data(env_name, 0, "train",
                                               NUM_TRAIN))


def load_streams(env_name=ENV_NAME, num_tasks=NUM_TASKS, split="test"):
    """Training transitions, evaluation transitions and rollouts.

    Args:
        env_name: env name.
        num_tasks: int.
        split: `"test"` or `"val"`, the evaluation split.

    Returns:
        `(train_tasks, eval_tasks, rollouts)`; the rollouts of the
        validation split use another seed than the test ones.
    """
    n_eval = NUM_TEST if split == "test" else NUM_VAL
    return (make_stream(env_name, num_tasks, "train", NUM_TRAIN),
            make_stream(env_name, num_tasks, split, n_eval),
            make_rollouts(env_name, num_tasks, NUM_ROLLOUTS,
                          seed=7 if split == "test" else 8))


def build_dynamics_model(env_name=ENV_NAME, seed=0, beta=BETA,
                         learning_rate=LEARNING_RATE, **overrides):
    """An untrained, compiled `HyperCRLDynamics` for an environment.

    Args:
        env_name: `"pendulum"` or `"cartpole"`.
        seed: int.
        beta: float. Output-regulariser strength.
        learning_rate: float. Adam learning rate.
        **overrides: backbone arguments replacing the defaults.

    Returns:
        A compiled `HyperCRLDynamics`.

    Example:

    ```python
    model = zoo.hyper_crl.hyper_crl_presets.build_dynamics_model()
    ```
    """
    env = envs.make_env(env_name, 0)
    config = dict(TARGET, **HYPERNET)
    config.update(preset_stats(env_name))
    config.update(state_dim=env.state_dim, action_dim=env.action_dim,
                  num_tasks=len(envs.ENVS[env_name][1]))
    config.update(overrides)
    backbone = HyperCRLBackbone(seed=seed, **config)
    model = HyperCRLDynamics(backbone, beta=beta)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model
