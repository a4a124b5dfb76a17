"""`python -m demos`: launch the hyperzoo demo hub.

Usage:

```
python -m demos [--host 127.0.0.1] [--port 7860] [--tiny-test-model]
```

Without flags every tab loads its bundled preset (offline). With
`--tiny-test-model` every tab gets its module's tiny model, trained for a
few seconds at start-up (used by the browser test; no preset needed).
Stop the server with Ctrl+C (SIGINT).
"""

import argparse
import os


def parse_args(argv=None):
    """Parses the command line of `python -m demos`.

    Args:
        argv: list of str or `None` (`sys.argv[1:]`).

    Returns:
        An `argparse.Namespace` with `host`, `port`, `tiny_test_model`.

    Example:

    ```python
    parse_args(["--port", "7861"]).port  # 7861
    ```
    """
    parser = argparse.ArgumentParser(
        prog="python -m demos",
        description="Launch the hyperzoo Gradio demo hub (offline).",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860,
                        help="port (default 7860)")
    parser.add_argument(
        "--tiny-test-model", action="store_true",
        help="serve tiny models trained at start-up instead of the "
             "bundled presets (for tests)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Launches the hub and blocks until interrupted.

    Args:
        argv: list of str or `None` (`sys.argv[1:]`).

    Returns:
        0 on a normal stop.

    Example:

    ```python
    main(["--port", "7861"])
    ```
    """
    args = parse_args(argv)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from demos import hub

    models = hub.build_tiny_models() if args.tiny_test_model else None
    print(f"hyperzoo demos: http://{args.host}:{args.port}/", flush=True)
    try:
        hub.launch_hub(host=args.host, port=args.port, models=models)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
