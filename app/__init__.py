"""The Qt GUI of Backprop Studio: it shows and edits what graphcore owns.

Importing this package is cheap; the window's modules load on first use so that
`python main.py render ...` and the tests pay only for what they use.
"""
from __future__ import annotations

import os
import sys

NO_RECOVERY_ENV = "BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT"


def application():
    """The QApplication, created (with names and the saved theme) if there is none yet.

    Called again on an existing application (pytest-qt makes its own), it completes what is
    missing: the GC guard and the Chinese font once each, the theme unless one was applied.
    """
    from PySide6.QtWidgets import QApplication

    from . import cjk_font, gc_guard, settings, theme

    app = QApplication.instance()
    created = app is None
    if created:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("Backprop Studio")
        app.setOrganizationName("backprop-studio")
        app.setApplicationDisplayName("Backprop Studio")
    gc_guard.install()  # cyclic garbage (Qt wrappers among it) is collected on this thread only
    cjk_font.install(app)  # Chinese lesson text renders even with no CJK font on the system
    if created or app.property("backpropTheme") is None:
        theme.apply_theme(settings.theme_name(), app)
    if created:
        from graphcore import limits

        if limits.explicit_memory_limit() is None:  # render --memory-limit wins over the stored setting
            settings.apply_memory_limit()  # the plan budget, inherited by the training process
    return app


def create_main_window(path: str | None = None, offer_recovery: bool | None = None):
    """The main window, with `path` loaded when given; does not enter the event loop.

    offer_recovery: None asks about a crashed session's autosave unless the environment
    variable BACKPROP_NO_AUTOSAVE_RECOVERY_PROMPT=1 is set (the tests set it); True asks;
    False skips the check.
    """
    application()
    from .main_window import MainWindow

    window = MainWindow()
    if offer_recovery is None:
        offer_recovery = os.environ.get(NO_RECOVERY_ENV, "") not in ("1", "true", "yes")
    recovered = window.offer_recovery(ask=True) if offer_recovery else False
    if path and not recovered:
        window.open_file(path)
    return window


def run_gui(path: str | None = None) -> int:
    app = application()
    window = create_main_window(path)
    window.show()
    from .kernel_warmup import start_kernel_warmup

    warmup = start_kernel_warmup(window)
    try:
        return app.exec()
    finally:
        if warmup is not None:
            warmup.stop()
