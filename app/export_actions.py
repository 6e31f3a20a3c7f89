"""File > Export: the canvas as an image (FileActions.export_dialog) and the graph as ONNX, PyTorch
code or staged numpy code, through graphcore.export_cli.EXPORTERS (the command line's own table).

A mixin of MainWindow; the writing happens in graphcore, this only asks for a path and reports.
"""
from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog

from graphcore import GraphError
from graphcore.problems import NumericError

KINDS = {  # kind -> (menu text, dialog title, file filter, suffix)
    "onnx": ("&ONNX…", "Export ONNX model", "ONNX model (*.onnx)", ".onnx"),
    "torch": ("&PyTorch Code…", "Export PyTorch code", "Python file (*.py)", ".py"),
    "numpy": ("Staged &Numpy Code…", "Export staged numpy code", "Python file (*.py)", ".py"),
}
ACTION_NAMES = {"onnx": "actionExportOnnx", "torch": "actionExportTorch", "numpy": "actionExportNumpy"}
TIPS = {"onnx": "Write the graph as an ONNX model (opset 17) for onnxruntime or Netron",
        "torch": "Write a standalone PyTorch file (build_model(), optimizer, training loop) and its weights",
        "numpy": "Write the forward and backward pass as the CS231n notes' staged numpy code"}


class ExportActions:
    def _create_export_actions(self) -> None:
        for kind, (text, _, _, _) in KINDS.items():
            act = self._action(ACTION_NAMES[kind], text, lambda _=False, k=kind: self.export_code_dialog(k),
                               tip=TIPS[kind])
            setattr(self, ACTION_NAMES[kind], act)

    def _fill_export_menu(self, file_menu) -> None:
        menu = self.export_menu = file_menu.addMenu("&Export")
        menu.setObjectName("menuExport")
        self.actionExportImage.setText("&Image (PNG, SVG)…")
        menu.addAction(self.actionExportImage)
        menu.addSeparator()
        menu.addActions([getattr(self, ACTION_NAMES[k]) for k in ("onnx", "torch", "numpy")])

    def export_code_dialog(self, kind: str) -> None:
        _, title, filt, suffix = KINDS[kind]
        base = os.path.splitext(self.document.display_name)[0] or "graph"
        folder = os.path.dirname(self.document.path) if self.document.path else os.getcwd()
        name = base + ("_staged" if kind == "numpy" else "_torch" if kind == "torch" else "") + suffix
        path, _ = QFileDialog.getSaveFileName(self, title, os.path.join(folder, name), filt)
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += suffix
        self.export_code(kind, path)

    def export_code(self, kind: str, path: str) -> bool:
        """Write the current graph with the exporter for `kind`; report in the status bar or an error box."""
        from graphcore.export_cli import EXPORTERS

        exporter = EXPORTERS.get(kind)
        label = KINDS[kind][1].replace("Export ", "")
        if exporter is None:
            self.show_error("Cannot export", f"This build has no {label} exporter.",
                            f"graphcore.export_cli.EXPORTERS has no {kind!r} entry")
            return False
        try:
            written = exporter(self.document.graph, path)
        except ImportError as exc:  # an optional package (onnx) is not installed
            self.show_error("Cannot export", f"The {label} exporter needs a package that is not installed.",
                            str(exc))
            return False
        except (GraphError, NumericError, ValueError, OSError) as exc:  # NumericError: NaN in the pass
            self.show_error("Cannot export", f"Could not write {os.path.basename(path)}.", str(exc))
            return False
        names = ", ".join(os.path.basename(str(p)) for p in (written or [path]))
        self.show_status(f"Exported {names}")
        return True
