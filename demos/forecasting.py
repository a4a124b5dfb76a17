"""Gradio demo of the forecasting presets (RHN + attention + gating).

The tab picks a system (Lorenz 96 or Kuramoto-Sivashinsky, whichever
forecasters are available) and one of its 24 test initial conditions;
the model is warmed up on the true states before it and rolled out
autoregressively for 8 Lyapunov times. It shows the forecast against the
truth as space-time plots (truth, forecast, absolute error; z-scored
units) and the NRMSE curve with the valid prediction time (first lead
time with NRMSE > 0.5) marked. Endpoint `"forecast"`
(`"<tab>_forecast"` inside the hub).

Models: `render` takes one `zoo.forecasting.Forecaster` or a dict
`{system: Forecaster}`. A model's system is read from its state size
(40: Lorenz 96, 8: two-scale Lorenz 96, 64: KS). In the hub, the tab's
preset is `rhn_attention_lorenz96` and the other bundled presets of
`PRESETS` are loaded next to it.

A hub tab: the module contract is in `demos/hub.py`.
"""

import gradio as gr
import numpy as np
from matplotlib.figure import Figure

from demos.components import check_whole_number
from demos.components import figure_axes
from demos.components import figure_to_picture
from demos.components import header_markdown
from demos.components import index_slider
from demos.components import model_lock
from demos.components import output_picture
from demos.components import preset_metrics
from demos.components import run_controls
from demos.components import standalone_builder
from demos.components import unchecked
from demos.components import user_error
from demos.components import wire
from zoo.data import forecasting_systems as recipes
from zoo.forecasting.forecasting_metrics import VPT_THRESHOLD
from zoo.forecasting.forecasting_metrics import valid_prediction_time
from zoo.preset_utils import list_presets
from zoo.preset_utils import load

TITLE = "Chaotic forecasting (RHN + attention)"
SUMMARY = ("Autoregressive forecasts of Lorenz 96 and Kuramoto-"
           "Sivashinsky, with their valid prediction time.")
PRESETS = {"lorenz96": "rhn_attention_lorenz96", "ks": "rhn_attention_ks"}
_DIMS = {40: "lorenz96", 8: "lorenz96_two_scale", 64: "ks"}


def system_of(model):
    """The system a forecaster predicts, from its state size.

    Args:
        model: a `zoo.forecasting.Forecaster`.

    Returns:
        A key of `zoo.data.forecasting_systems.SYSTEMS`.

    Raises:
        ValueError: the model is not a forecaster of a known system.

    Example:

    ```python
    demos.forecasting.system_of(zoo.load("rhn_attention_ks"))  # 'ks'
    ```
    """
    dim = getattr(getattr(model, "backbone", None), "input_dim", None)
    if not hasattr(model, "rollout") or dim not in _DIMS:
        raise ValueError(
            "The forecasting demo needs a zoo.forecasting.Forecaster with "
            f"state size in {sorted(_DIMS)}. Received: {type(model).__name__}"
            f" with input_dim={dim!r}"
        )
    return _DIMS[dim]


def _models(model):
    models = model if isinstance(model, dict) else {system_of(model): model}
    if not models:
        raise ValueError("The forecasting demo needs at least one model.")
    out = {}
    for key, m in models.items():
        system = system_of(m)
        if system != key:
            raise ValueError(
                f"Model given for {key!r} forecasts {system!r} (state "
                f"size {m.backbone.input_dim})."
            )
        out[system] = m
    return out


def spacetime_picture(truth, forecast, lead, title="", dpi=100):
    """Truth, forecast and absolute error as three space-time plots.

    Args:
        truth: float array `(time, dims)` (z-scored).
        forecast: float array of the same shape.
        lead: float array `(time,)`, lead times in Lyapunov times.
        title: str. Title above the panels.
        dpi: int. Pixels per inch (figure 9 x 3.2 inches).

    Returns:
        uint8 array `(320, 900, 3)` with the default `dpi`.

    Example:

    ```python
    u = np.random.rand(50, 40)
    demos.forecasting.spacetime_picture(u, u, np.arange(50) * 0.08)
    ```
    """
    truth = np.asarray(truth, "float64")
    forecast = np.nan_to_num(np.asarray(forecast, "float64"), nan=0.0,
                             posinf=0.0, neginf=0.0)
    fig = Figure(figsize=(9, 3.2), dpi=dpi)
    limit = max(1e-6, float(np.abs(truth).max()))
    extent = (0, truth.shape[1], float(lead[-1]), float(lead[0]))
    panels = (("truth", truth, "RdBu_r", (-limit, limit)),
              ("forecast", np.clip(forecast, -limit, limit), "RdBu_r",
               (-limit, limit)),
              ("|error|", np.minimum(np.abs(forecast - truth), 2 * limit),
               "magma", (0, 2 * limit)))
    for i, (name, values, cmap, (lo, hi)) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=lo,
                          vmax=hi, extent=extent, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("state index", fontsize=8)
        if i == 0:
            ax.set_ylabel("lead time (Lyapunov times)", fontsize=8)
        ax.tick_params(labelsize=7)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    fig.suptitle(title, fontsize=9)
    return figure_to_picture(fig)


def nrmse_picture(lead, error, vpt, dpi=100):
    """NRMSE against lead time, threshold and valid prediction time.

    Args:
        lead: float array `(time,)`, lead times in Lyapunov times.
        error: float array `(time,)`, NRMSE.
        vpt: float. Valid prediction time (Lyapunov times).
        dpi: int. Pixels per inch (figure 6.4 x 2.8 inches).

    Returns:
        uint8 array `(280, 640, 3)` with the default `dpi`.

    Example:

    ```python
    demos.forecasting.nrmse_picture(np.arange(10.0), np.linspace(0, 1, 10),
                                    4.0)
    ```
    """
    fig, ax = figure_axes(6.4, 2.8, dpi)
    error = np.nan_to_num(np.asarray(error, "float64"), nan=1e6,
                          posinf=1e6)
    ax.plot(lead, error, color="#08519c", label="NRMSE")
    ax.axhline(VPT_THRESHOLD, color="gray", ls="--", lw=1,
               label=f"threshold {VPT_THRESHOLD}")
    ax.axvline(vpt, color="tab:red", lw=1.5,
               label=f"valid prediction time {vpt:.2f}")
    ax.set_ylim(0, max(1.5, min(3.0, float(error.max()) * 1.05)))
    ax.set_xlabel("lead time (Lyapunov times)")
    ax.set_ylabel("NRMSE")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return figure_to_picture(fig)


def predict(system, index, models):
    """Forecasts one test initial condition of a system.

    Args:
        system: str. A key of `models`.
        index: int in `[0, 24)` (an integral float or a string of digits
            is accepted, as UI components send).
        models: dict `{system: Forecaster}`.

    Returns:
        `(summary, spacetime, curve)`: a Markdown line with the valid
        prediction time, the uint8 space-time picture
        (`spacetime_picture`) and the uint8 NRMSE curve
        (`nrmse_picture`).

    Raises:
        gr.Error: unknown system or a bad index; the message names the
            argument.

    Example:

    ```python
    summary, spacetime, curve = demos.forecasting.predict(
        "ks", 3, {"ks": zoo.load("rhn_attention_ks")})
    ```
    """
    if not isinstance(system, str) or system not in models:
        raise user_error(
            f"`system` must be one of {sorted(models)}. "
            f"Received: system={system!r}"
        )
    index = check_whole_number(index, "index", recipes.NUM_TEST_ICS,
                               "a test initial condition")
    model = models[system]
    cfg = recipes.SYSTEMS[system]
    warmup, truth, starts = recipes.initial_conditions(
        system, model.context_length
    )
    # `rollout` goes through `predict_on_batch`: one call per model at once.
    with model_lock(model):
        forecast = model.rollout(warmup[index:index + 1],
                                 truth.shape[1])[0]
    error = np.sqrt(np.mean((forecast.astype("float64") - truth[index])
                            ** 2, axis=-1))
    vpt = valid_prediction_time(error, cfg["dt"], cfg["lyapunov"])
    lead = (np.arange(truth.shape[1]) + 1) * cfg["dt"] * cfg["lyapunov"]
    summary = (
        f"{cfg['label']}, test initial condition **#{index}** (step "
        f"{int(starts[index])} of the test trajectory): valid prediction "
        f"time **{vpt:.2f}** Lyapunov times (NRMSE > {VPT_THRESHOLD} "
        f"after that; 1 Lyapunov time = {1 / cfg['lyapunov']:.2f} time "
        "units)."
    )
    spacetime = spacetime_picture(truth[index], forecast, lead,
                                  f"{cfg['label']}, IC #{index}")
    return summary, spacetime, nrmse_picture(lead, error, vpt)


def _preset_models(model, preset):
    models = _models(model)
    if preset is not None:
        bundled = set(list_presets())
        for system, name in PRESETS.items():
            if system not in models and name in bundled:
                models[system] = load(name)
    return models


def _header(models, preset):
    lines = [
        "Next-state forecasters with recurrent highway cells, causal "
        "attention with relative-position biases and highway gating "
        "(after Heidenreich, Vlachas & Koumoutsakos, 2024). Pick a system "
        "and a test initial condition: the model is warmed up on the "
        "true states before it, then fed its own predictions.",
    ]
    for system in models:
        name = PRESETS.get(system)
        vpt = None
        if preset is not None and name in set(list_presets()):
            vpt = preset_metrics(name).get("vpt_lyapunov")
        if vpt is not None:
            lines.append(f"Preset `{name}`: mean valid prediction time "
                         f"**{vpt:.2f}** Lyapunov times over "
                         f"{recipes.NUM_TEST_ICS} test initial conditions "
                         "(from the preset's metadata).")
    return header_markdown(TITLE, *lines)


def render(model, api_prefix="", preset=None):
    """Adds the forecasting tab to the open Blocks (see `demos/hub.py`).

    Endpoint `f"{api_prefix}forecast"` (system, initial-condition index).

    Args:
        model: a `zoo.forecasting.Forecaster` or a dict `{system:
            Forecaster}`.
        api_prefix: str. Prefix of the endpoint names and element ids.
        preset: str or `None`. When given, the other bundled presets of
            `PRESETS` are loaded too and the header shows the stored
            metrics.

    Returns:
        A dict of the created components: `system`, `index`, `button`,
        `summary`, `spacetime`, `curve`, `status`.

    Raises:
        ValueError: a model is not a forecaster of a known system.

    Example:

    ```python
    with gr.Blocks() as demo:
        demos.forecasting.render(zoo.load("rhn_attention_ks"),
                                 api_prefix="fc_")
    ```
    """
    models = _preset_models(model, preset)

    def forecast(system, index):
        return predict(system, index, models)

    gr.Markdown(_header(models, preset))
    with gr.Row():
        with gr.Column(scale=1):
            system = unchecked(gr.Dropdown(
                [(recipes.SYSTEMS[s]["label"], s) for s in models],
                value=next(iter(models)), label="System",
                elem_id=f"{api_prefix}system",
            ))
            index = index_slider(recipes.NUM_TEST_ICS,
                                 "Test initial condition",
                                 f"{api_prefix}index")
            button, status, summary = run_controls(
                "Forecast", api_prefix, "forecast-button")
        with gr.Column(scale=2):
            spacetime = output_picture("Truth, forecast and error",
                                       f"{api_prefix}spacetime")
            curve = output_picture("NRMSE", f"{api_prefix}curve")
    wire(button.click, forecast, [system, index],
         [summary, spacetime, curve], f"{api_prefix}forecast", status,
         progress_text="Rolling out 8 Lyapunov times (the first run "
                       "compiles the model: a few seconds)...")
    return {"system": system, "index": index, "button": button,
            "summary": summary, "spacetime": spacetime, "curve": curve,
            "status": status}


build_demo = standalone_builder(render, TITLE)


def build_tiny_model(seed=0):
    """Tiny untrained forecasters of Lorenz 96 and KS, for tests.

    Args:
        seed: int. Seed of the initialisers.

    Returns:
        A dict `{"lorenz96": Forecaster, "ks": Forecaster}` (RHN +
        attention + gating, 8 units, context 8).

    Example:

    ```python
    models = demos.forecasting.build_tiny_model()
    ```
    """
    from zoo.forecasting.forecaster import Forecaster
    from zoo.forecasting.forecaster_backbone import ForecasterBackbone

    models = {}
    for system, dim in (("lorenz96", 40), ("ks", 64)):
        backbone = ForecasterBackbone(input_dim=dim, cell="rhn", units=8,
                                      num_heads=2, window=8, seed=seed)
        models[system] = Forecaster(backbone, context_length=8)
    return models
