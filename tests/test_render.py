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
    (["missing.json", "--out", "x.png"], "error: missing.json: cannot read the file"),
    ([CIRCUIT, "--out", "x.bmp"], "error: argument --out: x.bmp must end in .png or .svg"),
    ([CIRCUIT], "error: the following arguments are required: --out"),
    ([CIRCUIT, "--out", "x.png", "--pass", "sideways"], "error: argument --pass: invalid choice"),
    ([CIRCUIT, "--out", "/no/such/dir/x.png"], "error: argument --out: /no/such/dir/x.png: the folder"),
    ([CIRCUIT, "--out", "."], "error: argument --out: . must end in .png or .svg"),
    ([CIRCUIT, "--out", "folder.png"], "error: argument --out: folder.png is a folder"),
])
def test_bad_arguments_exit_2(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(SystemExit) as exc:
        code = render.main(args)
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(needle)


def test_backward_pass_renders_the_labels(tmp_path):
    # the labels themselves are checked in tests/test_run_step.py (render --pass backward)
    out = tmp_path / "g.png"
    assert render.main([CIRCUIT, "--out", str(out), "--pass", "backward"]) == 0
    assert out.stat().st_size > 5000


@pytest.fixture
def passes(monkeypatch):
    """Record which pass render overlays (the labels themselves are tested in test_run_step.py)."""
    seen = []
    real = render.apply_pass
    monkeypatch.setattr(render, "apply_pass", lambda g, scene, which: seen.append(which) or real(g, scene, which))
    return seen


def test_default_draws_values_and_gradients(tmp_path, capsys, passes):
    assert render.main([CIRCUIT, "--out", str(tmp_path / "a.png")]) == 0
    assert passes == ["backward"] and capsys.readouterr().err == ""
    assert render.main([CIRCUIT, "--out", str(tmp_path / "b.png"), "--pass", "none"]) == 0
    assert passes == ["backward"]
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()


def test_default_with_several_outputs_draws_values_and_says_why(tmp_path, capsys, passes):
    import graphcore as gc

    g = gc.Graph()
    a = g.add("input", name="a", value=1.0)
    g.add("neg", name="p", inputs={"x": a})
    g.add("exp", name="q", inputs={"x": a})
    gc.save(g, str(tmp_path / "two.json"))
    assert render.main([str(tmp_path / "two.json"), "--out", str(tmp_path / "t.png")]) == 0
    out, err = capsys.readouterr()
    assert passes == ["forward"] and out.strip() == str(tmp_path / "t.png")
    assert err.startswith("note: drew values only: no single output to differentiate (p, q)")


def test_main_py_render_is_the_same_command(tmp_path, capsys, passes):
    import main

    assert main.main(["render", CIRCUIT, "--out", str(tmp_path / "m.svg"), "--pass", "forward"]) == 0
    assert passes == ["forward"] and (tmp_path / "m.svg").read_text(encoding="utf-8").startswith("<?xml")
