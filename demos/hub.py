"""The hyperzoo demo hub: one Gradio tab per model family.

The tabs are a view of `zoo.FAMILIES`: each family declares its tabs
(`zoo.family.DemoTab(name, module, preset, heading)` in its `FAMILY`),
and `tabs()` reads them. A demo module `demos/<tab>.py` defines `TITLE`
(tab label), `SUMMARY` (one sentence for the hub's model list),
`render(model, api_prefix="", preset=None)` (adds the tab's components
and events to the open Blocks; `api_prefix` starts the endpoint names
and element ids, and `preset`, the name of the preset the model came
from or `None`, gives the header's metrics and the class names from
the preset's metadata), `build_demo(model, preset=None)` (the
standalone app) and `build_tiny_model()` (a small model for tests and
`python -m demos --tiny-test-model`). Adding a tab takes the module and
one `DemoTab` in its family's declaration; nothing here changes.

Navigation: the first tab, "All models", lists every model, grouped by
`family`, each with a button that opens its tab (Gradio's tab bar puts
the tabs that do not fit behind an unlabelled "..." menu, and the hub
grows by one tab per model). The buttons switch tabs without the queue
(`queue=False`), so they work while the queue is busy.

Endpoint names: inside the hub every endpoint is
`"<tab name>_<verb>"`, e.g. `/hyper_mlp_digits_classify` and
`/hyper_mlp_digits_classify_drawing`, so names stay unique and stable
when tabs are added (a client never sees a Gradio-deduplicated
`classify_1`). A standalone `build_demo` uses the bare verb
(`/classify`).

Queue: `build_hub` (and each `build_demo`) calls
`demos.components.set_queue` (`max_size=64`, `default_concurrency_limit
=2`, chosen from measurements; see its docstring), so a hub launched by
hand or by a test behaves like `launch_hub`.

Shared pieces: what several tabs need (the digit upload/draw column,
figure-to-picture rendering, preset metadata, headers, the standalone
`build_demo` app) lives in `demos/components.py`. A demo module imports
from there, never another tab's private helpers.
"""

import functools
import importlib
import logging

import gradio as gr

from demos.components import MAX_UPLOAD_SIZE
from demos.components import set_queue
from zoo.family import DemoTab  # noqa: F401  (re-exported)
from zoo.preset_utils import list_presets
from zoo.preset_utils import load
from zoo.registry import demo_tabs as tabs  # every family's DemoTab

logger = logging.getLogger(__name__)


MODELS_TAB = "models"


def get_tab(name):
    """Returns the `DemoTab` called `name`.

    An unknown name raises a `ValueError` that lists the known tabs, in
    `tabs()` order (as `zoo.registry.get_preset_spec` does for presets).

    Args:
        name: str. A tab name from `tabs()`.

    Returns:
        The `DemoTab`.

    Example:

    ```python
    demos.hub.get_tab("hyper_mlp_digits").preset
    ```
    """
    known = tabs()
    for tab in known:
        if tab.name == name:
            return tab
    raise ValueError(
        f"Unknown demo tab {name!r}. Known tabs: "
        f"{', '.join(t.name for t in known)}."
    )


def tab_module(name):
    """Imports and returns the demo module of tab `name`.

    Args:
        name: str. A tab name from `tabs()`.

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
        A dict `{tab name: (model, preset)}`, in `tabs()` order.

    Raises:
        RuntimeError: no tab has a bundled preset.

    Example:

    ```python
    demos.hub.load_bundled_models()  # {'hyper_mlp_digits': (model, ...)}
    ```
    """
    bundled = set(list_presets())
    loaded = {}
    known = tabs()
    for tab in known:
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
            f"{', '.join(t.preset for t in known)} is bundled in "
            "zoo/presets. Train one, or pass models to build_hub() "
            "(`python -m demos --tiny-test-model` uses tiny models)."
        )
    return loaded


def build_hub(models=None):
    """Builds the hub: a `gr.Blocks` with one `gr.Tab` per model.

    The first tab, "All models" (`model_list`), lists every model with
    a button to its tab. The queue is set here:
    `demos.components.set_queue`. Endpoint names are
    `"<tab name>_<verb>"` (e.g. `/hyper_mlp_digits_classify`).

    Args:
        models: `None` to load the bundled preset of every tab in `tabs()`
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
        with gr.Tabs(elem_id="hub-tabs") as tab_bar:
            with gr.Tab("All models", id=MODELS_TAB, elem_id="hub-models"):
                buttons = model_list(entries)
            for name, (model, preset) in entries.items():
                module = tab_module(name)
                with gr.Tab(module.TITLE, id=name, elem_id=f"tab-{name}"):
                    module.render(
                        model, api_prefix=f"{name}_", preset=preset
                    )
        for name, button in buttons.items():
            button.click(functools.partial(gr.Tabs, selected=name),
                         outputs=tab_bar, queue=False,
                         api_visibility="private",
                         api_name=f"open_{name}")
    return set_queue(hub)


def model_list(entries):
    """Adds the "All models" page: every tab, grouped by family.

    Call it inside the open "All models" tab. Each model gets a card
    with its title, its module's `SUMMARY` and an "Open" button
    (element id `f"open-{name}"`); families come in `tabs()` order.

    Args:
        entries: dict `{tab name: ...}` of the tabs in the hub.

    Returns:
        A dict `{tab name: gr.Button}` (to wire to the tab switch).

    Example:

    ```python
    with gr.Tab("All models"):
        buttons = demos.hub.model_list({"hyper_mlp_digits": None})
    ```
    """
    gr.Markdown(
        f"{len(entries)} models. Open one here, or with the tabs above "
        "(those that do not fit are behind the \"...\" at their end)."
    )
    headings = {}
    for tab in tabs():
        if tab.name in entries:
            headings.setdefault(tab.heading, []).append(tab)
    buttons = {}
    for heading, group in headings.items():
        gr.Markdown(f"### {heading}")
        with gr.Row(equal_height=True):
            for tab in group:
                module = tab_module(tab.name)
                with gr.Column(variant="panel", min_width=240):
                    gr.Markdown(f"**{module.TITLE}**\n\n"
                                f"{getattr(module, 'SUMMARY', '')}")
                    buttons[tab.name] = gr.Button(
                        f"Open {module.TITLE}", size="sm",
                        elem_id=f"open-{tab.name}",
                    )
    return buttons


def build_tiny_models():
    """Tiny models for every tab, from each module's `build_tiny_model`.

    Returns:
        A dict `{tab name: model}` for `build_hub`.

    Example:

    ```python
    hub = demos.build_hub(demos.hub.build_tiny_models())
    ```
    """
    return {tab.name: tab_module(tab.name).build_tiny_model()
            for tab in tabs()}


def launch_hub(host="127.0.0.1", port=7860, models=None, **kwargs):
    """Builds and launches the hub (blocking unless told otherwise).

    Args:
        host: str. Address to listen on (`server_name`).
        port: int. Port (`server_port`).
        models: `None` (bundled presets) or a dict, as in `build_hub`.
        **kwargs: passed to `gr.Blocks.launch` (e.g.
            `prevent_thread_lock=True`, `quiet=True`). `share` defaults
            to False, `ssr_mode` to False (no Node server) and
            `max_file_size` to `demos.components.MAX_UPLOAD_SIZE`.

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
    kwargs.setdefault("max_file_size", MAX_UPLOAD_SIZE)
    hub.launch(server_name=host, server_port=port, **kwargs)
    return hub
