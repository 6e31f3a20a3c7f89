"""A script that embeds the app without an `if __name__ == "__main__"` guard runs once, not once
more in every spawned child (the training, landscape, babysitting and search children)."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = '''
import multiprocessing as mp, os, sys
sys.path.insert(0, {root!r})
with open({marker!r}, "a") as f:
    f.write("ran\\n")  # top-level code, no __main__ guard: a spawned child must not run it again
from graphcore import spawnsafe
ctx = mp.get_context("spawn")
proc = ctx.Process(target=os.getpid)
spawnsafe.start(proc)
proc.join(60)
print("exit", proc.exitcode)
'''


def test_a_spawned_child_does_not_rerun_an_unguarded_script(tmp_path):
    marker = tmp_path / "runs.txt"
    script = tmp_path / "embed.py"
    script.write_text(SCRIPT.format(root=ROOT, marker=str(marker)))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "exit 0" in out.stdout, out.stderr[-500:]
    assert marker.read_text() == "ran\n"  # once: the child did not import the script
