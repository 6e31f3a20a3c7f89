"""An error line quotes at most about limits.EXCERPT characters of a value from a file, whichever
quotes Python's repr chose (a text holding an apostrophe is shown in double quotes)."""
import re

import numpy as np
import pytest

import graphcore as gc
from graphcore import cli, fileformat, limits
from graphcore.cli_common import clip_quoted

LONG_APOS = "don't " * 33  # 198 characters, within the name limit


@pytest.mark.parametrize("value", ["y" * 300, "x'" + "y" * 300, LONG_APOS, 'a"b' * 60 + "'"])
def test_clip_quoted_cuts_either_quoting_style(value):
    msg = f"sgd has no setting {value!r} (it has: lr)"
    out = clip_quoted(msg)
    assert out.endswith("(it has: lr)") and len(out) <= len("sgd has no setting ") + limits.EXCERPT + len(" (it has: lr)")
    q = repr(value)[0]
    assert out.startswith(f"sgd has no setting {q}") and f"...{q} (it has" in out


def test_short_quotes_and_apostrophes_in_words_are_left_alone():
    msg = "the graph's node \"don't\" and 'x' " + "z" * 200
    assert clip_quoted(msg) == msg


def _longest_quote(line: str) -> int:
    return max((len(m.group(0)) for m in re.finditer(r"'[^']*'|\"[^\"]*\"", line)), default=0)


def test_cli_error_line_quotes_a_long_name_with_an_apostrophe_briefly(tmp_path, capsys):
    g = gc.Graph()
    x = g.add("input", name="x", value=np.array([-1.0]))
    g.add("log", name=LONG_APOS, inputs={"x": x})
    path = tmp_path / "apos.json"
    fileformat.save(g, path)
    assert cli.main(["run", str(path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "don't don't" in err and _longest_quote(err) <= limits.EXCERPT
