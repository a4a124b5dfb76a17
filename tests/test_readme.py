"""The README's measured tables are the ones the results CSVs give."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_tables_match_results():
    result = subprocess.run(
        [sys.executable, "scripts/update_readme.py", "--check"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_quickstart_is_the_two_commands_first():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    block = text.split("## Quickstart", 1)[1].split("```bash", 1)[1]
    commands = [
        line.split("#")[0].strip()
        for line in block.split("```", 1)[0].strip().splitlines()
    ]
    assert commands == ["make demo", "make test"]
