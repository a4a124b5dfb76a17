"""The zoo's only direct PyTorch calls (imported on the torch backend).

Tested on every backend by `tests/test_optimizers.py` (on TensorFlow and
JAX the callers never import this module).
"""

import math

import torch


@torch.no_grad()
def adam_update_(optimizer, grads, variables, learning_rate):
    """In-place Adam step with Keras's formula (see `InplaceAdam`).

    Args:
        optimizer: the `InplaceAdam` (its moments are updated in place).
        grads: list of torch tensors.
        variables: list of Keras variables, in the order of `grads`.
        learning_rate: the current learning rate (tensor or float).
    """
    params = [v.value for v in variables]
    index = [optimizer._get_variable_index(v) for v in variables]
    m = [optimizer._momentums[i].value for i in index]
    v = [optimizer._velocities[i].value for i in index]
    grads = [g.to(p.dtype) for g, p in zip(grads, params)]
    step = float(optimizer.iterations.value.item()) + 1.0
    lr = getattr(learning_rate, "value", learning_rate)
    lr = float(torch.as_tensor(lr).item())
    b1, b2 = float(optimizer.beta_1), float(optimizer.beta_2)
    alpha = lr * math.sqrt(1.0 - b2**step) / (1.0 - b1**step)
    torch._foreach_lerp_(m, grads, 1.0 - b1)
    torch._foreach_mul_(v, b2)
    torch._foreach_addcmul_(v, grads, grads, value=1.0 - b2)
    # A persistent buffer: a fresh model-sized allocation every step cost
    # page faults that made the square root the slowest op of the step.
    key = tuple(index)
    buffers = getattr(optimizer, "_hyperzoo_denominators", None)
    if buffers is None or buffers[0] != key:
        buffers = (key, [torch.empty_like(t) for t in v])
        optimizer._hyperzoo_denominators = buffers
    denom = buffers[1]
    for source, out in zip(v, denom):
        torch.sqrt(source, out=out)
    torch._foreach_add_(denom, optimizer.epsilon)
    torch._foreach_addcdiv_(params, m, denom, value=-alpha)
