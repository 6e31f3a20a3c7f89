import atexit
import os
import shutil
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# No test reads or writes the user's own settings, autosaves or recent files: a window
# restored from a layout saved by a real session would make GUI tests depend on it.
_SANDBOX = tempfile.mkdtemp(prefix="backprop-tests-")
atexit.register(shutil.rmtree, _SANDBOX, True)
os.environ["BACKPROP_STUDIO_DATA_DIR"] = os.path.join(_SANDBOX, "data")


def pytest_configure(config):
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.path.join(_SANDBOX, "settings"))
