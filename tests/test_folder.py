"""One home per contract: the experiment folder's layout, its evaluations, checkpoint → experiment and "the output
must be new" live in rlstudio/core/folder.py, and hidden sizes are parsed once (core/layers.py)."""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import pytest

from rlstudio.core import folder as layout
from rlstudio.core.events import EventWriter, ExperimentState
from rlstudio.core.layers import parse_hidden_sizes
from rlstudio.core.spec import ExperimentSpec, load_spec

ROOT = Path(__file__).resolve().parents[1] / "rlstudio"


def _experiment(tmp_path) -> Path:
    spec = ExperimentSpec.from_dict({"name": "f", "env": {"id": "CartPole-v1"}, "stop": {"iterations": 1}})
    return layout.new_experiment_folder(spec, tmp_path)


def test_a_new_folder_is_never_an_existing_one_and_holds_the_spec(tmp_path):
    first, second = _experiment(tmp_path), _experiment(tmp_path)
    assert first != second and first.parent == second.parent == tmp_path.resolve()
    assert first.name.startswith("f-") and load_spec(first / layout.SPEC_FILE).name == "f"
    assert layout.is_experiment_folder(first) and not layout.is_experiment_folder(tmp_path)


def test_a_checkpoint_finds_its_experiment_and_what_the_log_says_of_it(tmp_path):
    exp = _experiment(tmp_path)
    ckpt = exp / layout.TUNE_DIR / "trial_abc" / "checkpoint_000002"
    ckpt.mkdir(parents=True)
    EventWriter(exp).emit("checkpoint_saved", trial_id="abc", iteration=2, timesteps=400, path=str(ckpt))
    assert layout.experiment_of(ckpt) == exp and layout.experiment_of(exp / layout.FINAL_DIR) == exp
    assert layout.checkpoint_record(ckpt) == {"trial_id": "abc", "iteration": 2, "timesteps": 400}
    link = tmp_path / "link"
    link.symlink_to(ckpt)  # a link to the checkpoint is the same checkpoint
    assert layout.checkpoint_record(exp / layout.TUNE_DIR / "trial_abc" / ".." / "trial_abc" / ckpt.name)["iteration"] == 2
    alone = tmp_path / "elsewhere" / "checkpoint_000001"
    alone.mkdir(parents=True)
    assert layout.experiment_of(alone) is None and layout.checkpoint_record(alone) == {}
    assert layout.checkpoint_record(exp / layout.FINAL_DIR) == {}  # the final model has no checkpoint_saved event


def test_the_output_must_be_new(tmp_path):
    assert layout.output_problem(tmp_path / "new") is None
    (tmp_path / "empty").mkdir()
    assert layout.output_problem(tmp_path / "empty") is None  # an empty folder the user made is taken
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    (tmp_path / "file").write_text("x")
    for taken in ("full", "file"):
        problem = layout.output_problem(tmp_path / taken)
        assert problem and str(tmp_path / taken) in problem and "nothing is overwritten" in problem


def test_an_evaluation_is_one_event_that_every_reader_sees(tmp_path):
    exp = _experiment(tmp_path)
    a, b = str(exp / "tune" / "t1" / "checkpoint_000001"), str(exp / layout.FINAL_DIR)
    where = layout.record_evaluation(exp, {"checkpoint": a, "time": 2.0, "mean_return": 10.0, "returns": [9, 11]})
    layout.record_evaluation(exp, {"checkpoint": b, "time": 1.0, "mean_return": 20.0, "returns": [20]})
    assert where == exp / layout.EVENTS_FILE
    assert [e["mean_return"] for e in layout.load_evaluations(exp)] == [20.0, 10.0]  # oldest first
    assert [e["returns"] for e in layout.load_evaluations(exp, a)] == [[9, 11]]
    assert layout.load_evaluations(exp, tmp_path / "other") == []
    # the results panel and the report read the replayed log: the same records
    assert [e["checkpoint"] for e in ExperimentState.load(exp).evaluations] == [a, b]
    assert not (exp / "evaluations").exists()


def test_an_old_folder_with_evaluation_files_reads_each_evaluation_once(tmp_path):
    """Before core/folder.py, ``rlstudio evaluate`` wrote evaluations/<name>.json and the same record as an event."""
    exp = _experiment(tmp_path)
    record = {"checkpoint": str(exp / "ck"), "trial_id": "t", "iteration": 3, "time": time.time(),
              "mean_return": 5.0, "returns": [5.0]}
    (exp / "evaluations").mkdir()
    stored = exp / "evaluations" / "20260101-000000-t-ck.json"
    stored.write_text(json.dumps({**record, "stored": str(stored)}))
    EventWriter(exp).emit("evaluated", **record, stored=str(stored))
    [found] = layout.load_evaluations(exp)
    assert found["returns"] == [5.0] and found["iteration"] == 3


def test_the_runner_log_tail(tmp_path):
    assert layout.runner_log_tail(tmp_path) == []
    (tmp_path / layout.LOG_FILE).write_text("\n".join(f"line {i}" for i in range(10)) + "\n\n")
    assert layout.runner_log_tail(tmp_path, 3) == ["line 7", "line 8", "line 9"]


# (final_model is also an attribute's and an event's name, so it is not searched for)
LAYOUT_NAMES = {layout.SPEC_FILE, layout.EVENTS_FILE, layout.LOG_FILE, layout.PID_FILE, layout.STOP_REQUESTS_DIR,
                layout.TUNE_DIR, layout.COMPRESSED_DIR, "evaluations/"}


def test_the_folder_layout_is_spelled_in_one_place():
    """No module but core/folder.py writes the layout's names as string literals (help text may mention them)."""
    found = []
    for path in ROOT.rglob("*.py"):
        if path == ROOT / "core" / "folder.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in LAYOUT_NAMES and id(node) not in docstrings:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == []


@pytest.mark.parametrize("text,sizes", [("16,16", (16, 16)), ("16x16", (16, 16)), (" 64 × 32 ", (64, 32)),
                                        ("8", (8,)), ("16X16", (16, 16)), ([32, 32], (32, 32)), ("", None),
                                        (None, None)])
def test_hidden_sizes_as_people_type_them(text, sizes):
    assert parse_hidden_sizes(text) == sizes


@pytest.mark.parametrize("text", ["32,,8", "0", "a", "16x", "5000", ",".join(["4"] * 9), "1.5", "-3"])
def test_hidden_sizes_refused_say_what_is_allowed(text):
    with pytest.raises(ValueError, match="whole numbers separated by commas"):
        parse_hidden_sizes(text)


def test_the_engine_and_the_form_take_the_same_sizes():
    from rlstudio.engine.compress import CompressError, parse_hidden

    assert parse_hidden("16x16") == (16, 16)
    with pytest.raises(CompressError) as info:
        parse_hidden("16,,")
    assert info.value.option == "--distill" and str(info.value).startswith("--distill expects")
