"""Op inputs that numpy would refuse or get wrong: a reshape past numpy's 64 dimensions, and
integer sums that would wrap around in int64."""
import json

import numpy as np
import pytest

import graphcore as gc
from graphcore import cli, fileformat
from graphcore.ops.layers import MAX_DIMS
from graphcore.problems import GraphError
from graphcore.tensorfile import GraphFormatError


def _reshape_doc(ndims):
    return {"format": "backprop-studio-graph", "format_version": 1, "meta": {"seed": 0},
            "nodes": [{"id": "x", "op": "input", "name": "x", "params": {},
                       "tensors": {"value": {"dtype": "float64", "shape": [1], "data": [1.0]}}},
                      {"id": "r", "op": "reshape", "name": "r", "params": {"shape": ", ".join(["1"] * ndims)},
                       "tensors": {}}],
            "edges": [{"src": "x", "src_port": "out", "dst": "r", "dst_port": "x"}]}


@pytest.mark.parametrize("ndims", [MAX_DIMS + 1, 65, 100])
def test_reshape_to_too_many_dims_is_refused_naming_the_json_path(ndims, tmp_path, capsys):
    path = tmp_path / "many.json"
    path.write_text(json.dumps(_reshape_doc(ndims)))
    with pytest.raises(GraphFormatError, match=rf"nodes\[1\]\.params\.shape: shape has {ndims} dimensions; at most 32"):
        fileformat.load(path)
    for cmd in ("run", "check"):
        assert cli.main([cmd, str(path)]) != 0
        err = capsys.readouterr().err
        assert "nodes[1].params.shape" in err and "Traceback" not in err


def test_reshape_at_the_bound_still_runs():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.ones((1,)))
    r = g.add("reshape", name="r", inputs={"x": x}, shape=", ".join(["1"] * MAX_DIMS))
    ex = gc.Executor(g)
    ex.forward()
    assert ex.value(r).ndim == MAX_DIMS
    with pytest.raises(GraphError, match="at most 32"):
        g.set_param(r, "shape", [1] * (MAX_DIMS + 1))


@pytest.mark.parametrize("op,axis", [("sum", None), ("sum", 0), ("mean", None), ("mean", 0)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_integer_reductions_do_not_wrap(op, axis, dtype):
    big = 1 << 62
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([big, big, big], dtype=np.int64))
    s = g.add(op, name="s", inputs={"x": x}, axis=axis)
    ex = gc.Executor(g, dtype=dtype)
    ex.forward()
    got = ex.value(s)
    want = 3.0 * big if op == "sum" else float(big)
    assert got.dtype == dtype and float(got) == pytest.approx(want, rel=1e-6)
    ex.backward(s)
