"""Every shipped lesson plays headlessly with Show me on every step, in both languages; the
`lessons` command's exit codes (0 all pass, 1 a check fails, 2 a bad id or file)."""
import io
import json

import pytest

import graphcore.lessons as L
from graphcore.cli import main
from graphcore.lessons_cli import play

SHIPPED = [les.id for les in L.load_all()]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("lesson_id", SHIPPED)
def test_every_shipped_lesson_plays_to_the_end(lesson_id, lang):
    out = io.StringIO()
    assert play(L.find(lesson_id), lang, out) == 0, out.getvalue()
    text = out.getvalue()
    explained = [line for line in text.splitlines() if line.startswith("  -> ")]
    assert explained and not any("?" in line for line in explained), text  # every number was live


def test_the_gates_lesson_explains_with_the_notes_numbers():
    """CS231n: x=3, y=-4, z=2, w=-1 gives f = 2(xy + max(z, w)) = -20; with x set to 5 the mul gate
    gives y the gradient x * df/dxy = 5 * 2 = 10 and x the gradient y * 2 = -8."""
    out = io.StringIO()
    assert play(L.find("gates"), "en", out) == 0
    text = out.getvalue()
    x, y, z, w = 3.0, -4.0, 2.0, -1.0
    f = 2 * (x * y + max(z, w))
    assert f"f = 2s = {f:.2f}" in text
    assert f"{5.0:.2f} × {2.0:.2f} = {5.0 * 2:.2f}" in text  # dy = x * upstream after the edit
    assert f"df/dx = {y * 2:.2f}" in text


def test_the_sigmoid_lesson_matches_the_closed_form():
    import math

    out = io.StringIO()
    assert play(L.find("sigmoid-neuron"), "en", out) == 0
    dot = 2 * -1 + -3 * -2 + -3
    sig = 1 / (1 + math.exp(-dot))
    assert f"σ({dot:.2f}) = {sig:.2f}" in out.getvalue()
    assert f"= {(1 - sig) * sig:.2f}, exactly the gradient dot received" in out.getvalue()


def lesson_doc(check):
    return {"format": "backprop-studio-lesson", "format_version": 1, "id": "broken", "order": 1,
            "title": {"en": "Broken", "zh": "坏"}, "graph": {"example": "add_mul.json"},
            "steps": [{"id": "a", "text": {"en": "Run.", "zh": "运行。"}, "check": {"has": "grads"},
                       "show_me": [{"backward": {}}]},
                      {"id": "b", "text": {"en": "Never.", "zh": "不会。"}, "check": check,
                       "show_me": [{"backward": {}}]}]}


def test_a_check_that_fails_after_show_me_exits_1(tmp_path, capsys):
    (tmp_path / "broken.json").write_text(json.dumps(lesson_doc(
        {"compare": {"left": "value:f", "op": "==", "right": 999}})))
    assert main(["lessons", "play", "broken", "--folder", str(tmp_path)]) == 1
    assert "FAIL step 2/2 (b)" in capsys.readouterr().out


def test_the_same_lesson_with_a_true_check_exits_0(tmp_path, capsys):
    """The control for the test above: q = x + y = 3, f = q * z = -12 in add_mul.json."""
    (tmp_path / "ok.json").write_text(json.dumps(lesson_doc(
        {"compare": {"left": "value:f", "op": "==", "right": (-2 + 5) * -4}})))
    assert main(["lessons", "play", "broken", "--folder", str(tmp_path)]) == 0


def test_an_unknown_id_exits_2_with_one_line(capsys):
    assert main(["lessons", "play", "no-such-lesson"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-lesson" in err and "gates" in err


def test_a_bad_lesson_file_exits_2_naming_it(tmp_path, capsys):
    doc = lesson_doc({"has": "grads"})
    doc["steps"][0]["text"]["en"] = "{0.__class__}"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert main(["lessons", "play", "broken", "--folder", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json: steps[0].text.en:" in err


def test_the_list_shows_id_title_and_steps(capsys):
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    for les in L.load_all():
        line = next(l for l in out.splitlines() if l.startswith(les.id + " "))
        assert f"{len(les.steps)} steps" in line and les.title["en"] in line
    assert main(["lessons", "--lang", "zh"]) == 0
    assert "门：加法分配" in capsys.readouterr().out


def test_training_actions_and_metric_checks_headlessly():
    """train and set_training through the headless world; metric quantities read the run."""
    from graphcore.lessons import actions, checks, quantities

    world = L.HeadlessWorld()
    from backprop_studio_resources import example_path
    from graphcore import fileformat

    world.open_graph(fileformat.load(example_path("spiral_linear.json")), "spiral")
    assert not world.has("training")
    actions.perform(actions.parse({"set_training": {"lr": 0.5, "epochs": 1}}, "$"), world)
    actions.perform(actions.parse({"train": {"epochs": 3, "batch_size": 0}}, "$"), world)
    assert world.graph.meta["training"]["optimizer"]["lr"] == 0.5 and world.graph.meta["training"]["batch_size"] == 0
    assert world.has("training") and world.metrics["steps"] == 3
    ctx = checks.Context(world, {}, {})
    ok = checks.parse({"all": [{"compare": {"left": "metric:steps", "op": ">=", "right": 3}},
                               {"compare": {"left": "metric:loss", "op": "<", "right": "metric:initial_loss"}}]}, "$")
    assert checks.holds(ok, ctx), world.metrics
    assert quantities.current(quantities.parse("metric:train_acc"), world) is not None


def test_a_step_may_open_another_graph_and_name_its_nodes(tmp_path):
    doc = lesson_doc({"compare": {"left": "grad:w", "op": "==", "right": 0, "tol": 1e-12}})
    doc["steps"][1]["show_me"] = [{"open_graph": {"example": "cs231n_circuit.json"}}, {"backward": {}}]
    (tmp_path / "two.json").write_text(json.dumps(doc))
    out = io.StringIO()
    assert play(L.load(str(tmp_path / "two.json")), "en", out) == 0, out.getvalue()  # max(2, -1): w gets 0
    doc["steps"][1]["check"] = {"compare": {"left": "grad:nobody", "op": "==", "right": 0}}
    (tmp_path / "two.json").write_text(json.dumps(doc))
    with pytest.raises(L.LessonFormatError, match="'nobody'"):
        L.load(str(tmp_path / "two.json"))


def test_the_gui_metric_chunks_fold_into_the_same_metrics():
    """The app's child process sends pack_records chunks; the lesson reads the last point of each."""
    from graphcore.lessons.world import absorb_chunk
    from graphcore.train.session import pack_records

    records = [(1, {"loss": 2.3, "acc": 0.1, "dead_relu": {"relu1": 0.0}}),
               (2, {"loss": 1.9, "acc": 0.3, "dead_relu": {"relu1": 0.4}})]
    metrics: dict = {}
    absorb_chunk(metrics, {"step." + k: v for k, v in pack_records(records).items()})
    absorb_chunk(metrics, {"epoch." + k: v for k, v in
                           pack_records([(2, {"train_acc": 0.9, "val_acc": 0.7, "epoch": 1})]).items()})
    assert metrics["loss"] == 1.9 and metrics["initial_loss"] == 2.3 and metrics["steps"] == 2
    assert metrics["dead_relu"] == {"relu1": 0.4} and metrics["epochs"] == 1
    assert metrics["gap"] == pytest.approx(0.9 - 0.7)


def test_a_folder_that_is_not_one_or_holds_no_lessons_is_named(tmp_path, capsys):
    from graphcore.cli import main as cli_main

    assert cli_main(["lessons", "play", "gates", "--folder", str(tmp_path / "nowhere")]) == 2
    assert "--folder" in capsys.readouterr().err
    assert cli_main(["lessons", "play", "gates", "--folder", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no lesson files" in err


def test_the_chinese_list_says_steps_in_chinese(capsys):
    from graphcore.cli import main as cli_main

    assert cli_main(["lessons", "--lang", "zh"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 15 and all(" 步  " in line and "steps" not in line for line in lines)
