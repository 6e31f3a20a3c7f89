"""The one command line (`main.py`): help, version, unknown commands, the editor, one-line errors for
bad flag values, the README's reference, and a missing platform library named before Qt starts."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import main as main_mod
from backprop_studio_resources import example_path
from cli_helpers import CIRCUIT, ROOT, assert_one_line_error


# ---------------------------------------------------------------- the one command line (main.py)

def test_help_lists_every_subcommand_and_imports_no_qt():
    code = ("import sys, main\n"
            "try:\n    main.main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "assert main.main(['run', sys.argv[1], '--json']) == 0\n"
            "print('QT', any(m.startswith('PySide6') for m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code, CIRCUIT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for cmd in ("run", "check", "train", "sanity", "search", "render", "help", "version"):
        assert f"\n    {cmd} " in r.stdout, cmd
    assert r.stdout.rstrip().endswith("QT False")


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["version"]])
def test_version(args, capsys):
    from importlib.metadata import version

    try:
        code = main_mod.main(args)
    except SystemExit as exc:  # argparse's version action exits
        code = exc.code
    assert code == 0
    assert capsys.readouterr().out.strip() == f"backprop-studio {version('backprop-studio')}"


def test_help_command(capsys):
    assert main_mod.main(["help"]) == 0
    assert "sanity" in capsys.readouterr().out
    assert main_mod.main(["help", "train"]) == 0
    assert "--metrics" in capsys.readouterr().out
    assert main_mod.main(["help", "frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_unknown_command_is_usage_and_exit_2_never_the_editor(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "main.py", "frobnicate", CIRCUIT], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    usage, err = r.stderr.strip().split("\n")[0], r.stderr.strip().splitlines()[-1]
    assert usage.startswith("usage: main.py") and err.startswith("error: unknown command 'frobnicate'")
    assert "display" not in r.stderr


def test_a_file_or_nothing_opens_the_editor(monkeypatch, tmp_path):
    opened = []
    monkeypatch.setattr(main_mod, "open_editor", lambda path: opened.append(path) or 0)
    plain = tmp_path / "graph"
    plain.write_text("{}")
    assert main_mod.main([]) == 0
    assert main_mod.main(["new.json"]) == 0  # need not exist yet
    assert main_mod.main([str(plain)]) == 0  # exists, any name
    assert opened == [None, "new.json", str(plain)]
    assert main_mod.main(["new.json", "extra"]) == 2 and len(opened) == 3


def test_every_option_has_help_and_shows_its_default():
    import argparse

    from graphcore.cli_common import HelpFormatter

    parser = main_mod.build_parser()
    subs = main_mod._subparsers(parser)
    assert set(subs) >= {"run", "check", "train", "sanity", "search", "render"}
    fmt = HelpFormatter("x")
    for name, sp in subs.items():
        for a in sp._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            assert a.help, (name, a.dest)
            if a.option_strings and a.default is not None and a.default is not False:
                assert "default" in fmt._get_help_string(a), (name, a.dest)


BAD_FLAGS = [
    (["search", "F", "--trials", "0"], "--trials"),
    (["search", "F", "--trials", "-2"], "--trials"),
    (["search", "F", "--lr-min", "0"], "--lr-min"),
    (["search", "F", "--lr-min", "1", "--lr-max", "0.001"], "--lr-min"),
    (["search", "F", "--reg-min", "1", "--reg-max", "0.5"], "--reg-min"),
    (["search", "F", "--workers", "0"], "--workers"),
    (["search", "F", "--epochs-per-trial", "0"], "--epochs-per-trial"),
    (["sanity", "F", "--n", "-5"], "--n"),
    (["sanity", "F", "--overfit-epochs", "zero"], "--overfit-epochs"),
    (["check", "F", "--tolerance", "-1"], "--tolerance"),
    (["check", "F", "--tolerance", "nan"], "--tolerance"),
    (["train", "F", "--epochs", "-1"], "--epochs"),
    (["train", "F", "--lr", "0"], "--lr"),
    (["train", "F", "--batch-size", "1.5"], "--batch-size"),
    (["train", "F", "--out", "/nonexistent/dir/x.json"], "--out"),
    (["train", "F", "--out", "DIR"], "--out"),
    (["train", "F", "--metrics", "/nonexistent/dir/m.csv"], "--metrics"),
    (["run", "F", "--mode", "sideways"], "--mode"),
    (["run", "F", "--target", "nosuch"], "--target"),
    (["render", "F", "--out", "/nonexistent/dir/g.png"], "--out"),
    (["render", "F", "--out", "DIR"], "--out"),
    (["render", "F", "--out", "g.bmp"], "--out"),
]


@pytest.mark.parametrize("argv, flag", BAD_FLAGS, ids=[" ".join(a[0:1] + a[2:]) for a, _ in BAD_FLAGS])
def test_bad_flag_values_are_one_line_naming_the_flag(argv, flag, capsys, tmp_path, monkeypatch):
    from graphcore.train.trainer import Trainer

    def no_work(*a, **k):
        raise AssertionError("work started before the flags were checked")

    monkeypatch.setattr(Trainer, "run", no_work)
    monkeypatch.setattr("graphcore.train.search.coarse_to_fine", no_work)
    monkeypatch.chdir(tmp_path)
    xor = example_path("xor_mlp.json")
    argv = [xor if a == "F" else str(tmp_path) if a == "DIR" else a for a in argv]
    try:
        code = main_mod.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert_one_line_error(code, err)
    assert f"argument {flag}" in err and "meta.training" not in err
    assert out == ""


# ---------------------------------------------------------------- a missing platform library
@pytest.fixture
def x11_session(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    for k in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
        monkeypatch.delenv(k, raising=False)

    def no_gui(path):
        raise AssertionError("the GUI must not start")

    monkeypatch.setattr("app.run_gui", no_gui)


def test_missing_xcb_cursor_is_one_line_naming_the_library_and_the_install_command(x11_session, monkeypatch,
                                                                                    capsys):
    tried = []
    monkeypatch.setattr(main_mod, "can_load", lambda so: tried.append(so) or so != "libxcb-cursor.so.0")
    assert main_mod.main([CIRCUIT]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "libxcb-cursor.so.0" in err and "sudo apt-get install libxcb-cursor0\n" in err
    assert err.startswith("error: ") and "libxcb-cursor.so.0" in tried


def test_no_platform_check_when_qt_will_not_use_xcb(monkeypatch):
    monkeypatch.setattr(main_mod, "can_load", lambda so: False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main_mod.missing_platform_libraries() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    assert main_mod.missing_platform_libraries() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert "sudo apt-get install libxcb-cursor0 " in main_mod.missing_platform_libraries()
    monkeypatch.setattr(main_mod, "can_load", lambda so: True)
    assert main_mod.missing_platform_libraries() is None


def test_can_load_asks_the_dynamic_loader():
    assert main_mod.can_load("libc.so.6") is True
    assert main_mod.can_load("libdefinitely-not-installed.so.0") is False


# ---------------------------------------------------------------- the README's reference is the parser's
def readme_reference() -> dict[str | None, set[str]]:
    """{command (None for the editor lines): flags} from the README's "Command line" code block."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    ref: dict[str | None, set[str]] = {}
    cmd = None
    for line in block.splitlines():
        code = line.split("#", 1)[0]
        if code.startswith("python main.py"):
            words = code.split()[2:]
            cmd = words[0] if words and words[0].isalpha() and words[0].islower() else None
            ref.setdefault(cmd, set())
        elif not code.strip():
            continue
        ref[cmd] |= set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", code))
    return ref


def test_readme_command_reference_matches_the_parser():
    parser = main_mod.build_parser()
    subs = main_mod._subparsers(parser)
    ref = readme_reference()
    assert set(ref) - {None} == set(subs), "README and --help list different commands"
    for cmd, flags in ref.items():
        known = {s for a in (subs[cmd] if cmd else parser)._actions for s in a.option_strings}
        assert flags <= known, (cmd, flags - known)
    for cmd in ("train", "search"):  # the main flags are documented, not just the command
        assert len(ref[cmd]) >= 6, ref[cmd]
    assert "--version" in ref[None]


def test_render_out_where_no_file_can_be_created_is_refused_before_drawing(tmp_path, capsys, monkeypatch):
    """/proc/x.png was drawn, then failed to save: the folder is probed first (a file created and removed)."""
    import errno
    import tempfile

    import app.render
    from graphcore import cli_common

    monkeypatch.setattr(app.render, "render", lambda *a, **k: pytest.fail("drew before checking --out"))
    real = tempfile.NamedTemporaryFile

    def read_only(*a, dir=None, **k):
        if dir is not None and os.path.realpath(dir) == os.path.realpath(tmp_path):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **k)

    monkeypatch.setattr(cli_common.tempfile, "NamedTemporaryFile", read_only)
    out = tmp_path / "x.png"
    assert main_mod.main(["render", example_path("xor_mlp.json"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: argument --out: {out}: cannot create a file in {tmp_path} "
                                       "(Read-only file system)\n")
    assert os.listdir(tmp_path) == []


def test_a_reader_that_goes_away_ends_the_command_quietly(capsys):
    """`main.py lessons | head -1`: the broken pipe printed "error: None: Broken pipe"."""
    import argparse

    from graphcore import cli_common

    def writes_to_a_closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")
    code = cli_common.run_command(argparse.Namespace(fn=writes_to_a_closed_pipe))
    assert code == 141 and capsys.readouterr().err == ""  # 128 + SIGPIPE, and no error line
