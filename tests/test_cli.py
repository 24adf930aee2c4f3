"""Bad input on the command line: a clear message naming the problem, never a traceback."""

from conftest import run_cli


def test_missing_and_foreign_checkpoints_get_a_message(tmp_path):
    missing = run_cli("evaluate", tmp_path / "nope")
    assert missing.returncode == 2 and "checkpoint not found" in missing.stderr
    foreign = run_cli("evaluate", tmp_path, "--env", "CartPole-v1")
    assert foreign.returncode == 1 and "is not an RLlib checkpoint" in foreign.stderr
    assert "Traceback" not in missing.stderr + foreign.stderr


def test_unreadable_files_and_unknown_presets(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    for args in (("validate", broken), ("run", broken), ("export", broken, "-o", tmp_path / "x.py"),
                 ("validate", tmp_path / "missing.yaml")):
        proc = run_cli(*args)
        assert proc.returncode == 2, args
        assert proc.stderr.startswith("rlstudio: ") and "Traceback" not in proc.stderr
    proc = run_cli("presets", "no-such-preset")
    assert proc.returncode == 2 and "cartpole-fast" in proc.stderr


def test_resume_of_a_folder_that_is_not_an_experiment(tmp_path):
    proc = run_cli("resume", tmp_path)
    assert proc.returncode == 2 and "not an RL Studio experiment folder" in proc.stderr


def test_presets_write_out_a_valid_file(tmp_path):
    out = tmp_path / "fast.yaml"
    assert run_cli("presets", "cartpole-fast", "-o", out).returncode == 0
    valid = run_cli("validate", out)
    assert valid.returncode == 0 and "valid" in valid.stdout
