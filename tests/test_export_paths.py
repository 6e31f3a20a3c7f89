"""Where code exports write: the .npz beside the code file is never asked for, so it may only
replace an .npz an export wrote; the files are written through temp files of their own, so a link
or a pipe waiting at a predictable temp name is never written through or blocked on."""
from __future__ import annotations

import os

import numpy as np
import pytest

import graphcore as gc
from graphcore import cli
from graphcore.export.numpy_code import export_numpy
from graphcore.export.plan import ExportError
from graphcore.export.torch_code import export_torch

EXPORTERS = {"numpy": export_numpy, "torch": export_torch}


def _graph():
    g = gc.Graph()
    x = g.add("input", name="x", value=np.linspace(-1, 1, 200).reshape(20, 10))  # large: goes to the .npz
    g.add("sum", name="s", inputs={"x": g.add("tanh", name="t", inputs={"x": x})})
    return g


@pytest.mark.parametrize("kind", sorted(EXPORTERS))
def test_a_data_set_named_like_the_export_is_not_replaced(kind, tmp_path):
    data = tmp_path / "spiral.npz"
    np.savez(data, X=np.arange(6.0))
    before = data.read_bytes()
    with pytest.raises(ExportError, match="spiral.npz exists and was not written by an export"):
        EXPORTERS[kind](_graph(), tmp_path / "spiral.py")
    assert data.read_bytes() == before
    assert not (tmp_path / "spiral.py").exists()


@pytest.mark.parametrize("kind", sorted(EXPORTERS))
def test_an_export_replaces_its_own_npz(kind, tmp_path):
    first = EXPORTERS[kind](_graph(), tmp_path / "m.py")
    g = _graph()
    g.set_value(g.find("x"), np.full((20, 10), 0.5))
    again = EXPORTERS[kind](g, tmp_path / "m.py")
    assert [os.fspath(p) for p in again] == [os.fspath(p) for p in first]
    with np.load(tmp_path / "m.npz") as z:
        assert any(np.array_equal(z[k], np.full((20, 10), 0.5)) for k in z.files)


@pytest.mark.parametrize("kind", sorted(EXPORTERS))
def test_a_link_at_the_old_fixed_temp_name_is_not_written_through(kind, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for name in ("m.py.part", "m.npz.part"):
        os.symlink(victim, tmp_path / name)
    EXPORTERS[kind](_graph(), tmp_path / "m.py")
    assert victim.read_text() == "keep me"
    assert (tmp_path / "m.py").read_text().startswith('"""')


def test_a_folder_where_the_npz_goes_is_refused(tmp_path):
    (tmp_path / "m.npz").mkdir()
    with pytest.raises(ExportError, match="m.npz is not a regular file"):
        export_torch(_graph(), tmp_path / "m.py")


def test_cli_refuses_to_replace_a_foreign_npz_in_one_line(tmp_path, capsys):
    gc.save(_graph(), tmp_path / "g.json")
    (tmp_path / "out.npz").write_bytes(b"not an export")
    rc = cli.main(["export", str(tmp_path / "g.json"), "--to", "torch", "--out", str(tmp_path / "out.py")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "out.npz exists and was not written by an export" in err
    assert (tmp_path / "out.npz").read_bytes() == b"not an export"


def test_infinite_constants_are_written_as_source_that_runs(tmp_path, capsys):
    """repr(inf) is 'inf', a name the generated file does not define: it raised NameError."""
    import runpy

    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([1.0, -2.0]))
    lo = g.add("const", name="lo", value=np.array(-np.inf))
    hi = g.add("const", name="hi", value=np.array([np.inf, 0.5]))
    g.add("min", name="m", inputs={"a": g.add("max", name="x_lo", inputs={"a": x, "b": lo}), "b": hi})
    (py,) = export_numpy(g, tmp_path / "inf.py")
    ns = runpy.run_path(str(py), run_name="not_main")
    np.testing.assert_array_equal(ns["hi"], [np.inf, 0.5])
    assert ns["lo"] == -np.inf
    np.testing.assert_array_equal(ns["m"], np.minimum(np.maximum([1.0, -2.0], -np.inf), [np.inf, 0.5]))
