"""The lesson dock (Help > Lessons): plays graphcore.lessons inside the window."""
