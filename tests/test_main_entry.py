"""main.py with no screen: one clear line and exit 2, not Qt aborting the process."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_gui_without_a_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("error: no display found") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr


def test_help_lists_the_subcommands():
    r = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    listed = {line.split()[0] for line in r.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert {"run", "check", "train", "sanity", "search", "render"} <= listed


def test_the_no_display_hint_names_the_command_the_user_ran(monkeypatch):
    monkeypatch.syspath_prepend(ROOT)
    import main as main_mod

    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sys, "argv", ["/venv/bin/backprop-studio"])
    assert "`backprop-studio render FILE" in main_mod.display_problem()
    monkeypatch.setattr(sys, "argv", [os.path.join(ROOT, "main.py")])
    assert "`python main.py render FILE" in main_mod.display_problem()
