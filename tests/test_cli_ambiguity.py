"""Low-severity CLI and file refusals: an id that is another node's name, an empty graph, a key
that a JSON object repeats."""
import json

import numpy as np
import pytest

import graphcore as gc
from graphcore import cli, fileformat
from graphcore.tensorfile import GraphFormatError


def _save(tmp_path, doc, name="g.json"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def test_target_matching_an_id_and_another_nodes_name_is_refused(tmp_path, capsys):
    g = gc.Graph()
    i = g.add("input", name="i", value=np.array([1.0]))
    a = g.add("neg", name="x", inputs={"x": i})
    b = g.add("exp", name=a, inputs={"x": i})  # named after the id of the other
    path = tmp_path / "amb.json"
    fileformat.save(g, path)
    assert cli.main(["run", str(path), "--target", a]) != 0
    err = capsys.readouterr().err
    assert f"{a!r} is ambiguous" in err and f"id {b!r}" in err and err.count("\n") == 1
    assert cli.main(["run", str(path), "--target", "x"]) == 0  # a name that is no id still works


def test_empty_graph_says_so_without_mentioning_target(tmp_path, capsys):
    path = _save(tmp_path, {"format": "backprop-studio-graph", "format_version": 1, "nodes": [], "edges": []})
    for cmd in ("run", "check"):
        assert cli.main([cmd, path]) != 0
        err = capsys.readouterr().err
        assert "the graph is empty" in err and "--target" not in err


@pytest.mark.parametrize("text,path,key", [
    ('{"format": "backprop-studio-graph", "format_version": 1, "nodes": [], "nodes": [], "edges": []}', "", "nodes"),
    ('{"format": "backprop-studio-graph", "format_version": 1, "edges": [], '
     '"nodes": [{"id": "x", "op": "input", "name": "x", "params": {"value": 1, "value": 2}}]}',
     "nodes[0].params", "value"),
])
def test_a_repeated_json_key_is_refused_naming_it_and_its_path(text, path, key):
    with pytest.raises(GraphFormatError) as ei:
        fileformat.loads(text)
    assert ei.value.json_path == path and f"the key {key!r} appears more than once" in str(ei.value)


def test_files_without_repeats_still_load(tmp_path):
    g = gc.Graph()
    g.add("linear", name="h", inputs={"x": g.add("input", name="x", value=np.ones((2, 3)))}, units=2)
    back = fileformat.loads(fileformat.dumps(g))
    assert [n.name for n in back.nodes.values()] == ["x", "h"]
