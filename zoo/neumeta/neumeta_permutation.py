"""NeuMeta's intra-model smoothing: channel orders by shortest paths.

The channels of each hidden layer are reordered so that neighbouring
channels have similar weights: the order is a shortest Hamiltonian path
over the L1 distances between the channels' weight vectors (a TSP with
a dummy city, solved by `fast_tsp`). The same permutation is applied to
every tensor coupled to the channel (its output kernel slice and bias,
and the next layer's input slice), so the network computes the same
function.
"""

import numpy as np

# fast_tsp takes uint16 distances.
_MAX_DISTANCE = 30000


def _metric_closure(d):
    """Shortest-path distances (Floyd-Warshall): a true metric."""
    d = d.copy()
    for k in range(len(d)):
        d = np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :])
    return d


def channel_order(vectors, time_budget=0.5):
    """Order of channels along a shortest Hamiltonian path (open path).

    Args:
        vectors: array `(channels, features)`: one weight vector per
            channel.
        time_budget: float. Seconds `fast_tsp.find_tour` may use
            (problems of <= 20 cities are solved exactly).

    Returns:
        int array `(channels,)`: the new order (a permutation).

    Example:

    ```python
    order = channel_order(np.random.rand(16, 9))
    ```

    Reference:
    - [Yang & Wang, 2024](https://arxiv.org/abs/2410.11878), "Neural
      Metamorphosis" (ECCV 2024), section on permutation smoothing.
    """
    import fast_tsp

    v = np.asarray(vectors, "float64").reshape(len(vectors), -1)
    n = len(v)
    if n <= 2:
        return np.arange(n)
    dist = np.abs(v[:, None, :] - v[None, :, :]).sum(-1)
    top = dist.max()
    scaled = np.zeros_like(dist) if top == 0 else dist / top * _MAX_DISTANCE
    scaled = _metric_closure(np.round(scaled).astype("int64"))
    # A dummy city at the same distance from every channel turns the
    # shortest tour into the shortest open path (cost + a constant);
    # half the largest distance keeps the triangle inequality.
    m = int(np.ceil(scaled.max() / 2)) + 1
    full = np.full((n + 1, n + 1), m, "int64")
    full[:n, :n] = scaled
    full[n, n] = 0
    tour = fast_tsp.find_tour(full.tolist(), duration_seconds=time_budget,
                              stop_when_converged=True)
    start = tour.index(n)
    path = tour[start + 1:] + tour[:start]
    return np.asarray(path, "int64")


def path_variation(vectors, order=None):
    """Total L1 variation between consecutive channels of an order.

    Args:
        vectors: array `(channels, features)`.
        order: int array or `None` (the identity).

    Returns:
        float: the sum of `|v[order[i+1]] - v[order[i]]|_1`.

    Example:

    ```python
    tv = path_variation(vectors, channel_order(vectors))
    ```
    """
    v = np.asarray(vectors, "float64").reshape(len(vectors), -1)
    if order is not None:
        v = v[np.asarray(order)]
    return float(np.abs(np.diff(v, axis=0)).sum())


def _channel_vectors(kernel, bias, next_kernel):
    """Per out-channel vectors of a layer and the next layer's input."""
    n = kernel.shape[-1]
    parts = [np.moveaxis(kernel, -1, 0).reshape(n, -1)]
    if bias is not None:
        parts.append(bias.reshape(n, 1))
    parts.append(np.moveaxis(next_kernel, -2, 0).reshape(n, -1))
    return np.concatenate(parts, axis=1)


def permute_chain(kernels, biases, time_budget=0.5):
    """Smooths a chain of Dense/Conv layers, keeping its function.

    Layer `i`'s output channels (the last axis of `kernels[i]`, the
    bias) feed layer `i + 1`'s input channels (axis -2 of
    `kernels[i + 1]`), with only channel-wise operations in between
    (activations, global pooling). Every hidden layer's channels are
    reordered by `channel_order`; the input and output layers' outer
    channels are left alone.

    Args:
        kernels: list of arrays in Keras layout (`(in, out)` or `(kh, kw,
            in, out)`).
        biases: list of arrays `(out,)` (or `None` entries).
        time_budget: float. Seconds per `channel_order` call.

    Returns:
        `(kernels, biases, orders)`: permuted copies and the order used
        for each hidden layer.

    Example:

    ```python
    k, b, orders = permute_chain([k1, k2, k3], [b1, b2, b3])
    ```

    Reference:
    - [Yang & Wang, 2024](https://arxiv.org/abs/2410.11878), "Neural
      Metamorphosis" (ECCV 2024).
    """
    kernels = [np.array(k) for k in kernels]
    biases = [None if b is None else np.array(b) for b in biases]
    orders = []
    for i in range(len(kernels) - 1):
        vectors = _channel_vectors(kernels[i], biases[i], kernels[i + 1])
        order = channel_order(vectors, time_budget)
        kernels[i] = kernels[i][..., order]
        if biases[i] is not None:
            biases[i] = biases[i][order]
        kernels[i + 1] = np.take(kernels[i + 1], order, axis=-2)
        orders.append(order)
    return kernels, biases, orders
