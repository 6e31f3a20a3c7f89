"""Resource bounds: the memory budget of a plan, string lengths in files, short quotes in errors.

Reported: a 5 KB valid conv graph (pad 64) drove `main.py run` to 10 GB; a 200 MB node name
took 7 GB in the GUI and was copied whole into the status bar, a dialog and stderr. Every
bad file through the command line ends with one line on stderr and exit 2.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import graphcore as gc
from graphcore import cli, cli_common, limits, tensorcheck
from backprop_studio_resources import example_path


@pytest.fixture(autouse=True)
def _default_budget(monkeypatch):
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    limits.set_memory_limit(None, children=False)
    yield
    limits.set_memory_limit(None, children=False)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def padded_convs(layers: int, pad: int = 64) -> gc.Graph:
    """The reported shape of file: 1x1 convs padded by 64, each one 128 pixels wider."""
    g = gc.Graph()
    prev = g.add("input", name="images", value=np.ones((1, 1, 1, 1)))
    for i in range(layers):
        prev = g.add("conv2d", name=f"c{i + 1}", inputs={"images": prev}, filters=1, size=1, pad=pad)
    g.add("sum", name="s", inputs={"x": prev})
    return g


# ---------------------------------------------------------------- quoting and sizes
def test_excerpt_quotes_at_most_about_80_characters():
    assert limits.excerpt("fc1") == "'fc1'"
    long = limits.excerpt("x" * 200_000_000 if False else "x" * 5000)
    assert len(long) <= 110 and long.startswith("'xxx") and "5,000 characters" in long
    assert len(limits.excerpt(list(range(10_000)))) <= 110


def test_clip_quotes_cuts_a_quote_made_by_someone_else():
    v = "y" * 500
    msg = f"choice must be one of a, b; got {v!r}"
    assert len(limits.clip_quotes(msg, v)) < 150 and "500 characters" in limits.clip_quotes(msg, v)


@pytest.mark.parametrize("text,nbytes", [("4G", 4 << 30), ("512M", 512 << 20), ("1.5g", 3 << 29),
                                         ("2000000", 2_000_000), ("1GB", 1 << 30), (" 2 GiB ", 2 << 30)])
def test_parse_size(text, nbytes):
    assert limits.parse_size(text) == nbytes


@pytest.mark.parametrize("text", ["", "G", "4X", "-1G", "1e9", "100K", "four"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="size such as 4G|at least 1M"):
        limits.parse_size(text)


@pytest.mark.parametrize("text", ["9" * 400, "99999999999999999999999999999T", "1025T"])
def test_a_size_over_1_pib_is_refused_as_too_large(text, capsys):
    """A 400-digit size was once refused as 'must be at least 1M' (it is inf), and 1e29 T accepted."""
    with pytest.raises(ValueError, match=r"^must be at most 1024T \(1 PiB\), got '"):
        limits.parse_size(text, minimum=1)
    assert limits.parse_size("1024T") == limits.MAX_SIZE
    with pytest.raises(SystemExit) as info:
        cli.main(["run", example_path("add_mul.json"), "--memory-limit", text])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: argument --memory-limit: must be at most 1024T (1 PiB)" in err, err


def test_fmt_bytes():
    assert [limits.fmt_bytes(n) for n in (512, 1536, 10.2e9)] == ["512 B", "1.5 KB", "9.5 GB"]


def test_budget_precedence(monkeypatch):
    assert limits.memory_limit() == limits.physical_memory() // 4
    monkeypatch.setenv(limits.MEMORY_ENV, "3G")
    assert limits.memory_limit() == 3 << 30
    limits.set_memory_limit(2 << 30)  # also what processes started later inherit
    assert limits.memory_limit() == 2 << 30 and os.environ[limits.MEMORY_ENV] == str(2 << 30)


def test_a_search_divides_the_budget_among_its_workers(monkeypatch):
    limits.set_memory_limit(8 << 30, children=False)
    with cli_common.shared_memory(4):
        assert limits.memory_limit() == 2 << 30 and os.environ[limits.MEMORY_ENV] == str(2 << 30)
    assert limits.memory_limit() == 8 << 30 and limits.MEMORY_ENV not in os.environ


# ---------------------------------------------------------------- the estimate
def test_the_estimate_is_close_to_what_a_pass_allocates():
    """Measured, not assumed: every buffer the plan's nodes hold after forward + backward."""
    g = gc.load(example_path("digits_cnn.json"))
    costs = tensorcheck.check_plan(g)
    ex = gc.Executor(g)
    ex.forward()
    ex.backward(g.find("loss"))
    held = {}
    for st in ex.plan():
        for a in list(st.ctx.bufs.values()) + [ex._values[st.nid]]:  # the buffers, not read-only views of them
            held[id(a)] = a.nbytes
    actual = sum(held.values())
    estimate = sum(c.nbytes for c in costs)
    assert 0.8 * actual <= estimate <= 2.0 * actual, (estimate, actual)
    conv = next(c for c in costs if c.op == "conv2d")
    n, ch, h, w = g.nodes[g.find("x")].tensors["value"].shape
    k = g.nodes[conv.node].params["size"]
    assert conv.parts["im2col columns and their gradient"] == 2 * ch * k * k * n * h * w * 8  # pad keeps 8x8


@pytest.mark.parametrize("op,then", [("mul", "sum"), ("div", "sum"), ("max", "sum"), ("add", "sum"),
                                     ("mul", "prelu"), ("mul", "mse"), ("mul", "elastic_net")])
def test_a_broadcast_s_copies_and_full_size_gradients_are_in_the_estimate(op, then):
    """(n, 1) op (1, n): each input's gradient is computed at (n, n) (but for add) before it is
    summed back, and max copies each input at (n, n); the estimate once counted only the output."""
    n = 200
    g = gc.Graph()
    a = g.add("input", name="a", value=np.linspace(1.0, 2.0, n).reshape(n, 1))
    b = g.add("input", name="b", value=np.linspace(1.0, 3.0, n).reshape(1, n))
    m = g.add(op, name="m", inputs={"a": a, "b": b})
    if then == "prelu":
        t = g.add("prelu", name="t", inputs={"x": m, "alpha": a})
    elif then == "mse":
        t = g.add("mse", name="t", inputs={"pred": m, "target": g.add("add", inputs={"a": a, "b": b})})
    elif then == "elastic_net":
        t = g.add("elastic_net", name="t", inputs={"x": m})
    else:
        t = g.add("sum", name="t", inputs={"x": m})
    costs = tensorcheck.check_plan(g)
    ex = gc.Executor(g)
    ex.forward()
    ex.backward(t)
    held = {}
    for st in ex.plan():
        for arr in list(st.ctx.bufs.values()) + [ex._values[st.nid]]:  # the buffers, not read-only views
            held[id(arr)] = arr.nbytes
    estimate = sum(c.nbytes for c in costs)
    assert estimate >= 0.95 * sum(held.values()), ({c.node: c.parts for c in costs}, sum(held.values()))
    mul = next(c for c in costs if c.node == m)
    wide = n * n * 8
    assert mul.parts.get("a broadcast to the output's shape") == (wide if op == "max" else None)  # max copies
    assert mul.parts.get("a's gradient at the output's shape") == (None if op == "add" else wide)


def test_a_plan_over_budget_is_refused_before_anything_is_allocated():
    g = padded_convs(24)  # about 3.6 GB
    limits.set_memory_limit(256 << 20, children=False)
    ex = gc.Executor(g)
    with pytest.raises(gc.GraphError) as info:
        ex.forward()
    p = info.value.problems[0]
    assert p.code == "memory" and p.node == g.find("c24")
    assert "3.6 GB" in p.message and "256 MB" in p.message
    assert "the largest node, conv2d 'c24' (input (1, 1, 2945, 2945) -> output (1, 1, 3073, 3073))" in p.message
    assert ex.values == {} and ex._plan == []


def test_float32_halves_the_estimate():
    g = padded_convs(3)
    f64 = sum(c.nbytes for c in tensorcheck.check_plan(g, np.float64))
    f32 = sum(c.nbytes for c in tensorcheck.check_plan(g, np.float32))
    assert f32 * 2 == f64


@pytest.fixture(scope="module")
def conv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("budget") / "padded.json"
    doc = json.loads(gc.dumps(padded_convs(4)))
    for n in doc["nodes"]:
        n.pop("ui", None)
    path.write_text(json.dumps(doc, separators=(",", ":")))
    assert path.stat().st_size < 5000
    return str(path)


@pytest.mark.parametrize("cmd", ["run", "check"])
def test_run_and_check_refuse_a_graph_over_the_memory_limit(conv_file, cmd, capsys):
    assert cli.main([cmd, conv_file, "--memory-limit", "1M"]) == 2
    line = one_line_error(capsys)
    assert f"{conv_file}: node 'c4': the graph needs about" in line and "over the budget of 1 MB" in line
    assert "(input (1, 1, 385, 385) -> output (1, 1, 513, 513))" in line
    assert cli.main([cmd, conv_file, "--memory-limit", "1G"]) == 0  # the same file within a larger budget
    capsys.readouterr()
    assert limits.memory_limit() == limits.default_budget()  # the flag lasts one command


def test_render_refuses_it_too(conv_file, tmp_path, capsys):
    import main as main_mod

    assert main_mod.main(["render", conv_file, "--out", str(tmp_path / "x.png"), "--memory-limit", "1M"]) == 2
    assert "over the budget of 1 MB" in one_line_error(capsys)
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("argv", [["train", "--epochs", "1"], ["sanity"], ["search", "--trials", "2", "--workers", "1"]],
                         ids=["train", "sanity", "search"])
def test_training_commands_refuse_before_training(argv, capsys):
    """Sized for the batches training feeds (1024 rows in eval), not the 32 rows the file holds."""
    path = example_path("digits_cnn.json")
    assert cli.main([argv[0], path, *argv[1:], "--memory-limit", "16M", "--quiet"] if argv[0] != "sanity"
                    else [argv[0], path, "--memory-limit", "16M"]) == 2
    line = one_line_error(capsys)
    assert "over the budget of 16 MB" in line and "input (1024, 1, 8, 8)" in line
    assert capsys.readouterr().out == ""


def test_a_search_checks_each_workers_share(capsys):
    path = example_path("digits_cnn.json")
    assert cli.main(["search", path, "--trials", "2", "--workers", "2", "--memory-limit", "100M", "--quiet"]) == 2
    assert "over the budget of 50 MB" in one_line_error(capsys)  # 63 MB fits 100 MB, not half of it


def test_a_bad_memory_limit_is_a_usage_error(conv_file, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", conv_file, "--memory-limit", "lots"])
    assert info.value.code == 2
    assert "argument --memory-limit: must be a size such as 4G" in one_line_error(capsys)


# ---------------------------------------------------------------- strings in files
def small_doc() -> dict:
    return json.loads(gc.dumps(gc.load(example_path("cs231n_circuit.json"))))


@pytest.mark.parametrize("where", ["name", "op", "id", "meta", "ui", "param", "key", "edge"])
def test_a_huge_string_in_a_file_is_refused_and_quoted_short(where, tmp_path, capsys):
    huge = "N" * 2_000_000
    doc = small_doc()
    node = doc["nodes"][0]
    if where in ("name", "op", "id"):
        node[where] = huge
    elif where == "meta":
        doc["meta"]["title"] = huge
    elif where == "ui":
        node["ui"]["note"] = huge
    elif where == "param":
        node = next(n for n in doc["nodes"] if n["op"] == "max")
        node["op"] = "reshape"
        node["params"] = {"shape": huge}
    elif where == "key":
        doc["meta"][huge] = 1
    else:
        doc["edges"][0]["dst_port"] = huge
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(gc.GraphFormatError) as info:
        gc.load(path)
    assert len(str(info.value)) < 300 + len(str(path)), str(info.value)[:400]
    assert "characters" in str(info.value)
    assert cli.main(["run", str(path)]) == 2
    assert len(one_line_error(capsys)) < 320 + len(str(path))


def test_names_up_to_the_limit_still_load():
    doc = small_doc()
    doc["nodes"][0]["name"] = "é" * limits.MAX_NAME
    doc["meta"]["notes"] = "n" * limits.MAX_TEXT
    g = gc.loads(json.dumps(doc))
    assert g.nodes[doc["nodes"][0]["id"]].name == "é" * limits.MAX_NAME


@pytest.mark.parametrize("mutate", [
    lambda d: d["nodes"][0].update(op="o" * 150),  # an unknown op of legal length: kept, reported by validate
    lambda d: d["edges"][0].update(src="s" * 150),
    lambda d: d.update(format="f" * 5000),
    lambda d: d["nodes"][1]["tensors"].update(q={"dtype": "d" * 5000, "shape": [], "data": [1]}),
], ids=["unknown op", "edge source", "format", "dtype"])
def test_every_error_quotes_at_most_about_80_characters(mutate, tmp_path, capsys):
    doc = small_doc()
    mutate(doc)
    path = tmp_path / "f.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["run", str(path)]) == 2
    line = one_line_error(capsys).replace(str(path), "")
    quoted = [q for q in line.split("'")[1::2]]
    assert max(len(q) for q in quoted) <= 80, line


def test_clip_quoted_is_the_last_guard_of_the_error_line():
    msg = "node " + repr("x" * 300) + ": unknown op " + repr("y" * 90) + "; the graph's node 'short'"
    out = cli_common.clip_quoted(msg)
    assert len(out) < 220 and "'short'" in out and "graph's" in out


# ---------------------------------------------------------------- the app
def test_the_app_sets_the_limit_and_shows_the_refusal(qtbot, conv_file, monkeypatch):
    import app
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    from app import settings

    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
    answer = {"text": "1M"}
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (answer["text"], True))
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    action = w.findChild(QAction, "actionMemoryLimit")
    action.trigger()
    assert limits.memory_limit() == 1 << 20 and settings.memory_limit() == 1 << 20
    assert os.environ[limits.MEMORY_ENV] == str(1 << 20)  # what the training process inherits
    answer["text"] = "lots"
    action.trigger()
    assert warned and "size such as 4G" in warned[0] and limits.memory_limit() == 1 << 20
    assert w.open_file(conv_file)
    w.findChild(QAction, "actionForward").trigger()
    qtbot.waitUntil(lambda: "over the budget" in w.statusBar().currentMessage(), timeout=5000)
    msg = w.statusBar().currentMessage()
    assert "the graph needs about" in msg and "(input (1, 1, 385, 385) -> output (1, 1, 513, 513))" in msg
    assert w.scene.selected_ids() == [w.document.graph.find("c4")]
    answer["text"] = ""  # back to the default
    action.trigger()
    assert settings.memory_limit() is None and limits.memory_limit() == limits.default_budget()
    assert limits.MEMORY_ENV not in os.environ


def test_the_app_refuses_a_huge_name_in_one_short_dialog(qtbot, tmp_path, monkeypatch):
    """Reported: a 200 MB name took 7 GB in the GUI and was copied into the status bar and a dialog."""
    import app
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a, **k: shown.append(a[2]))
    doc = small_doc()
    doc["nodes"][0]["name"] = "N" * 5_000_000
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(doc))
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    assert not w.open_file(str(path))
    assert len(shown) == 1 and len(shown[0]) < 400 + len(str(path)), shown[0][:500]
    assert "5,000,000 characters long; the limit is 200" in shown[0]
    assert len(w.statusBar().currentMessage()) < 400 + len(str(path))


def test_render_s_flag_wins_over_the_app_setting(conv_file, tmp_path, capsys):
    """render starts a QApplication, which applies the stored setting: not over an explicit flag."""
    import main as main_mod
    from app import settings

    settings.settings().setValue("memoryLimit", "64G")
    try:
        assert main_mod.main(["render", conv_file, "--out", str(tmp_path / "x.png"), "--memory-limit", "1M"]) == 2
        assert "over the budget of 1 MB" in one_line_error(capsys)
    finally:
        settings.settings().setValue("memoryLimit", "")


def test_a_file_with_more_nodes_than_the_editor_can_draw_is_refused():
    from graphcore import fileformat

    doc = small_doc()
    node = doc["nodes"][0]
    doc["nodes"] = [dict(node, id=f"m{i}") for i in range(fileformat.MAX_NODES + 1)]
    doc["edges"] = []
    with pytest.raises(gc.GraphFormatError, match=r"^nodes: 10,001 nodes; a graph may have at most 10,000$"):
        gc.loads(json.dumps(doc))
    doc["nodes"] = doc["nodes"][: fileformat.MAX_NODES]
    assert len(gc.loads(json.dumps(doc)).nodes) == fileformat.MAX_NODES


def _op_cases():
    from graphcore import registry

    rng = np.random.default_rng(0)
    for name, spec in sorted(registry.ops().items()):
        if not spec.source and spec.examples is not None:
            yield pytest.param(name, spec.examples(rng)[0], id=name)


@pytest.mark.parametrize("op,case", list(_op_cases()))
def test_every_op_s_estimate_matches_what_it_holds(op, case):
    """Registry-wide: a node's estimate against the buffers its context really keeps after a
    pass (views such as flatten's are counted as copies, so up to 3x over; never far under)."""
    from test_tensorcheck import layer_graph

    g, nid = layer_graph(op, case)
    cost = next(c for c in tensorcheck.check_plan(g) if c.node == nid)
    ex = gc.Executor(g, mode=case.get("mode", "train"))
    ex.forward()
    ex.backward()
    st = ex._index[nid]
    arrays = list(st.ctx.bufs.values()) + [ex._values[nid]]  # the buffers, not read-only views
    arrays += [v for v in st.ctx.saved.values() if isinstance(v, np.ndarray)]
    held = sum({id(a): a.nbytes for a in arrays}.values())
    assert 0.6 * held <= cost.nbytes <= 3.0 * held, (cost.parts, held)


def test_a_bad_memory_limit_in_the_environment_is_said_once_and_the_default_used(monkeypatch, capsys):
    monkeypatch.setattr(limits, "_warned_env", set())
    monkeypatch.setenv(limits.MEMORY_ENV, "garbage")
    assert limits.memory_limit() == limits.default_budget()
    assert limits.memory_limit() == limits.default_budget()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"warning: ${limits.MEMORY_ENV} ") and "'garbage'" in err
    assert cli.main(["run", example_path("add_mul.json")]) == 0
    assert capsys.readouterr().err == ""  # said once per process, not per command or plan
