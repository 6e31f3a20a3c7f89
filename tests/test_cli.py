"""`python main.py run|check FILE`: tables, exit codes, and one-line errors (exit 2, no traceback)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import graphcore as gc
import main as main_mod
from graphcore import cli, registry
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


# ---------------------------------------------------------------- the one command line (main.py)

def test_help_lists_every_subcommand_and_imports_no_qt():
    code = ("import sys, main\n"
            "try:\n    main.main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "assert main.main(['run', sys.argv[1], '--json']) == 0\n"
            "print('QT', any(m.startswith('PySide6') for m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code, CIRCUIT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for cmd in ("run", "check", "train", "sanity", "search", "render", "help", "version"):
        assert f"\n    {cmd} " in r.stdout, cmd
    assert r.stdout.rstrip().endswith("QT False")


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["version"]])
def test_version(args, capsys):
    from importlib.metadata import version

    try:
        code = main_mod.main(args)
    except SystemExit as exc:  # argparse's version action exits
        code = exc.code
    assert code == 0
    assert capsys.readouterr().out.strip() == f"backprop-studio {version('backprop-studio')}"


def test_help_command(capsys):
    assert main_mod.main(["help"]) == 0
    assert "sanity" in capsys.readouterr().out
    assert main_mod.main(["help", "train"]) == 0
    assert "--metrics" in capsys.readouterr().out
    assert main_mod.main(["help", "frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_unknown_command_is_usage_and_exit_2_never_the_editor(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "main.py", "frobnicate", CIRCUIT], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    usage, err = r.stderr.strip().split("\n")[0], r.stderr.strip().splitlines()[-1]
    assert usage.startswith("usage: main.py") and err.startswith("error: unknown command 'frobnicate'")
    assert "display" not in r.stderr


def test_a_file_or_nothing_opens_the_editor(monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(main_mod, "open_editor", lambda path: opened.append(path) or 0)
    plain = tmp_path / "graph"
    plain.write_text("{}")
    assert main_mod.main([]) == 0
    assert main_mod.main(["new.json"]) == 0  # need not exist yet
    assert main_mod.main([str(plain)]) == 0  # exists, any name
    assert opened == [None, "new.json", str(plain)]
    assert main_mod.main(["new.json", "extra"]) == 2 and len(opened) == 3


def test_every_option_has_help_and_shows_its_default():
    import argparse

    from graphcore.cli_common import HelpFormatter

    parser = main_mod.build_parser()
    subs = main_mod._subparsers(parser)
    assert set(subs) >= {"run", "check", "train", "sanity", "search", "render"}
    fmt = HelpFormatter("x")
    for name, sp in subs.items():
        for a in sp._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            assert a.help, (name, a.dest)
            if a.option_strings and a.default is not None and a.default is not False:
                assert "default" in fmt._get_help_string(a), (name, a.dest)


BAD_FLAGS = [
    (["search", "F", "--trials", "0"], "--trials"),
    (["search", "F", "--trials", "-2"], "--trials"),
    (["search", "F", "--lr-min", "0"], "--lr-min"),
    (["search", "F", "--lr-min", "1", "--lr-max", "0.001"], "--lr-min"),
    (["search", "F", "--reg-min", "1", "--reg-max", "0.5"], "--reg-min"),
    (["search", "F", "--workers", "0"], "--workers"),
    (["search", "F", "--epochs-per-trial", "0"], "--epochs-per-trial"),
    (["sanity", "F", "--n", "-5"], "--n"),
    (["sanity", "F", "--overfit-epochs", "zero"], "--overfit-epochs"),
    (["check", "F", "--tolerance", "-1"], "--tolerance"),
    (["check", "F", "--tolerance", "nan"], "--tolerance"),
    (["train", "F", "--epochs", "-1"], "--epochs"),
    (["train", "F", "--lr", "0"], "--lr"),
    (["train", "F", "--batch-size", "1.5"], "--batch-size"),
    (["train", "F", "--out", "/nonexistent/dir/x.json"], "--out"),
    (["train", "F", "--out", "DIR"], "--out"),
    (["train", "F", "--metrics", "/nonexistent/dir/m.csv"], "--metrics"),
    (["run", "F", "--mode", "sideways"], "--mode"),
    (["run", "F", "--target", "nosuch"], "--target"),
    (["render", "F", "--out", "/nonexistent/dir/g.png"], "--out"),
    (["render", "F", "--out", "DIR"], "--out"),
    (["render", "F", "--out", "g.bmp"], "--out"),
]


@pytest.mark.parametrize("argv, flag", BAD_FLAGS, ids=[" ".join(a[0:1] + a[2:]) for a, _ in BAD_FLAGS])
def test_bad_flag_values_are_one_line_naming_the_flag(argv, flag, capsys, tmp_path, monkeypatch):
    from graphcore.train.trainer import Trainer

    def no_work(*a, **k):
        raise AssertionError("work started before the flags were checked")

    monkeypatch.setattr(Trainer, "run", no_work)
    monkeypatch.setattr("graphcore.train.search.coarse_to_fine", no_work)
    monkeypatch.chdir(tmp_path)
    xor = example_path("xor_mlp.json")
    argv = [xor if a == "F" else str(tmp_path) if a == "DIR" else a for a in argv]
    try:
        code = main_mod.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert_one_line_error(code, err)
    assert f"argument {flag}" in err and "meta.training" not in err
    assert out == ""


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


# ---------------------------------------------------------------- a missing platform library
@pytest.fixture
def x11_session(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    for k in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(k, raising=False)

    def no_gui(path):
        raise AssertionError("the GUI must not start")

    monkeypatch.setattr("app.run_gui", no_gui)


def test_missing_xcb_cursor_is_one_line_naming_the_library_and_the_install_command(x11_session, monkeypatch,
                                                                                    capsys):
    tried = []
    monkeypatch.setattr(main_mod, "can_load", lambda so: tried.append(so) or so != "libxcb-cursor.so.0")
    assert main_mod.main([CIRCUIT]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "libxcb-cursor.so.0" in err and "sudo apt-get install libxcb-cursor0\n" in err
    assert err.startswith("error: ") and "libxcb-cursor.so.0" in tried


def test_no_platform_check_when_qt_will_not_use_xcb(monkeypatch):
    monkeypatch.setattr(main_mod, "can_load", lambda so: False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main_mod.missing_platform_libraries() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    assert main_mod.missing_platform_libraries() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert "sudo apt-get install libxcb-cursor0 " in main_mod.missing_platform_libraries()
    monkeypatch.setattr(main_mod, "can_load", lambda so: True)
    assert main_mod.missing_platform_libraries() is None


def test_can_load_asks_the_dynamic_loader():
    assert main_mod.can_load("libc.so.6") is True
    assert main_mod.can_load("libdefinitely-not-installed.so.0") is False


# ---------------------------------------------------------------- the README's reference is the parser's
def readme_reference() -> dict[str | None, set[str]]:
    """{command (None for the editor lines): flags} from the README's "Command line" code block."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    ref: dict[str | None, set[str]] = {}
    cmd = None
    for line in block.splitlines():
        code = line.split("#", 1)[0]
        if code.startswith("python main.py"):
            words = code.split()[2:]
            cmd = words[0] if words and words[0].isalpha() and words[0].islower() else None
            ref.setdefault(cmd, set())
        elif not code.strip():
            continue
        ref[cmd] |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", code))
    return ref


def test_readme_command_reference_matches_the_parser():
    parser = main_mod.build_parser()
    subs = main_mod._subparsers(parser)
    ref = readme_reference()
    assert set(ref) - {None} == set(subs), "README and --help list different commands"
    for cmd, flags in ref.items():
        known = {s for a in (subs[cmd] if cmd else parser)._actions for s in a.option_strings}
        assert flags <= known, (cmd, flags - known)
    for cmd in ("train", "search"):  # the main flags are documented, not just the command
        assert len(ref[cmd]) >= 6, ref[cmd]
    assert "--version" in ref[None]


# ---------------------------------------------------------------- names, targets, warnings (issue 8)
def _example(name="add_mul.json"):
    with open(example_path(name), encoding="utf-8") as f:
        return json.load(f)


def test_two_nodes_with_one_name_make_target_ambiguous_listing_the_ids(tmp_path, capsys):
    doc = _example()
    a, b = doc["nodes"][0], doc["nodes"][1]
    a["name"] = b["name"] = "x"
    p = tmp_path / "dup.json"
    p.write_text(json.dumps(doc))
    for cmd in ("run", "check"):
        assert cli.main([cmd, str(p), "--target", "x"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: argument --target: the name 'x' is ambiguous")
        assert f"{a['id']}, {b['id']}" in err
    assert cli.main(["run", str(p), "--target", a["id"]]) == 0  # an id picks one


def test_names_with_control_characters_are_refused_and_never_printed_raw(tmp_path, capsys):
    doc = _example()
    doc["nodes"][1]["name"] = "x\n\x1b[31mRED"
    p = tmp_path / "ctl.json"
    p.write_text(json.dumps(doc))
    assert cli.main(["run", str(p)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {p}: nodes[1].name: a node name may not hold control characters "
                   "(found \\n at character 2)\n")
    g = gc.load(example_path("add_mul.json"))
    with pytest.raises(gc.GraphError, match="control characters"):
        g.rename(list(g.nodes)[0], "a\x1b[2J")
    with pytest.raises(gc.GraphError, match="control characters"):
        g.add("input", name="b\rc")


def test_the_run_table_escapes_control_characters(capsys, monkeypatch):
    """A graph built in code that slipped one past the checks: the table and error lines escape it."""
    from graphcore import cli_common

    g = gc.load(example_path("add_mul.json"))
    nid = list(g.nodes)[1]
    g.nodes[nid].name = "y\x1b[31m\nZ"
    monkeypatch.setattr(cli, "load_valid_graph", lambda path, args=None: g)
    assert cli.main(["run", example_path("add_mul.json")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "y\\x1b[31m\\nZ" in out
    assert len(out.splitlines()) == 2 + len(g.nodes)
    assert "\x1b" not in cli_common.printable(f"error: node {g.nodes[nid].name!r}")


def test_an_integer_beyond_pythons_digit_limit_is_a_file_error(tmp_path, capsys):
    text = json.dumps(_example()).replace('"meta": {', '"meta": {"seed": ' + "9" * 5000 + ", ", 1)
    p = tmp_path / "big.json"
    p.write_text(text)
    assert cli.main(["run", str(p)]) == 2
    digits = sys.get_int_max_str_digits()
    assert capsys.readouterr().err == f"error: {p}: holds an integer with more than {digits:,} digits\n"


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_huge_regularisation_strength_leaks_no_numpy_warning(tmp_path, capsys):
    doc = _example("spiral_2layer.json")
    for n in doc["nodes"]:
        if "strength" in n.get("params", {}):
            n["params"]["strength"] = 1e308
    p = tmp_path / "reg.json"
    p.write_text(json.dumps(doc))
    assert cli.main(["run", str(p)]) == 0  # the sum of squares overflows in the finiteness test, handled
    assert capsys.readouterr().err == ""


def test_several_outputs_and_no_loss_need_a_target(tmp_path, capsys):
    """run and check never pick one of several outputs silently (the API refuses it too)."""
    g = gc.Graph()
    a = g.add("input", name="a", value=2.0)
    g.add("exp", name="e1", inputs={"x": a})
    g.add("neg", name="n1", inputs={"x": a})
    path = str(tmp_path / "two.json")
    gc.save(g, path)
    for cmd in ("run", "check"):
        assert cli.main([cmd, path]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "argument --target" in err and "'e1', 'n1'" in err
    assert cli.main(["run", path, "--target", "e1"]) == 0
    # 'n1' is the id of the input and the name of the neg node: refused, never a silent pick
    capsys.readouterr()
    assert cli.main(["run", path, "--target", "n1"]) == 2
    assert "'n1' is ambiguous" in capsys.readouterr().err


def test_render_out_where_no_file_can_be_created_is_refused_before_drawing(tmp_path, capsys, monkeypatch):
    """/proc/x.png was drawn, then failed to save: the folder is probed first (a file created and removed)."""
    import errno
    import tempfile

    import app.render
    from graphcore import cli_common

    monkeypatch.setattr(app.render, "render", lambda *a, **k: pytest.fail("drew before checking --out"))
    real = tempfile.NamedTemporaryFile

    def read_only(*a, dir=None, **k):
        if dir is not None and os.path.realpath(dir) == os.path.realpath(tmp_path):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(cli_common.tempfile, "NamedTemporaryFile", read_only)
    out = tmp_path / "x.png"
    assert main_mod.main(["render", example_path("xor_mlp.json"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: argument --out: {out}: cannot create a file in {tmp_path} "
                                       "(Read-only file system)\n")
    assert os.listdir(tmp_path) == []


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
