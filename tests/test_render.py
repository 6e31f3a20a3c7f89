"""`python main.py render FILE --out X`: PNG and SVG offscreen, exit 2 with one line on bad input."""
import os
import subprocess
import sys

import pytest

from app import render
from backprop_studio_resources import example_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CIRCUIT = example_path("cs231n_circuit.json")


def test_cli_writes_a_png(tmp_path):
    out = tmp_path / "graph.png"
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # render must go offscreen by itself
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    r = subprocess.run([sys.executable, "main.py", "render", CIRCUIT, "--out", str(out)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert img.width() > 400 and img.height() > 200


def test_cli_bad_file_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "backprop-studio-graph", "format_version": 1, "nodes": [{"id": "a"}]}')
    out = tmp_path / "x.png"
    r = subprocess.run([sys.executable, "main.py", "render", str(bad), "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "nodes[0]: missing key 'op'" in lines[0] and "bad.json" in lines[0]
    assert not out.exists()


def test_svg_in_process(tmp_path, capsys):
    out = tmp_path / "g.svg"
    assert render.main([CIRCUIT, "--out", str(out), "--theme", "dark"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<?xml") and "<svg" in text and "Backprop Studio graph" in text


@pytest.mark.parametrize("args,needle", [
    (["missing.json", "--out", "x.png"], "cannot read the file"),
    ([CIRCUIT, "--out", "x.bmp"], "must end in .png or .svg"),
    ([CIRCUIT], "the following arguments are required: --out"),
    ([CIRCUIT, "--out", "x.png", "--pass", "sideways"], "invalid choice"),
    ([CIRCUIT, "--out", "/no/such/dir/x.png"], "does not exist"),
])
def test_bad_arguments_exit_2(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        code = render.main(args)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_backward_pass_renders_the_labels(tmp_path):
    # the labels themselves are checked in tests/test_run_step.py (render --pass backward)
    out = tmp_path / "g.png"
    assert render.main([CIRCUIT, "--out", str(out), "--pass", "backward"]) == 0
    assert out.stat().st_size > 5000
