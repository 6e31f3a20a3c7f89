"""The file life cycle of the main window: the unsaved-changes prompt, New, Open, Save,
Save As, image export, and the Recent and Examples menus.

A mixin of MainWindow, kept apart from the window's layout, menus and editing so each reads on
its own; it uses the window's document, scene, view, menus and status bar.
"""
from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog, QMessageBox

import graphcore as gc
from backprop_studio_resources import example_files as shipped_examples

from . import settings as app_settings
from .document import Document

APP_NAME = "Backprop Studio"
FILE_FILTER = "Backprop Studio graphs (*.json);;ONNX models (*.onnx);;All files (*)"


def example_files() -> list[str]:
    try:
        return shipped_examples()
    except OSError:
        return []


class FileActions:
    """New, Open, Save, export, recent files and examples, for MainWindow."""

    # ---------------------------------------------------------------- unsaved changes
    def ask_unsaved_changes(self) -> QMessageBox.StandardButton:
        """Save / Discard / Cancel for the current document (tests monkeypatch QMessageBox.question)."""
        B = QMessageBox.StandardButton
        return QMessageBox.question(
            self, APP_NAME, f"Save the changes to {self.document.display_name} before closing it?",
            B.Save | B.Discard | B.Cancel, B.Save)

    def maybe_save(self, answer: QMessageBox.StandardButton | None = None) -> bool:
        """True if it is fine to discard the current document (saved, discarded, or unmodified).
        `answer` (Save, Discard or Cancel) is given instead of asking: scripts and tests."""
        if self.document is None or not self.document.modified:
            return True
        B = QMessageBox.StandardButton
        if answer is None:
            answer = self.ask_unsaved_changes()
        if answer == B.Save:
            return self.save()
        return answer == B.Discard

    # ---------------------------------------------------------------- file actions
    def new_file(self) -> bool:
        if not self.maybe_save():
            return False
        self.set_document(Document(parent=self))
        self.show_status("New graph")
        return True

    def _start_dir(self) -> str:
        if self.document.path:
            return os.path.dirname(self.document.path)
        last = app_settings.settings().value("lastDir", "")
        return last if isinstance(last, str) and os.path.isdir(last) else os.getcwd()

    def _remember_dir(self, path: str) -> None:
        s = app_settings.settings()
        s.setValue("lastDir", os.path.dirname(os.path.abspath(path)))

    def open_dialog(self) -> None:
        start = self._start_dir()
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", start, FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str, example: bool = False) -> bool:
        """Load `path`; on a bad file show the loader's message and keep the current graph.

        With unsaved changes the person is asked first (after the file has loaded fine).
        An example opens as an untitled copy so saving never overwrites the shipped file.
        """
        imported = path.lower().endswith(".onnx")
        try:
            graph = _import_onnx(path) if imported else gc.load(path)
        except (gc.GraphFormatError, gc.GraphError, OSError, ValueError) as exc:
            self.show_error("Cannot open file", f"Could not open {os.path.basename(path)}.", str(exc))
            return False
        if not self.maybe_save():
            return False
        if imported:  # a new, unsaved graph: saving asks where, and never writes over the model
            doc = Document(graph, None, parent=self)
            doc.title_hint = os.path.splitext(os.path.basename(path))[0] + ".json"
            self._remember_dir(path)
        elif example:
            doc = Document(graph, None, parent=self)
            doc.title_hint = os.path.basename(path)
        else:
            doc = Document(graph, path, parent=self)
            app_settings.add_recent_file(path)
            self._remember_dir(path)
            self._fill_recent_menu()
        self.set_document(doc)
        said = self.statusBar().currentMessage()  # a panel's report on the new file (e.g. its meta.training)
        if imported:
            said = "ONNX carries no data set or training settings: choose them in the Train panel"
        self.show_status(f"Opened {os.path.basename(path)}" + (f". {said}" if said else ""))
        return True

    def open_example(self, path: str) -> bool:
        return self.open_file(path, example=True)

    def save(self) -> bool:
        if self.document.path:
            return self.save_file(self.document.path)
        return self.save_as()

    def save_as(self) -> bool:
        doc = self.document
        start = doc.path or os.path.join(self._start_dir(), doc.title_hint or "graph.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save graph", start, FILE_FILTER)
        if not path:
            return False
        if not os.path.splitext(path)[1]:
            path += ".json"
        return self.save_file(path)

    def save_file(self, path: str) -> bool:
        """Write the graph to `path` (atomically); errors go to a message box. True on success."""
        try:
            self.document.save(path)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.show_error("Cannot save file", f"Could not save {os.path.basename(path)}.", f"{path}: {reason}")
            return False
        app_settings.add_recent_file(path)
        self._remember_dir(path)
        self._fill_recent_menu()
        self.show_status(f"Saved {os.path.basename(path)}")
        return True

    def export_dialog(self) -> None:
        base = os.path.splitext(self.document.display_name)[0] or "graph"
        start = os.path.join(os.path.dirname(self.document.path or os.path.join(os.getcwd(), "x")), base + ".png")
        path, chosen = QFileDialog.getSaveFileName(self, "Export image", start,
                                                   "PNG image (*.png);;SVG image (*.svg)")
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += ".svg" if "svg" in chosen.lower() else ".png"
        self.export_image(path)

    def export_image(self, path: str) -> bool:
        ext = os.path.splitext(path)[1].lower()
        if ext not in (".png", ".svg"):
            self.show_error("Cannot export", "Choose a .png or .svg file name.", path)
            return False
        try:
            result = self.view.export_image(path)
        except (OSError, ValueError, RuntimeError) as exc:
            self.show_error("Cannot export", f"Could not write {os.path.basename(path)}.", str(exc))
            return False
        if result is False or not os.path.exists(path):
            self.show_error("Cannot export", f"Could not write {os.path.basename(path)}.", path)
            return False
        self.show_status(f"Exported {os.path.basename(path)}")
        return True

    def show_error(self, title: str, text: str, detail: str) -> None:
        """A modal error (tests monkeypatch QMessageBox.critical); the detail is the loader's own message."""
        self.show_status(detail)
        QMessageBox.critical(self, title, f"{text}\n\n{detail}")

    # ---------------------------------------------------------------- recent files and examples
    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = app_settings.recent_files()
        for i, path in enumerate(files):
            act = menu.addAction(f"&{i + 1 if i < 9 else 0}  {os.path.basename(path)}")
            act.setData(path)
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if files:
            menu.addSeparator()
            clear = menu.addAction("Clear Recent Files")
            clear.triggered.connect(self._clear_recent)
        else:
            empty = menu.addAction("No recent files")
            empty.setEnabled(False)

    def _open_recent(self, path: str) -> None:
        if not os.path.exists(path):
            app_settings.remove_recent_file(path)
            self._fill_recent_menu()
            self.show_error("Cannot open file", f"{os.path.basename(path)} no longer exists.", path)
            return
        self.open_file(path)

    def _clear_recent(self) -> None:
        app_settings.clear_recent_files()
        self._fill_recent_menu()

    def _fill_examples_menu(self) -> None:
        menu = self.examples_menu
        menu.clear()
        files = example_files()
        for path in files:
            title = _example_title(path)
            act = menu.addAction(title)
            act.setData(path)
            act.setStatusTip(os.path.basename(path))
            act.triggered.connect(lambda _=False, p=path: self.open_example(p))
        if not files:
            act = menu.addAction("No examples found")
            act.setEnabled(False)


def _import_onnx(path: str):
    """An ONNX model as a graph (graphcore.export.onnx_import); its errors are ValueErrors or ImportErrors
    (the optional onnx package missing), both shown like a bad graph file."""
    from graphcore.export.onnx_import import import_onnx
    from graphcore.export.onnx_support import OnnxUnavailable

    try:
        return import_onnx(path)
    except OnnxUnavailable as exc:
        raise ValueError(str(exc)) from None


def _example_title(path: str) -> str:
    """The example's meta.title when it has one (read as plain JSON, no graph built)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("meta", {})
        title = meta.get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
    except (OSError, ValueError, AttributeError):
        pass
    return os.path.splitext(os.path.basename(path))[0].replace("_", " ")
