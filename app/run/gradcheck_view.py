"""The numerical gradient check on the canvas: graphcore.gradcheck, wires green or red, the worst listed.

graphcore checks the gradient of every source (input, const, param) and every trainable weight
against centred differences. A wire carries its gradient into every check whose source lies
upstream of it (or is its own source); a wire is painted with the SMALLEST error among those
checks: if any check through it agrees, the wire's gradient is not the one at fault (a wrong
gate makes every check through its input wires fail, and only those).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QDialog, QDialogButtonBox, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

import graphcore as gc
from graphcore import Edge, GraphError, NumericError

from . import decor, flow


def wire_errors(graph: gc.Graph, report: gc.GradReport, zero_grad: set[str] = frozenset()) -> dict[Edge, float]:
    """Relative error per wire: the smallest error among the checks whose source reaches the wire.

    `zero_grad` holds check keys whose analytic gradient is exactly zero (a max gate's loser):
    such a check says nothing about the wires beyond its own, so it is not carried further."""
    own: dict[str, list[float]] = {}
    informative: dict[str, list[float]] = {}
    for key, err in report.errors.items():
        nid = key.split("/")[0]
        own.setdefault(nid, []).append(err)
        if key not in zero_grad:
            informative.setdefault(nid, []).append(err)
    # up[n]: informative checks of every node upstream of n, n included
    up: dict[str, list[float]] = {}
    for nid in graph.topo_order():
        acc = list(informative.get(nid, []))
        for src in graph.inputs_of(nid).values():
            acc.extend(up.get(src, []))
        up[nid] = acc
    out: dict[Edge, float] = {}
    for e in graph.edges:
        errs = list(own.get(e.src, []))
        for src in graph.inputs_of(e.src).values():
            errs.extend(up.get(src, []))
        if errs:
            out[e] = min(errs)
    return out


KINK_OPS = ("relu", "leaky_relu", "prelu", "max", "min", "abs", "step", "maxout", "max_pool", "svm_loss", "l1",
            "elastic_net", "elu")


def kink_ops(graph: gc.Graph) -> list[str]:
    """Ops in the graph whose derivative jumps somewhere (CS231n: kinks upset numerical gradients)."""
    return sorted({n.op for n in graph.nodes.values() if n.op in KINK_OPS})


def zero_gradient_keys(graph: gc.Graph, report: gc.GradReport) -> set[str]:
    """Check keys whose analytic gradient (graphcore's backward pass) is exactly zero everywhere. In train
    mode, as gc.gradcheck checks, on a copy: a train-mode pass writes batchnorm's running statistics."""
    ex = gc.Executor(graph.copy(), check="none")
    ex.backward()
    zero = set()
    for key in report.errors:
        nid, _, weight = key.partition("/")
        g = ex.weight_grad(nid, weight) if weight else ex.grad(nid)
        if not g.any():
            zero.add(key)
    return zero


class GradCheckDialog(QDialog):
    """The worst relative errors, one row per checked array, worst first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gradCheckDialog")
        self.setWindowTitle("Gradient check")
        self.summary = QLabel(self)
        self.summary.setObjectName("gradCheckSummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("gradCheckTable")
        self.table.setHorizontalHeaderLabels(["Checked", "Relative error", ""])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(420, 320)

    def show_report(self, report: gc.GradReport, limit: int = 20, kinks: list[str] | None = None) -> None:
        worst = report.worst(limit)
        n_bad = sum(1 for e in report.errors.values() if e >= report.tolerance)
        if report.ok:
            verdict = f"all {len(report.errors)} gradients agree with centred differences"
        else:
            verdict = f"{n_bad} of {len(report.errors)} gradients disagree with centred differences"
        text = f"Max relative error {report.max_error:.2e} (tolerance {report.tolerance:.0e}): {verdict}."
        if not report.ok and kinks:
            text += (f" The graph has kinks ({', '.join(kinks)}): where an input sits exactly on one (a ReLU "
                     "input of 0, a max tie) the centred difference straddles it and disagrees with a correct "
                     "rule. Errors above 1e-2 elsewhere mean a wrong gradient.")
        self.summary.setText(text)
        self.table.setRowCount(len(worst))
        for row, (key, err) in enumerate(worst):
            ok = err < report.tolerance
            cells = [report.names.get(key, key), f"{err:.2e}", "ok" if ok else "WRONG"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setForeground(QColor(flow.CHECK_OK if ok else flow.CHECK_BAD))
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()


class GradCheckView(QObject):
    """Runs the check for the current graph and paints the result on the scene's wires."""

    status_message = Signal(str)
    select_node = Signal(str)

    def __init__(self, graph: gc.Graph, scene=None, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self.graph = graph
        self.scene = scene
        self.parent_widget = parent_widget
        self.report: gc.GradReport | None = None
        self.errors: dict[Edge, float] = {}
        self.dialog: GradCheckDialog | None = None

    def set_scene(self, scene) -> None:
        self.scene = scene

    def set_document(self, graph: gc.Graph, scene) -> None:
        self.graph = graph
        self.scene = scene
        self.report = None
        self.errors = {}

    def run(self, show_dialog: bool = True) -> gc.GradReport | None:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            report = gc.gradcheck(self.graph)
        except NumericError as exc:
            self.select_node.emit(exc.node)
            self.status_message.emit(f"Gradient check stopped: {exc}")
            return None
        except GraphError as exc:
            nodes = [p.node for p in exc.problems if p.node is not None]
            if nodes:
                self.select_node.emit(nodes[0])
            self.status_message.emit(f"Gradient check: cannot run the graph: {exc}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        self.report = report
        try:
            zero = zero_gradient_keys(self.graph, report)
        except (GraphError, NumericError):
            zero = set()
        self.errors = wire_errors(self.graph, report, zero)
        self.paint()
        worst = report.worst(1)
        if report.ok:
            self.status_message.emit(f"Gradient check passed: max relative error {report.max_error:.1e}")
        else:
            key, err = worst[0]
            self.status_message.emit(f"Gradient check FAILED: worst {report.names.get(key, key)} "
                                     f"relative error {err:.1e}")
        if show_dialog:
            if self.dialog is None:
                self.dialog = GradCheckDialog(self.parent_widget)
            self.dialog.show_report(report, kinks=kink_ops(self.graph))
            self.dialog.show()
            self.dialog.raise_()
        return report

    def color_of(self, edge: Edge) -> str | None:
        if self.report is None:
            return None
        return flow.check_color(self.errors.get(edge), self.report.tolerance)

    def paint(self) -> None:
        if self.scene is None:
            return
        for e in self.graph.edges:
            item = self.scene.edge_item(e)
            if item is not None:
                decor.set_check_color(item, self.color_of(e))

    def clear(self) -> None:
        self.report = None
        self.errors = {}
        if self.scene is None:
            return
        for e in self.graph.edges:
            item = self.scene.edge_item(e)
            if item is not None:
                decor.set_check_color(item, None)
