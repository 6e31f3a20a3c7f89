"""`python main.py run|check FILE`: tables, exit codes, and one-line errors (exit 2, no traceback)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import graphcore as gc
import main as main_mod
from graphcore import cli, registry
from backprop_studio_resources import example_path
from cli_helpers import CIRCUIT, assert_one_line_error, main_py


def test_run_prints_a_table():
    r = main_py("run", CIRCUIT)
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["node", "op", "value", "gradient"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 2 + 9


def test_check_passes_on_a_good_graph():
    r = main_py("check", CIRCUIT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 arrays checked, 0 failed" in r.stdout  # x, y, z, w and the const


def test_check_exits_1_when_a_backward_rule_is_wrong(monkeypatch, capsys):
    spec = registry.get("max")
    good = spec.backward

    def wrong(ctx, g, ins, out, params, tensors):  # routes the gradient to the smaller input
        da, db = good(ctx, g, ins, out, params, tensors)
        return [db, da]

    monkeypatch.setattr(spec, "backward", wrong)
    assert cli.main(["check", CIRCUIT]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "2 failed" in out  # z and w
    monkeypatch.setattr(spec, "backward", good)
    assert cli.main(["check", CIRCUIT]) == 0


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8") if isinstance(text, str) else p.write_bytes(text)
    return str(p)


def _doc():
    return json.loads(open(CIRCUIT, encoding="utf-8").read())


def bad_files(tmp_path):
    doc = _doc()
    newer = dict(doc, format_version=gc.FORMAT_VERSION + 1)
    missing = _doc()
    missing["edges"] = [e for e in missing["edges"] if e["dst_port"] != "b"]
    unknown = _doc()
    unknown["nodes"][4]["op"] = "frobnicate"
    cyc = _doc()
    cyc["edges"].append({"src": "n9", "src_port": "out", "dst": "n1", "dst_port": "x"})
    cyc["nodes"][0]["op"] = "neg"
    cyc["nodes"][0]["tensors"] = {}
    g = gc.Graph()
    g.add("log", name="f", inputs={"x": g.add("input", name="x", value=-1.0)})  # log(-1) = NaN
    nan = gc.fileformat.to_dict(g)
    shapes = _doc()
    shapes["nodes"][0]["tensors"]["value"] = {"dtype": "float64", "shape": [3], "data": [1.0, 2.0, 3.0]}
    shapes["nodes"][1]["tensors"]["value"] = {"dtype": "float64", "shape": [2], "data": [1.0, 2.0]}
    return {
        "missing file": str(tmp_path / "nope.json"),
        "a folder": str(tmp_path),
        "not json": _write(tmp_path, "a.json", "{not json"),
        "binary garbage": _write(tmp_path, "b.json", bytes(range(256))),
        "empty": _write(tmp_path, "c.json", ""),
        "newer version": _write(tmp_path, "d.json", json.dumps(newer)),
        "missing input": _write(tmp_path, "e.json", json.dumps(missing)),
        "unknown op": _write(tmp_path, "f.json", json.dumps(unknown)),
        "cycle": _write(tmp_path, "g.json", json.dumps(cyc)),
        "nan": _write(tmp_path, "h.json", json.dumps(nan)),
        "shapes": _write(tmp_path, "i.json", json.dumps(shapes)),
    }


@pytest.mark.parametrize("cmd", ["run", "check"])
def test_bad_files_and_graphs_exit_2_in_process(tmp_path, capsys, cmd):
    expect = {"missing file": "nope.json", "newer version": "version", "missing input": "missing required input",
              "unknown op": "frobnicate", "cycle": "cycle", "nan": "NaN", "shapes": "broadcast",
              "not json": "not valid JSON", "binary garbage": "UTF-8", "empty": "not valid JSON"}
    for what, path in bad_files(tmp_path).items():
        code = cli.main([cmd, path])
        out, err = capsys.readouterr()
        assert_one_line_error(code, err)
        assert expect.get(what, "") in err, (what, err)


def test_bad_file_exits_2_without_traceback_in_a_real_process(tmp_path):
    files = bad_files(tmp_path)
    for what in ("not json", "missing input", "newer version"):
        r = main_py("check", files[what])
        assert_one_line_error(r.returncode, r.stderr)
    r = main_py("run")
    assert_one_line_error(r.returncode, r.stderr)
    r = main_py("run", files["cycle"])
    assert_one_line_error(r.returncode, r.stderr)


def test_run_with_array_values_and_a_target(tmp_path, capsys):
    g = gc.Graph()
    a = g.add("input", name="a", value=np.arange(6.0).reshape(2, 3))
    s = g.add("sum", name="total", inputs={"x": g.add("exp", name="e", inputs={"x": a})})
    g.add("neg", name="other", inputs={"x": s})
    g.add("input", name="loose", value=1.0)
    path = str(tmp_path / "arr.json")
    gc.save(g, path)
    assert cli.main(["run", path, "--target", "total"]) == 0
    out = capsys.readouterr().out
    row = [line for line in out.splitlines() if line.startswith("a ")][0]
    assert "[2, 3]" in row
    assert cli.main(["run", path, "--target", "nosuch"]) == 2
    assert "no node named 'nosuch'" in capsys.readouterr().err


def test_graph_errors_name_the_file_and_the_node_by_name(tmp_path, capsys):
    path = bad_files(tmp_path)["missing input"]
    assert main_mod.main(["run", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: node 'xy' port 'b'") and "'n5'" not in err
    g = gc.Graph()
    a = g.add("input", name="a", value=-1.0)
    g.add("log", name="lg", inputs={"x": a})
    gc.save(g, str(tmp_path / "nan.json"))
    assert main_mod.main(["check", str(tmp_path / "nan.json")]) == 2
    err = capsys.readouterr().err
    assert "nan.json: " in err and "node 'lg'" in err and "(id" not in err


def test_run_prints_small_numbers_in_scientific_form(tmp_path, capsys):
    g = gc.Graph()
    x = g.add("input", name="x", value=2.5e-05)
    g.add("mul", name="f", inputs={"a": x, "b": g.add("const", name="k", value=3000.0)})
    gc.save(g, str(tmp_path / "s.json"))
    assert cli.main(["run", str(tmp_path / "s.json")]) == 0
    rows = {line.split()[0]: line.split()[2:] for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["x"] == ["2.50e-05", "3.00e+03"] and rows["k"] == ["3.00e+03", "2.50e-05"]
    assert rows["f"] == ["0.07", "1.00"]


def test_run_and_check_json(capsys):
    assert main_mod.main(["run", CIRCUIT, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "run" and doc["target"] == "f" and doc["mode"] == "eval"
    nodes = {n["name"]: n for n in doc["nodes"]}
    assert (nodes["x"]["value"], nodes["x"]["gradient"], nodes["x"]["op"], nodes["x"]["id"]) == (3.0, -8.0, "input", "n1")
    assert main_mod.main(["check", CIRCUIT, "--json", "--tolerance", "1e-5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["checked"] == 5 and doc["failed"] == 0 and doc["tolerance"] == 1e-5
    assert {a["name"] for a in doc["arrays"]} == {"x", "y", "z", "w", "two"}
    assert all(0 <= a["rel_error"] < 1e-5 and a["ok"] for a in doc["arrays"])


def test_run_json_summarises_tensors(tmp_path, capsys):
    g = gc.Graph()
    a = g.add("input", name="a", value=np.arange(6.0).reshape(2, 3))
    g.add("sum", name="total", inputs={"x": a})
    gc.save(g, str(tmp_path / "t.json"))
    assert cli.main(["run", str(tmp_path / "t.json"), "--json"]) == 0
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)["nodes"]}
    assert nodes["a"]["value"] == {"shape": [2, 3], "dtype": "float64", "mean": 2.5,
                                   "norm": pytest.approx(float(np.linalg.norm(np.arange(6.0))))}
    assert nodes["a"]["gradient"]["mean"] == 1.0 and nodes["total"]["value"] == 15.0


def test_run_shows_no_gradient_for_integer_labels(capsys):
    """Class labels are not differentiable: the table shows '-', the JSON null (a zero 'gradient' read
    as a real one)."""
    path = example_path("spiral_2layer.json")
    assert cli.main(["run", path]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("y "))
    assert row.split()[-1] == "-" and "int64[300]" in row
    assert cli.main(["run", path, "--json"]) == 0
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)["nodes"]}
    assert nodes["y"]["gradient"] is None and nodes["x"]["gradient"]["shape"] == [300, 2]
