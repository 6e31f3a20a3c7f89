"""`main.py train --reg STRENGTH`: the regularisation strength a search suggests, given as a flag."""
import json
import os

import pytest

import graphcore as gc
from graphcore.cli import main as cli_main
from backprop_studio_resources import examples_dir

EX = examples_dir()


def _strengths(path):
    g = gc.load(str(path))
    return [n.params["strength"] for n in g.nodes.values() if "strength" in n.params]


def test_reg_sets_every_regularisers_strength(tmp_path, capsys):
    src = os.path.join(EX, "spiral_2layer.json")
    assert _strengths(src) and 0.25 not in _strengths(src)
    out = tmp_path / "trained.json"
    assert cli_main(["train", src, "--epochs", "1", "--reg", "0.25", "--out", str(out), "--quiet"]) == 0
    assert _strengths(out) == [0.25] * len(_strengths(src))


def test_reg_on_a_graph_without_a_regulariser_names_the_flag(tmp_path, capsys):
    g = gc.load(os.path.join(EX, "xor_mlp.json"))
    for nid in [nid for nid, n in g.nodes.items() if "strength" in n.params]:
        g.remove(nid)
    bare = tmp_path / "bare.json"
    gc.save(g, str(bare))
    assert cli_main(["train", str(bare), "--epochs", "1", "--quiet"]) == 0  # it trains without the flag
    capsys.readouterr()
    assert cli_main(["train", str(bare), "--epochs", "1", "--reg", "0.1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--reg" in err and "no regulariser" in err


@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "lots"])
def test_a_bad_reg_is_refused_by_the_parser(bad, capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["train", os.path.join(EX, "spiral_2layer.json"), "--reg", bad])
    assert e.value.code == 2 and "--reg" in capsys.readouterr().err
