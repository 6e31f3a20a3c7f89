"""File > Export of a graph whose forward pass gives NaN: an error box naming the node, never an
exception escaping the slot (NumericError is an ArithmeticError, not a ValueError)."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QMessageBox

import app


def test_exporting_a_graph_with_nan_shows_an_error_naming_the_node(qtbot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: shown.append((title, text)))
    w = app.create_main_window(offer_recovery=False)
    qtbot.addWidget(w)
    g = w.document.graph
    for nid in list(g.nodes):
        g.remove(nid)
    x = g.add("input", name="x", value=np.array([1.0, -1.0]))
    g.add("log", name="bad_log", inputs={"x": x})  # log(-1) is NaN
    for kind in ("numpy",):  # torch goes through the same except clause (and took 3.5 s more here)
        shown.clear()
        out = tmp_path / f"{kind}.py"
        assert w.export_code(kind, str(out)) is False
        assert len(shown) == 1 and shown[0][0] == "Cannot export" and "bad_log" in shown[0][1], shown
        assert not out.exists()
