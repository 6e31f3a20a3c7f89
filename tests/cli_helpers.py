"""Shared by the command-line tests: the circuit example, main.py run in a real process, and the
shape of a one-line error."""
from __future__ import annotations

import os
import subprocess
import sys

from backprop_studio_resources import example_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CIRCUIT = example_path("cs231n_circuit.json")


def main_py(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("error: ")
