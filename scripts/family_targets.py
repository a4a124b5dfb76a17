"""Runs the `make presets` / `make bench` commands every family declares.

The Makefile's `presets` and `bench` targets are views of
`zoo.FAMILIES`: each family lists its commands in its declaration
(`Family.preset_commands`, `Family.bench_commands`), and this script
runs them in `zoo.FAMILIES` order from the repository root, stopping at
the first failure. `{python}` in a command is this interpreter.

Usage:
    python scripts/family_targets.py presets|bench [--dry-run]
        [--only MODULE ...] [--family MODULE ...]

`--family` appends family modules to `zoo.FAMILIES` first (a family kept
outside this repository); `--only` runs the commands of the named family
modules alone.
"""

import argparse
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import zoo  # noqa: E402


def commands(target, only=()):
    """`[(family name, command)]` for `target` ("presets" or "bench").

    Args:
        target: str. `"presets"` or `"bench"`.
        only: iterable of family module names; empty for all.

    Returns:
        A list of `(family name, shell command)`.

    Example:

    ```python
    commands("bench")
    ```
    """
    from zoo import registry

    field = {"presets": "preset_commands", "bench": "bench_commands"}[target]
    python = shlex.quote(sys.executable)
    result = []
    for module, family in zip(zoo.FAMILIES, registry.families()):
        if only and module not in only:
            continue
        for command in getattr(family, field):
            result.append((family.name, command.format(python=python)))
    return result


def main(argv=None):
    """Parses the arguments and runs (or prints) the commands."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=("presets", "bench"))
    parser.add_argument("--dry-run", action="store_true",
                        help="print the commands, run nothing")
    parser.add_argument("--only", nargs="+", default=(),
                        help="family modules whose commands to run")
    parser.add_argument("--family", nargs="+", default=(),
                        help="extra family modules to add to zoo.FAMILIES")
    args = parser.parse_args(argv)
    zoo.FAMILIES.extend(m for m in args.family if m not in zoo.FAMILIES)
    for family, command in commands(args.target, args.only):
        print(f"[{family}] {command}", flush=True)
        if args.dry_run:
            continue
        code = subprocess.call(command, shell=True, cwd=ROOT)
        if code != 0:
            print(f"error: [{family}] exited with {code}: {command}",
                  file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
