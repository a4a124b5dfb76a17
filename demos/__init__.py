"""hyperzoo Gradio demos: a hub with one tab per model family.

Launch with `python -m demos [--host 127.0.0.1] [--port 7860]`; see
`demos/hub.py` for how a model family adds its tab.

`build_hub`, `launch_hub` and `tabs` are imported lazily, so
`python -m demos` can set `GRADIO_ANALYTICS_ENABLED` before Gradio is
imported.
"""

_LAZY = {"build_hub", "launch_hub", "tabs"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        from demos import hub

        return getattr(hub, name)
    raise AttributeError(f"module 'demos' has no attribute {name!r}")
