"""The hyperzoo demo hub: one Gradio tab per model family.

Adding a model family takes one module and one line:

1. `demos/<family>.py` defines `TITLE` (tab label), `render(model,
   api_prefix="", preset=None)` (adds the tab's components and events to
   the open Blocks, with endpoint names starting with `api_prefix`),
   `build_demo(model, preset=None)` (the standalone app) and
   `build_tiny_model()` (a small model for tests and
   `python -m demos --tiny-test-model`).
2. A `DemoTab(name, module, preset)` line in `TABS`.

Endpoint names: inside the hub every endpoint is
`"<tab name>_<verb>"`, e.g. `/hyper_mlp_digits_classify` and
`/hyper_mlp_digits_classify_drawing`, so names stay unique and stable
when tabs are added (a client never sees a Gradio-deduplicated
`classify_1`). A standalone `build_demo` uses the bare verb
(`/classify`).

Queue: `build_hub` (and each `build_demo`) sets
`queue(max_size=16, default_concurrency_limit=2)`, so a hub launched by
hand or by a test behaves like `launch_hub`.

Shared pieces: what several tabs need (the digit upload/draw column,
figure-to-picture rendering, preset metadata, headers, the standalone
`build_demo` app) lives in `demos/components.py`. A demo module imports
from there, never another tab's private helpers.
"""

import dataclasses
import importlib
import logging

import gradio as gr

from demos.components import set_queue
from zoo.preset_utils import list_presets
from zoo.preset_utils import load

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DemoTab:
    """One tab of the hub.

    Args:
        name: str. Tab id, `models` key and endpoint prefix (snake_case).
        module: str. Import path of the demo module (see the module
            docstring for what it defines).
        preset: str. Bundled preset loaded when `build_hub` gets no
            model for this tab.

    Example:

    ```python
    DemoTab("hyper_mlp_digits", "demos.hyper_mlp_digits",
            "hyper_mlp_digits")
    ```
    """

    name: str
    module: str
    preset: str


TABS = (
    DemoTab("hyper_mlp_digits", "demos.hyper_mlp_digits", "hyper_mlp_digits"),
    DemoTab("hyper_cl_permuted_digits", "demos.hyper_cl_digits",
            "hyper_cl_permuted_digits"),
    DemoTab("unem_fewshot", "demos.unem_fewshot", "unem_gaussian_5shot"),
    DemoTab("terminator_digits", "demos.terminator_digits",
            "terminator_2d_digits"),
    DemoTab("terminator_mnist1d", "demos.terminator_mnist1d",
            "terminator_1d_mnist1d"),
    DemoTab("forecasting", "demos.forecasting", "rhn_attention_lorenz96"),
    DemoTab("token_exit", "demos.token_exit", "token_exit_vlm_digits"),
)


def get_tab(name):
    """Returns the `DemoTab` called `name`.

    Args:
        name: str. A tab name from `TABS`.

    Returns:
        The `DemoTab`.

    Raises:
        ValueError: unknown name; the message lists the known ones.

    Example:

    ```python
    demos.hub.get_tab("hyper_mlp_digits").preset
    ```
    """
    for tab in TABS:
        if tab.name == name:
            return tab
    raise ValueError(
        f"Unknown demo tab {name!r}. Known tabs: "
        f"{', '.join(t.name for t in TABS)}."
    )


def tab_module(name):
    """Imports and returns the demo module of tab `name`.

    Args:
        name: str. A tab name from `TABS`.

    Returns:
        The module (with `TITLE`, `render`, `build_demo`,
        `build_tiny_model`).

    Example:

    ```python
    demos.hub.tab_module("hyper_mlp_digits").build_tiny_model()
    ```
    """
    return importlib.import_module(get_tab(name).module)


def load_bundled_models():
    """Loads the bundled preset of every tab that has one.

    Tabs whose preset is not bundled (not in `zoo.list_presets()`) are
    left out with a logged warning. A preset that exists but fails its
    checksum raises.

    Returns:
        A dict `{tab name: (model, preset)}`, in `TABS` order.

    Raises:
        RuntimeError: no tab has a bundled preset.

    Example:

    ```python
    demos.hub.load_bundled_models()  # {'hyper_mlp_digits': (model, ...)}
    ```
    """
    bundled = set(list_presets())
    loaded = {}
    for tab in TABS:
        if tab.preset not in bundled:
            logger.warning(
                "Demo tab %r left out: preset %r is not bundled in "
                "zoo/presets (train it with `python -m zoo train`).",
                tab.name, tab.preset,
            )
            continue
        loaded[tab.name] = (load(tab.preset), tab.preset)
    if not loaded:
        raise RuntimeError(
            "No demo tab can be built: none of the presets "
            f"{', '.join(t.preset for t in TABS)} is bundled in "
            "zoo/presets. Train one, or pass models to build_hub() "
            "(`python -m demos --tiny-test-model` uses tiny models)."
        )
    return loaded


def build_hub(models=None):
    """Builds the hub: a `gr.Blocks` with one `gr.Tab` per model.

    The queue is set here: `queue(max_size=16,
    default_concurrency_limit=2)`. Endpoint names are
    `"<tab name>_<verb>"` (e.g. `/hyper_mlp_digits_classify`).

    Args:
        models: `None` to load the bundled preset of every tab in `TABS`
            (tabs without a bundled preset are left out), or a dict
            `{tab name: model}` (tabs in the dict's order; no preset
            metadata is shown for these models).

    Returns:
        A `gr.Blocks`, not launched.

    Raises:
        ValueError: a key of `models` is not a tab name.

    Example:

    ```python
    hub = demos.build_hub({"hyper_mlp_digits": zoo.load(
        "hyper_mlp_digits")})
    hub.launch()
    ```
    """
    if models is None:
        entries = load_bundled_models()
    else:
        entries = {}
        for name, model in dict(models).items():
            get_tab(name)
            entries[name] = (model, None)
    with gr.Blocks(title="hyperzoo demos") as hub:
        gr.Markdown(
            "# hyperzoo demos\n"
            "Keras 3 hypernetwork models; one tab per model."
        )
        with gr.Tabs():
            for name, (model, preset) in entries.items():
                module = tab_module(name)
                with gr.Tab(module.TITLE, id=name, elem_id=f"tab-{name}"):
                    module.render(
                        model, api_prefix=f"{name}_", preset=preset
                    )
    return set_queue(hub)


def build_tiny_models():
    """Tiny models for every tab, from each module's `build_tiny_model`.

    Returns:
        A dict `{tab name: model}` for `build_hub`.

    Example:

    ```python
    hub = demos.build_hub(demos.hub.build_tiny_models())
    ```
    """
    return {tab.name: tab_module(tab.name).build_tiny_model() for tab in TABS}


def launch_hub(host="127.0.0.1", port=7860, models=None, **kwargs):
    """Builds and launches the hub (blocking unless told otherwise).

    Args:
        host: str. Address to listen on (`server_name`).
        port: int. Port (`server_port`).
        models: `None` (bundled presets) or a dict, as in `build_hub`.
        **kwargs: passed to `gr.Blocks.launch` (e.g.
            `prevent_thread_lock=True`, `quiet=True`). `share` defaults
            to False and `ssr_mode` to False (no Node server).

    Returns:
        The launched `gr.Blocks` (once the server stops, or at once with
        `prevent_thread_lock=True`).

    Example:

    ```python
    demos.launch_hub(port=7861)
    ```
    """
    hub = build_hub(models)
    kwargs.setdefault("share", False)
    kwargs.setdefault("ssr_mode", False)
    hub.launch(server_name=host, server_port=port, **kwargs)
    return hub
