"""The wheel works without the source tree: it is built, installed with --no-deps into a fresh
virtual environment outside the checkout, and its console script answers --version and runs
a shipped example found through the installed package.

One test, because every step needs the one before it and each costs seconds: building the
wheel (~2 s) and installing it (~2 s). The new environment gets this environment's
dependencies (numpy, PySide6...) through a .pth file naming their site-packages; a path line
in a .pth file is only appended to sys.path, so the editable install of this project that
lives there (its own .pth hook) stays invisible, and the test checks that every module of the
project is imported from the new environment.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Left out of the copy the wheel is built from: VCS, environments and build leftovers (a stale
# build/lib would leak deleted modules into the wheel).
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
                                ".pytest_cache", ".hypothesis", "*.nbi", "*.nbc", "tmp")
PROJECT_MODULES = ("main", "graphcore", "app", "backprop_studio_resources")
# Run by the installed Python: where the project's modules come from, and what the app and the
# trainer find through backprop_studio_resources (styles and the icons they name, File > Examples,
# the digits).
PROBE = """
import json, importlib, os, re
mods = {m: importlib.import_module(m).__file__ for m in %r}
from backprop_studio_resources import example_path
from app import theme
from app.main_window import example_files
from graphcore.train.datasets import digits
from graphcore.lessons import load_all
urls = [u for t in theme.THEMES for u in re.findall(r"url\\(([^)]*)\\)", theme.stylesheet(t))]
print(json.dumps({"files": mods, "circuit": example_path("cs231n_circuit.json"), "examples": example_files(),
                  "style_urls": urls, "digits": list(digits().X.shape),
                  "lessons": [les.id for les in load_all()]}))
""" % (PROJECT_MODULES,)


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


def _source_packages() -> set[str]:
    """graphcore and app and every package under them, as dotted names."""
    found = set()
    for top in ("graphcore", "app"):
        for d, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [x for x in dirs if x != "__pycache__"]
            if "__init__.py" in files:
                found.add(os.path.relpath(d, ROOT).replace(os.sep, "."))
    return found


def _check_contents(names: list[str]) -> None:
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"main.py", "graphcore", "app", "backprop_studio_resources"}, tops  # no tests, bench, docs
    packages = {os.path.dirname(n).replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert _source_packages() <= packages, f"packages missing from pyproject: {_source_packages() - packages}"

    shipped = {n.split("/", 1)[1] for n in names if n.startswith("backprop_studio_resources/")}
    res = os.path.join(ROOT, "resources")
    wanted = {"__init__.py", "datasets/digits.npz", "style/dark.qss", "style/light.qss"}
    wanted |= {os.path.relpath(p, res).replace(os.sep, "/") for p in glob.glob(os.path.join(res, "examples", "*.json"))}
    wanted |= {os.path.relpath(p, res).replace(os.sep, "/") for p in glob.glob(os.path.join(res, "icons", "*.svg"))}
    wanted |= {os.path.relpath(p, res).replace(os.sep, "/") for p in glob.glob(os.path.join(res, "lessons", "*.json"))}
    wanted |= {"fonts/BackpropStudioCJK-Regular.otf", "fonts/OFL.txt"}  # the Chinese font and its license
    assert len(wanted) > 15 and "examples/cs231n_circuit.json" in wanted and "icons/ok.svg" in wanted
    assert shipped == wanted, f"missing: {sorted(wanted - shipped)}; unexpected: {sorted(shipped - wanted)}"

    entry = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert len(entry) == 1


@pytest.mark.slow
def test_the_wheel_installs_and_runs_outside_the_source_tree(tmp_path):
    src, dist, venv, work = (tmp_path / n for n in ("src", "dist", "venv", "work"))
    shutil.copytree(ROOT, src, ignore=IGNORE)
    work.mkdir()

    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(dist), str(src)], cwd=work)
    wheels = list(dist.glob("backprop_studio-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as z:
        names = z.namelist()
        entry_points = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    _check_contents(names)
    assert re.search(r"^backprop-studio\s*=\s*main:main$", entry_points, re.M), entry_points
    assert re.search(r"^License-Expression: MIT$", metadata, re.M), metadata[:400]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the licence text ships in the wheel"

    # A bare environment; this pip installs into it (--python), so the new one needs none.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = str(venv / "bin" / "python")
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", str(wheels[0])],
         cwd=work)
    purelib = json.loads(_run([py, "-c", "import json, sysconfig; print(json.dumps(sysconfig.get_paths()['purelib']))"]
                              ).stdout)
    deps = [p for p in site.getsitepackages() if os.path.isdir(p)]
    with open(os.path.join(purelib, "_test_environment_dependencies.pth"), "w") as f:
        f.write("\n".join(deps) + "\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    probe = json.loads(_run([py, "-c", PROBE], cwd=work, env=env).stdout)
    for mod, path in probe["files"].items():
        assert os.path.realpath(path).startswith(os.path.realpath(purelib) + os.sep), (mod, path)
    circuit = probe["circuit"]
    assert os.path.isfile(circuit) and os.path.realpath(circuit).startswith(os.path.realpath(purelib))
    shipped = sorted(n for n in names if n.startswith("backprop_studio_resources/examples/"))
    assert [os.path.basename(p) for p in probe["examples"]] == [os.path.basename(n) for n in shipped]
    assert len(probe["style_urls"]) >= 4 and all(os.path.isfile(u) for u in probe["style_urls"]), probe["style_urls"]
    assert probe["digits"] == [1797, 1, 8, 8]
    lessons = sorted(n for n in names if n.startswith("backprop_studio_resources/lessons/"))
    assert len(probe["lessons"]) == len(lessons) >= 5 and "gates" in probe["lessons"]

    exe = str(venv / "bin" / "backprop-studio")
    version = wheels[0].name.split("-")[1]
    assert _run([exe, "--version"], cwd=work, env=env).stdout.strip() == f"backprop-studio {version}"
    out = _run([exe, "run", circuit], cwd=work, env=env).stdout
    # f = 2(xy + max(z, w)) at x=3, y=-4, z=2, w=-1: f = -20, df/dx = -8 (CS231n's numbers).
    assert re.search(r"^f\s.*-20\.00", out, re.M), out
    assert re.search(r"^x\s.*3\.00.*-8\.00", out, re.M), out
