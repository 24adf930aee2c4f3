"""What the Compress panel shows (``gui/panels/compress_data.py``), without Qt: a variant's table cells, where the
output goes by default, and what keeps Run from starting."""

from rlstudio.core.folder import SPEC_FILE
from rlstudio.gui.panels.compress_data import (COLUMN_HELP, COLUMNS, default_output, kilobytes, row_cells,
                                               run_problem, student_sizes)


def row(**changes):
    base = {"name": "student 16,16", "steps": ["student 16,16"], "params": 1234, "nonzero_params": 1200,
            "dtype": "float32", "size_bytes": 4096, "onnx_bytes": 2048, "onnx_ok": True, "onnx_max_abs_diff": 3e-7,
            "latency_us": 12.34, "latency_onnx_us": 5.06, "mean_return": 480.25, "std_return": 2.5,
            "success_rate": 0.95}
    return {**base, **changes}


def test_a_variants_cells_follow_the_columns():
    assert len(COLUMNS) == len(COLUMN_HELP) == len(row_cells(row()))
    assert row_cells(row()) == ["student 16,16", "1,234", "1,200", "float32", "4.0", "2.0", "ok 3e-07", "12.3",
                                "5.1", "480.2 ± 2.5", "95%"]
    int8 = row_cells(row(dtype="int8 linear weights", onnx_bytes=None, onnx_ok=None, latency_onnx_us=None,
                         success_rate=None))
    assert int8[3] == "int8" and int8[5] == "—" and int8[6] == "n/a (int8)" and int8[8] == "—" and int8[10] == "—"
    assert row_cells(row(onnx_ok=False, onnx_max_abs_diff=0.02))[6] == "FAIL 2e-02"
    assert kilobytes(None) == "—" and kilobytes(1536) == "1.5"


def test_the_output_goes_under_the_experiment_or_beside_a_lone_checkpoint(tmp_path):
    lone = tmp_path / "somewhere" / "checkpoint_000001"
    assert default_output(lone).parent == tmp_path / "somewhere" / "compressed"
    experiment = tmp_path / "exp"
    (experiment / "trial" / "checkpoint_000002").mkdir(parents=True)
    (experiment / SPEC_FILE).write_text("name: exp\n")
    assert default_output(experiment / "trial" / "checkpoint_000002").parent == experiment / "compressed"


def test_run_waits_for_a_checkpoint_a_method_readable_sizes_and_a_new_folder(tmp_path):
    new = str(tmp_path / "new")
    assert run_problem(None, True, False, False, "", new) == "Choose a checkpoint first."
    assert "at least one" in run_problem("/c", False, False, False, "16,16", new)
    assert run_problem("/c", False, False, True, "sixteen", new).startswith("Student sizes:")
    assert run_problem("/c", True, False, False, "sixteen", new) is None  # the sizes matter only for distilling
    assert run_problem("/c", True, False, False, "", "") == "Choose an output folder."
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "report.json").write_text("{}")
    assert "already exists" in run_problem("/c", True, False, False, "", str(tmp_path / "used"))
    assert student_sizes("16, 16") == (16, 16) and student_sizes("16x16") == (16, 16) and student_sizes("x") is None
