"""Chaotic dynamical systems generated locally in pure numpy.

Lorenz 96 (single and two-scale, RK4) and Kuramoto-Sivashinsky (ETDRK4),
plus a two-trajectory (Benettin) estimate of the largest Lyapunov
exponent and the time-averaged Fourier energy spectrum of KS fields.
Everything is deterministic given `seed` and integrated in float64;
generators return float32 arrays and cache them on disk (see
`zoo.data.cached_array`).
"""

import functools

import numpy as np

from zoo._checks import check_int
from zoo._checks import check_real
from zoo.data._cache import cached_array

# Bump when a change to the code changes generated values, so that stale
# cache files are not reused.
_ALGORITHM_VERSION = 1

# Check for blow-up (non-finite state) every this many integration steps.
_FINITE_CHECK_EVERY = 256


def _check_seed(seed):
    return check_int("seed", seed, 0)


def _raise_blow_up(system, step, dt):
    raise FloatingPointError(
        f"The {system} integration blew up (non-finite state) by step "
        f"{step}. Use a smaller `dt` (received dt={dt!r}) or check the "
        "parameters."
    )


def _check_finite(array, system, step, dt):
    if not np.isfinite(array).all():
        _raise_blow_up(system, step, dt)


def _to_float32(array, system, dt):
    out = array.astype(np.float32)
    _check_finite(out, system, "the end (float32 overflow)", dt)
    return out


def _rk4(rhs, x, dt):
    """One classical Runge-Kutta 4 step of `dx/dt = rhs(x)`."""
    k1 = rhs(x)
    k2 = rhs(x + (0.5 * dt) * k1)
    k3 = rhs(x + (0.5 * dt) * k2)
    k4 = rhs(x + dt * k3)
    return x + (dt / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)


@functools.lru_cache(maxsize=32)
def _periodic_shifts(n):
    """Index arrays of i+1, i-1, i-2 (mod n), read-only."""
    i = np.arange(n)
    shifts = tuple((i + s) % n for s in (1, -1, -2))
    for s in shifts:
        s.flags.writeable = False
    return shifts


# ---------------------------------------------------------------------------
# Lorenz 96
# ---------------------------------------------------------------------------


def _lorenz96_rhs(forcing, num_dims):
    ip1, im1, im2 = _periodic_shifts(num_dims)

    def rhs(x):
        return (x[..., ip1] - x[..., im2]) * x[..., im1] - x + forcing

    return rhs


def lorenz96_step(state, forcing, dt):
    """Advances a Lorenz 96 state by one classical RK4 step.

    The system is
    `dX_i/dt = (X_{i+1} - X_{i-2}) X_{i-1} - X_i + F`, `i` periodic over
    the last axis. Leading axes are batch axes (independent states).

    Args:
        state: array-like. State(s) of shape `(..., num_dims)`,
            `num_dims >= 4`; computed in float64.
        forcing: float. The forcing `F`.
        dt: float. Positive time step.

    Returns:
        The next state(s), a float64 array of the same shape.

    Example:

    ```python
    x = np.full(40, 8.0)
    x[0] += 0.01
    for _ in range(100):
        x = lorenz96_step(x, forcing=8.0, dt=0.01)
    ```

    Reference:
        - [Lorenz, Predictability: a problem partly solved, 1996](
        https://doi.org/10.1017/CBO9780511617652.004)
    """
    state = np.asarray(state, dtype=np.float64)
    if state.ndim < 1 or state.shape[-1] < 4:
        raise ValueError(
            "`state` must have shape (..., num_dims) with num_dims >= 4. "
            f"Received: state.shape={state.shape}"
        )
    forcing = check_real("forcing", forcing)
    dt = check_real("dt", dt, positive=True)
    with np.errstate(over="ignore", invalid="ignore"):
        return _rk4(_lorenz96_rhs(forcing, state.shape[-1]), state, dt)


def _trajectory_params(num_steps, dt, transient_steps, seed, **system):
    """Checked arguments of a one-step-per-sample trajectory.

    The dict is the generator's cache key (with the algorithm version);
    `system` holds the already checked system parameters.
    """
    return {
        "version": _ALGORITHM_VERSION,
        "num_steps": check_int("num_steps", num_steps, 1),
        "dt": check_real("dt", dt, positive=True),
        "transient_steps": check_int("transient_steps", transient_steps, 0),
        "seed": _check_seed(seed),
        **system,
    }


def _integrate(step, x, p, system, every=1):
    """Runs `p["transient_steps"]` steps, then records `p["num_steps"]`.

    The recorded states are the state right after the transient and one
    every `every` further steps, `p["dt"]` being the time step (for the
    blow-up message). Returns them, an array `(p["num_steps"],) +
    x.shape` of `x`'s dtype.
    """
    transient_steps, dt = p["transient_steps"], p["dt"]
    out = np.empty((p["num_steps"],) + x.shape, dtype=x.dtype)
    total = transient_steps + (p["num_steps"] - 1) * every
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for n in range(total + 1):
            i = n - transient_steps
            if i >= 0 and i % every == 0:
                out[i // every] = x
            if n == total:
                break
            x = step(x)
            if (n + 1) % _FINITE_CHECK_EVERY == 0:
                _check_finite(x, system, n + 1, dt)
    _check_finite(x, system, total, dt)
    return out


def lorenz96(num_steps=10000, forcing=8.0, num_dims=40, dt=0.01,
        transient_steps=1000, seed=100, cache=True):
    """Generates a Lorenz 96 trajectory (RK4, pure numpy).

    `dX_i/dt = (X_{i+1} - X_{i-2}) X_{i-1} - X_i + F`, periodic in `i`,
    as in Vlachas et al. (2020) (`Lorenz96_F8GP40`, `Lorenz96_F10GP40`).
    The initial condition is `X0 = F + 0.01 * N(0, 1)` drawn with
    `np.random.default_rng(seed)`; the first `transient_steps` RK4 steps
    are discarded and row 0 of the result is the state right after them
    (so `transient_steps + num_steps - 1` steps are integrated).

    The reference protocol discards 1000 time units; the default here
    (1000 steps = 10 time units at `dt=0.01`) is shorter for speed. The
    attractor is reached well within it: for `F=8` the mean (about 2.34)
    and standard deviation (about 3.64) match the reference values.

    Args:
        num_steps: int. Number of time steps returned. Defaults to 10000.
        forcing: float. Forcing `F` (8 and 10 are the usual values).
            Defaults to 8.0.
        num_dims: int. Number of variables `J`, at least 4. Defaults to 40.
        dt: float. RK4 step and sampling interval. Defaults to 0.01.
        transient_steps: int. Steps discarded before recording.
            Defaults to 1000.
        seed: int. Non-negative seed of the initial condition.
            Defaults to 100 (as in the reference scripts).
        cache: bool. Read/write the on-disk cache. Defaults to `True`.

    Returns:
        A float32 array of shape `(num_steps, num_dims)`.

    Raises:
        ValueError: for invalid arguments.
        FloatingPointError: if the integration blows up (too large `dt`).

    Example:

    ```python
    x = lorenz96(num_steps=2000)
    x.shape  # (2000, 40)
    ```

    Reference:
        - [Lorenz, Predictability: a problem partly solved, 1996](
        https://doi.org/10.1017/CBO9780511617652.004)
        - [Vlachas et al., Backpropagation algorithms and Reservoir
        Computing in Recurrent Neural Networks for the forecasting of
        complex spatiotemporal dynamics, Neural Networks 2020](
        https://arxiv.org/abs/1910.05266)
    """
    params = _trajectory_params(
        num_steps, dt, transient_steps, seed,
        forcing=check_real("forcing", forcing),
        num_dims=check_int("num_dims", num_dims, 4),
    )

    def generate():
        p = params
        rng = np.random.default_rng(p["seed"])
        x = p["forcing"] + 0.01 * rng.standard_normal(p["num_dims"])
        rhs = _lorenz96_rhs(p["forcing"], p["num_dims"])
        out = _integrate(lambda s: _rk4(rhs, s, p["dt"]), x, p, "Lorenz 96")
        return _to_float32(out, "Lorenz 96", p["dt"])

    return cached_array("lorenz96", params, generate, cache=cache)


# ---------------------------------------------------------------------------
# Two-scale Lorenz 96
# ---------------------------------------------------------------------------


def _two_scale_rhs(num_slow, num_fast, forcing, h, c, b):
    ip1, im1, im2 = _periodic_shifts(num_slow)
    n_fast = num_slow * num_fast
    jp1, jm1, _ = _periodic_shifts(n_fast)
    jp2 = (np.arange(n_fast) + 2) % n_fast
    coupling = h * c / b

    def rhs(z):
        x = z[:num_slow]
        y = z[num_slow:]
        y_sum = y.reshape(num_slow, num_fast).sum(axis=1)
        dx = x[im1] * (x[ip1] - x[im2]) - x + forcing - coupling * y_sum
        dy = (
            -c * b * y[jp1] * (y[jp2] - y[jm1])
            - c * y
            + coupling * np.repeat(x, num_fast)
        )
        return np.concatenate([dx, dy])

    return rhs


def _generate_two_scale(p):
    """Integrates `two_scale_lorenz96` for its checked parameters `p`."""
    k, j = p["num_slow"], p["num_fast_per_slow"]
    rng = np.random.default_rng(p["seed"])
    x0 = rng.standard_normal(k)
    y0 = 0.1 * rng.standard_normal(k * j)
    rhs = _two_scale_rhs(
        k,
        j,
        p["forcing"],
        p["coupling"],
        p["time_scale"],
        p["space_scale"],
    )
    out = _integrate(
        lambda z: _rk4(rhs, z, p["dt"]),
        np.concatenate([x0, y0]),
        p,
        "two-scale Lorenz 96",
        every=p["sample_every"],
    )
    out = _to_float32(out, "two-scale Lorenz 96", p["dt"])
    if p["return_fast"]:
        return (out[:, :k].copy(), out[:, k:].copy())
    return out[:, :k].copy()


def two_scale_lorenz96(num_steps=5000, num_slow=8, num_fast_per_slow=32,
        forcing=20.0, coupling=1.0, time_scale=10.0, space_scale=10.0,
        dt=0.005, sample_every=2, transient_time=10.0, seed=0,
        return_fast=False, cache=True):
    """Generates a two-scale (multiscale) Lorenz 96 trajectory (RK4).

    With `h = coupling`, `c = time_scale`, `b = space_scale`:

    ```
    dX_k/dt = X_{k-1} (X_{k+1} - X_{k-2}) - X_k + F
              - (h c / b) sum_{j=1..J} Y_{j,k}
    dY_{j,k}/dt = -c b Y_{j+1,k} (Y_{j+2,k} - Y_{j-1,k}) - c Y_{j,k}
                  + (h c / b) X_k
    ```

    `X` is periodic over `K = num_slow` variables; `Y` is one periodic
    chain of length `K * J` (`J = num_fast_per_slow`,
    `Y_{J+1,k} = Y_{1,k+1}`). The defaults are the canonical set
    K=8, J=32, F=20, h=1, b=c=10 (Arnold et al. 2013). Initial condition
    `X ~ N(0, 1)`, `Y ~ 0.1 N(0, 1)` from `np.random.default_rng(seed)`;
    RK4 at `dt` (stable at 0.005 for the defaults), the first
    `round(transient_time / dt)` steps discarded, then one sample every
    `sample_every` steps (every 0.01 time units by default). Row 0 is the
    state right after the transient.

    Args:
        num_steps: int. Number of samples returned. Defaults to 5000.
        num_slow: int. `K`, at least 4. Defaults to 8.
        num_fast_per_slow: int. `J`, fast variables per slow one.
            Defaults to 32.
        forcing: float. `F`. Defaults to 20.0.
        coupling: float. `h`. Defaults to 1.0.
        time_scale: float. `c`, time-scale ratio. Defaults to 10.0.
        space_scale: float. `b`, amplitude ratio, non-zero.
            Defaults to 10.0.
        dt: float. RK4 step. Defaults to 0.005.
        sample_every: int. Integration steps per sample. Defaults to 2.
        transient_time: float. Discarded time (model units), >= 0.
            Defaults to 10.0.
        seed: int. Non-negative seed of the initial condition.
            Defaults to 0.
        return_fast: bool. Also return the fast variables `Y`.
            Defaults to `False`.
        cache: bool. Read/write the on-disk cache. Defaults to `True`.

    Returns:
        `X`, a float32 array of shape `(num_steps, num_slow)`; or, if
        `return_fast`, a tuple `(X, Y)` where `Y` is float32 of shape
        `(num_steps, num_slow * num_fast_per_slow)` in chain order
        (`Y.reshape(num_steps, K, J)[:, k, j]` is `Y_{j+1,k+1}`).

    Raises:
        ValueError: for invalid arguments.
        FloatingPointError: if the integration blows up (too large `dt`).

    Example:

    ```python
    x = two_scale_lorenz96(num_steps=1000)
    x.shape  # (1000, 8)
    x, y = two_scale_lorenz96(num_steps=1000, return_fast=True)
    y.shape  # (1000, 256)
    ```

    Reference:
        - [Lorenz, Predictability: a problem partly solved, 1996](
        https://doi.org/10.1017/CBO9780511617652.004)
        - [Arnold, Moroz, Palmer, Stochastic parametrizations and model
        uncertainty in the Lorenz '96 system, Phil. Trans. R. Soc. A
        2013](https://doi.org/10.1098/rsta.2011.0305)
    """
    space_scale = check_real("space_scale", space_scale)
    if space_scale == 0.0:
        raise ValueError(
            "`space_scale` must be non-zero. Received: space_scale=0.0"
        )
    dt = check_real("dt", dt, positive=True)
    transient_time = check_real("transient_time", transient_time)
    if transient_time < 0:
        raise ValueError(
            "`transient_time` must be >= 0. "
            f"Received: transient_time={transient_time!r}"
        )
    if not isinstance(return_fast, (bool, np.bool_)):
        raise ValueError(
            "`return_fast` must be a bool. "
            f"Received: return_fast={return_fast!r}"
        )
    params = {
        "version": _ALGORITHM_VERSION,
        "num_steps": check_int("num_steps", num_steps, 1),
        "num_slow": check_int("num_slow", num_slow, 4),
        "num_fast_per_slow": check_int(
            "num_fast_per_slow", num_fast_per_slow, 1
        ),
        "forcing": check_real("forcing", forcing),
        "coupling": check_real("coupling", coupling),
        "time_scale": check_real("time_scale", time_scale),
        "space_scale": space_scale,
        "dt": dt,
        "sample_every": check_int("sample_every", sample_every, 1),
        "transient_steps": int(round(transient_time / dt)),
        "seed": _check_seed(seed),
        "return_fast": bool(return_fast),
    }

    return cached_array(
        "two_scale_lorenz96", params,
        lambda: _generate_two_scale(params), cache=cache,
    )


# ---------------------------------------------------------------------------
# Kuramoto-Sivashinsky
# ---------------------------------------------------------------------------


class KSIntegrator:
    """ETDRK4 integrator of the Kuramoto-Sivashinsky equation.

    Integrates `u_t = -u u_x - u_xx - u_xxxx` on the periodic domain
    `[0, length)` (`length = 2 pi L~`) sampled at `num_points` equally
    spaced points `x_j = j * length / num_points`, with the fourth-order
    exponential time-differencing Runge-Kutta scheme of Kassam &
    Trefethen (2005) in real-FFT form: wavenumbers `k = 2 pi n / length`
    (`n = 0 .. num_points // 2`), linear symbol `l(k) = k^2 - k^4`,
    nonlinear term `N(v) = -1/2 i k rfft(irfft(v)^2)`, and the ETDRK4
    coefficients `Q, f1, f2, f3` computed as real parts of means over
    `M = 16` points `r_m = exp(i pi (m - 1/2) / M)` on the unit circle
    around `dt * l(k)`. No 2/3 de-aliasing (as in the reference code).
    The derivative factor `-1/2 i k` is zeroed at the Nyquist mode (as
    in Kassam & Trefethen's wavenumber vector), so the state stays real.

    Args:
        length: float. Domain length (22 for `L~ = 22 / (2 pi)`).
        num_points: int. Number of grid points, at least 4.
        dt: float. Time step (0.25 is stable for length 22, 64 points).

    Example:

    ```python
    integrator = KSIntegrator(length=22.0, num_points=64, dt=0.25)
    u = 0.01 * np.cos(2 * np.pi * np.arange(64) / 64)
    for _ in range(100):
        u = integrator.step(u)
    ```

    Reference:
        - [Kassam & Trefethen, Fourth-order time-stepping for stiff
        PDEs, SIAM J. Sci. Comput. 2005](
        https://doi.org/10.1137/S1064827502410633)
    """

    def __init__(self, length, num_points, dt):
        self.length = check_real("length", length, positive=True)
        self.num_points = check_int("num_points", num_points, 4)
        self.dt = check_real("dt", dt, positive=True)
        n = np.arange(self.num_points // 2 + 1)
        self.wavenumbers = 2.0 * np.pi * n / self.length
        k = self.wavenumbers
        lin = k**2 - k**4
        h = self.dt
        num_contour = 16
        m = np.arange(1, num_contour + 1)
        roots = np.exp(1j * np.pi * (m - 0.5) / num_contour)
        lr = h * lin[:, None] + roots[None, :]
        with np.errstate(under="ignore", over="ignore", invalid="ignore"):
            exp_lr = np.exp(lr)
            self._e = np.exp(h * lin)
            self._e2 = np.exp(h * lin / 2.0)
            self._q = h * np.real(np.mean((np.exp(lr / 2.0) - 1.0) / lr, 1))
            self._f1 = h * np.real(
                np.mean(
                    (-4.0 - lr + exp_lr * (4.0 - 3.0 * lr + lr**2)) / lr**3, 1
                )
            )
            self._f2 = h * np.real(
                np.mean((2.0 + lr + exp_lr * (lr - 2.0)) / lr**3, 1)
            )
            self._f3 = h * np.real(
                np.mean(
                    (-4.0 - 3.0 * lr - lr**2 + exp_lr * (4.0 - lr)) / lr**3, 1
                )
            )
        coefficients = (self._e, self._e2, self._q, self._f1, self._f2)
        if not all(np.isfinite(c).all() for c in coefficients + (self._f3,)):
            raise ValueError(
                "The ETDRK4 coefficients are not finite for "
                f"length={self.length}, num_points={self.num_points}, "
                f"dt={self.dt}; use a smaller `dt` or fewer points."
            )
        self._g = -0.5j * k
        if self.num_points % 2 == 0:
            self._g[-1] = 0.0

    def _nonlinear(self, v):
        u = np.fft.irfft(v, n=self.num_points, axis=-1)
        return self._g * np.fft.rfft(u * u, axis=-1)

    def step_spectral(self, v):
        """Advances the real-FFT coefficients `v = rfft(u)` by one step.

        Args:
            v: array. Complex coefficients of shape
                `(..., num_points // 2 + 1)`.

        Returns:
            The coefficients after one time step `dt`.
        """
        nv = self._nonlinear(v)
        a = self._e2 * v + self._q * nv
        na = self._nonlinear(a)
        b = self._e2 * v + self._q * na
        nb = self._nonlinear(b)
        c = self._e2 * a + self._q * (2.0 * nb - nv)
        nc = self._nonlinear(c)
        return (
            self._e * v
            + self._f1 * nv
            + 2.0 * self._f2 * (na + nb)
            + self._f3 * nc
        )

    def step(self, u):
        """Advances the field `u` (physical space) by one step `dt`.

        Args:
            u: array-like. Real field(s) of shape `(..., num_points)`.

        Returns:
            The field(s) one time step later, float64, same shape.
        """
        u = np.asarray(u, dtype=np.float64)
        if u.ndim < 1 or u.shape[-1] != self.num_points:
            raise ValueError(
                f"`u` must have shape (..., {self.num_points}). "
                f"Received: u.shape={u.shape}"
            )
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            v = self.step_spectral(np.fft.rfft(u, axis=-1))
            return np.fft.irfft(v, n=self.num_points, axis=-1)


def kuramoto_sivashinsky(num_steps=20000, length=22.0, num_points=64, dt=0.25,
        transient_steps=1000, seed=0, cache=True):
    """Generates a Kuramoto-Sivashinsky trajectory (ETDRK4, pure numpy).

    `u_t = -u u_x - u_xx - u_xxxx` on `[0, length)`, periodic, integrated
    with `KSIntegrator` (ETDRK4 of Kassam & Trefethen, M = 16 contour
    points) and sampled every step. The initial condition is small
    noise, `0.01 * (U[0, 1) - 0.5)` from `np.random.default_rng(seed)`,
    with its spatial mean removed (the mean is conserved; zero mean
    avoids a drifting pattern). The first `transient_steps` steps are
    discarded (1000 steps = 250 time units by default); row 0 is the
    state right after them. With the defaults (L~ = 22 / (2 pi),
    64 points, dt = 0.25, as in the LED `KSGP64L22` data stored at 0.25)
    the field has std about 1.19, a largest Lyapunov exponent of about
    0.047, and an energy spectrum peaking at `n = 2` (k about 0.57).

    Args:
        num_steps: int. Number of time steps returned. Defaults to 20000.
        length: float. Domain length. Defaults to 22.0.
        num_points: int. Grid points, at least 4. Defaults to 64.
        dt: float. Time step and sampling interval. Defaults to 0.25.
        transient_steps: int. Steps discarded before recording.
            Defaults to 1000.
        seed: int. Non-negative seed of the initial noise. Defaults to 0.
        cache: bool. Read/write the on-disk cache. Defaults to `True`.

    Returns:
        A float32 array of shape `(num_steps, num_points)`; column `j` is
        `u(x_j)`, `x_j = j * length / num_points`.

    Raises:
        ValueError: for invalid arguments.
        FloatingPointError: if the integration blows up (too large `dt`).

    Example:

    ```python
    u = kuramoto_sivashinsky(num_steps=4000)
    u.shape  # (4000, 64)
    ```

    Reference:
        - [Kassam & Trefethen, Fourth-order time-stepping for stiff
        PDEs, SIAM J. Sci. Comput. 2005](
        https://doi.org/10.1137/S1064827502410633)
        - [Vlachas et al., Multiscale simulations of complex systems by
        learning their effective dynamics, Nat. Mach. Intell. 2022](
        https://arxiv.org/abs/2006.13431)
    """
    params = _trajectory_params(
        num_steps, dt, transient_steps, seed,
        length=check_real("length", length, positive=True),
        num_points=check_int("num_points", num_points, 4),
    )
    integrator = KSIntegrator(
        params["length"], params["num_points"], params["dt"]
    )

    def generate():
        p = params
        rng = np.random.default_rng(p["seed"])
        u0 = 0.01 * (rng.random(p["num_points"]) - 0.5)
        u0 -= u0.mean()
        spectra = _integrate(integrator.step_spectral, np.fft.rfft(u0), p,
                             "Kuramoto-Sivashinsky")
        u = np.fft.irfft(spectra, n=p["num_points"], axis=-1)
        return _to_float32(u, "Kuramoto-Sivashinsky", p["dt"])

    return cached_array("kuramoto_sivashinsky", params, generate, cache=cache)


def ks_energy_spectrum(u, length=22.0):
    """Time-averaged Fourier energy spectrum of a periodic 1-D field.

    With `u_hat = rfft(u, axis=-1) / num_points` (so that
    `a cos(k_n x)` has `|u_hat_n|^2 = a^2 / 4`), returns the mean over
    all leading (time) axes of `|u_hat_n|^2` for `n = 1 .. num_points // 2`
    and the wavenumbers `k_n = 2 pi n / length`. The mean mode `n = 0`
    is left out. For KS with length 22 the peak is at `n = 2`
    (`k = 0.57`), near the most unstable `k = 1 / sqrt(2)` of `k^2 - k^4`.

    Args:
        u: array-like. Field of shape `(num_points,)` or
            `(num_steps, num_points)`, `num_points >= 2`.
        length: float. Domain length. Defaults to 22.0.

    Returns:
        A tuple `(wavenumbers, energy)` of float64 arrays of shape
        `(num_points // 2,)`.

    Example:

    ```python
    u = kuramoto_sivashinsky(num_steps=4000)
    k, energy = ks_energy_spectrum(u, length=22.0)
    k[np.argmax(energy)]  # about 0.57
    ```

    Reference:
        - [Kassam & Trefethen, Fourth-order time-stepping for stiff
        PDEs, SIAM J. Sci. Comput. 2005](
        https://doi.org/10.1137/S1064827502410633)
    """
    u = np.asarray(u, dtype=np.float64)
    if u.ndim < 1 or u.shape[-1] < 2 or u.size == 0:
        raise ValueError(
            "`u` must have shape (num_points,) or (num_steps, num_points) "
            f"with num_points >= 2. Received: u.shape={u.shape}"
        )
    length = check_real("length", length, positive=True)
    num_points = u.shape[-1]
    u_hat = np.fft.rfft(u, axis=-1) / num_points
    energy = np.abs(u_hat[..., 1 : num_points // 2 + 1]) ** 2
    energy = energy.reshape(-1, energy.shape[-1]).mean(axis=0)
    n = np.arange(1, num_points // 2 + 1)
    return 2.0 * np.pi * n / length, energy


# ---------------------------------------------------------------------------
# Lyapunov exponent
# ---------------------------------------------------------------------------


def lyapunov_exponent(
    step_fn, state, dt, num_steps, transient_steps=0, d0=1e-8, seed=0
):
    """Estimates the largest Lyapunov exponent (two-trajectory Benettin).

    Runs `transient_steps` steps of `step_fn` from `state`, then adds a
    random perturbation of Euclidean norm `d0` (direction from
    `np.random.default_rng(seed)`), advances both trajectories one step
    at a time, accumulates `log(d / d0)` of their distance `d` and
    rescales the separation back to `d0` after every step. Returns
    `sum(log(d / d0)) / (num_steps * dt)`.

    Args:
        step_fn: callable. `step_fn(state) -> next state`, one step `dt`.
        state: array-like. Initial state (any shape), used in float64.
        dt: float. Time step of `step_fn`.
        num_steps: int. Number of averaged steps after the transient.
        transient_steps: int. Steps run before the perturbation.
            Defaults to 0.
        d0: float. Perturbation size. Defaults to 1e-8.
        seed: int. Seed of the perturbation direction. Defaults to 0.

    Returns:
        The estimate of lambda_1 (per unit time), a Python float.

    Raises:
        ValueError: for invalid arguments.
        FloatingPointError: if a trajectory becomes non-finite or the
            two trajectories collapse onto each other.

    Example:

    ```python
    from functools import partial
    step = partial(lorenz96_step, forcing=8.0, dt=0.01)
    x0 = lorenz96(num_steps=1, cache=False)[0]
    lyapunov_exponent(step, x0, dt=0.01, num_steps=20000)  # about 1.7
    ```

    Reference:
        - [Benettin, Galgani, Giorgilli, Strelcyn, Lyapunov
        characteristic exponents for smooth dynamical systems and for
        Hamiltonian systems, Meccanica 1980](
        https://doi.org/10.1007/BF02128236)
    """
    if not callable(step_fn):
        raise ValueError(
            f"`step_fn` must be callable. Received: step_fn={step_fn!r}"
        )
    x = np.array(state, dtype=np.float64)
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError(
            "`state` must be a non-empty finite array. "
            f"Received: state with shape {x.shape}"
        )
    dt = check_real("dt", dt, positive=True)
    num_steps = check_int("num_steps", num_steps, 1)
    transient_steps = check_int("transient_steps", transient_steps, 0)
    d0 = check_real("d0", d0, positive=True)
    seed = _check_seed(seed)
    system = "Lyapunov exponent"
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for n in range(transient_steps):
            x = np.asarray(step_fn(x), dtype=np.float64)
            if (n + 1) % _FINITE_CHECK_EVERY == 0:
                _check_finite(x, system, n + 1, dt)
        _check_finite(x, system, transient_steps, dt)
        direction = np.random.default_rng(seed).standard_normal(x.shape)
        y = x + direction * (d0 / np.linalg.norm(direction))
        total = 0.0
        for n in range(num_steps):
            x = np.asarray(step_fn(x), dtype=np.float64)
            y = np.asarray(step_fn(y), dtype=np.float64)
            diff = y - x
            d = float(np.sqrt(np.sum(diff * diff)))
            if not (np.isfinite(d) and d > 0.0):
                if d == 0.0:
                    raise FloatingPointError(
                        "The two trajectories collapsed onto each other at "
                        f"step {n + 1}; use a larger `d0` (received "
                        f"d0={d0!r})."
                    )
                _raise_blow_up(system, transient_steps + n + 1, dt)
            total += np.log(d / d0)
            y = x + diff * (d0 / d)
    _check_finite(x, system, transient_steps + num_steps, dt)
    return float(total / (num_steps * dt))
