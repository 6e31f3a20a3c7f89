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
    # the labels themselves are checked in tests/test_run_window.py (render --pass backward)
    out = tmp_path / "g.png"
    assert render.main([CIRCUIT, "--out", str(out), "--pass", "backward"]) == 0
    assert out.stat().st_size > 5000


@pytest.fixture
def passes(monkeypatch):
    """Record which pass render overlays (the labels themselves are tested in test_run_window.py)."""
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


def _moved(tmp_path, x, y=0.0):
    import json

    with open(CIRCUIT) as f:
        doc = json.load(f)
    doc["nodes"][1]["ui"] = {"x": x, "y": y}
    p = tmp_path / "moved.json"
    p.write_text(json.dumps(doc))
    return str(p)


@pytest.mark.parametrize("x,y,where", [(1e15, 0.0, "nodes[1].ui.x"), (0.0, -2e6, "nodes[1].ui.y"),
                                       (15000.0, 1e6 + 1, "nodes[1].ui.y")])
def test_a_position_far_off_the_canvas_is_refused_before_drawing(tmp_path, capsys, x, y, where):
    out = tmp_path / "far.png"
    assert render.main([_moved(tmp_path, x, y), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and where in err[0] and "canvas position" in err[0], err
    assert not out.exists()


def test_the_image_must_fit_the_memory_budget(tmp_path, capsys):
    out = tmp_path / "g.png"
    assert render.main([CIRCUIT, "--out", str(out), "--memory-limit", "1M"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "the image would be" in err[0] and "--memory-limit" in err[0], err
    assert not out.exists()
    assert render.main([CIRCUIT, "--out", str(out), "--memory-limit", "64M"]) == 0  # the same graph fits this


def test_raster_size_scales_a_large_drawing_down_to_the_side_cap():
    from graphcore.uilimits import raster_size

    assert raster_size(300, 200, 2.0, budget=1 << 30) == (600, 400, 2.0)
    w, h, s = raster_size(30000, 15000, 2.0, budget=1 << 30, max_side=1000)  # sized, never allocated
    assert (w, h) == (1000, 500) and s == pytest.approx(1000 / 30000)
    with pytest.raises(ValueError, match=r"1000 x 500 pixels .* memory budget of 1 MB"):
        raster_size(30000, 15000, 2.0, budget=1 << 20, max_side=1000)
    with pytest.raises(ValueError):
        raster_size(float("inf"), 10, 2.0, budget=1 << 30)


def test_a_large_layout_is_drawn_smaller_not_refused(tmp_path, monkeypatch):
    import graphcore.uilimits as ul
    from PySide6.QtGui import QImage

    monkeypatch.setattr(ul, "MAX_SIDE", 64)  # the cap, small so the test allocates little
    monkeypatch.setattr(ul.raster_size, "__defaults__", (None, 64))
    out = tmp_path / "far.png"
    render.render(_moved(tmp_path, 15000.0, 15000.0), str(out), pass_="none")
    img = QImage(str(out))
    assert max(img.width(), img.height()) == 64 and min(img.width(), img.height()) > 40
