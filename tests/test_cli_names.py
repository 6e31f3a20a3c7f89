"""`run` and `check` on node names (issue 8): ambiguous targets list the ids, control characters are
refused or escaped, and huge numbers in a file are a file error or no warning at all."""
from __future__ import annotations

import json
import sys

import pytest

import graphcore as gc
from graphcore import cli
from backprop_studio_resources import example_path


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
