import atexit
import os
import shutil
import sys
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# No test reads or writes the user's own settings, autosaves or recent files: a window
# restored from a layout saved by a real session would make GUI tests depend on it.
_SANDBOX = tempfile.mkdtemp(prefix="backprop-tests-")
atexit.register(shutil.rmtree, _SANDBOX, True)
os.environ["BACKPROP_STUDIO_DATA_DIR"] = os.path.join(_SANDBOX, "data")

GUI_FIXTURES = {"qapp", "qtbot"}


def _set_settings_dir(path: str) -> None:
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, path)


def pytest_configure(config):
    _set_settings_dir(os.path.join(_SANDBOX, "settings"))


def pytest_collection_modifyitems(config, items):
    """Every test that needs a QApplication is a GUI test (`-m "not gui"` runs the headless core)."""
    for item in items:
        if GUI_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _own_settings(request, tmp_path_factory, monkeypatch):
    """Each GUI test starts from empty settings and data and ends in the default theme: a layout,
    recent list, autosave or theme that an earlier test left behind must not change it."""
    if not GUI_FIXTURES & set(request.fixturenames):
        yield
        _default_theme()  # a test without qtbot may still have drawn with Qt (render)
        return
    home = tmp_path_factory.mktemp("app-home")
    _set_settings_dir(str(home / "settings"))
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_DIR", str(home / "data"))
    yield
    _set_settings_dir(os.path.join(_SANDBOX, "settings"))
    _default_theme()


def _default_theme() -> None:
    """The theme is process-wide: a test that switched it must not pass it on (free when unchanged)."""
    theme = sys.modules.get("app.theme")
    if theme is not None:
        theme.apply_theme("dark")
