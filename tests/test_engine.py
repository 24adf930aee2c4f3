"""Real Ray, real RLlib, real Tune: small runs through the `rlstudio` command, checked through the event log."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import run_cli
from rlstudio.core.events import ExperimentState, read_events

pytestmark = pytest.mark.ray

SMALL = {
    "schema_version": 1, "name": "small", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
    "hyperparameters": {"lr": {"grid": [0.001, 0.0001]}, "train_batch_size": 256, "minibatch_size": 64,
                        "num_epochs": 2, "model_config": {"fcnet_hiddens": [32]}},
    "resources": {"env_runners": 0, "envs_per_runner": 1, "max_concurrent_trials": 2},
    "search": {"algorithm": "grid"}, "stop": {"iterations": 2}, "checkpoint": {"every": 1, "at_end": True},
}


def write_spec(tmp_path, data, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def only_folder(storage: Path) -> Path:
    [folder] = [p for p in storage.iterdir() if p.is_dir()]
    return folder


def results_by_trial(folder):
    out = {}
    for e in read_events(folder):
        if e["event"] == "trial_result":
            out.setdefault(e["trial_id"], []).append(e)
    return out


def test_small_grid_run_is_fully_described_by_its_event_log(tmp_path, ray_session):
    spec = write_spec(tmp_path, SMALL)
    proc = run_cli("run", spec, "--storage", tmp_path / "runs", "--address", ray_session.address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = only_folder(tmp_path / "runs")
    events = read_events(folder)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "experiment_started" and kinds[-1] == "experiment_finished"
    assert all(isinstance(e["time"], float) for e in events)
    started = events[0]
    assert started["planned_trials"] == 2 and started["spec"]["name"] == "small"
    trials = {e["trial_id"]: e["config"] for e in events if e["event"] == "trial_started"}
    assert sorted(c["lr"] for c in trials.values()) == [0.0001, 0.001]
    results = results_by_trial(folder)
    assert set(results) == set(trials)
    for rows in results.values():
        assert [r["iteration"] for r in rows] == [1, 2]
        assert [r["timesteps"] for r in rows] == [256, 512]
        for r in rows:
            assert r["time_s"] > 0 and r["env_steps_per_s"] > 0
            assert isinstance(r["episode_return_mean"], float) and r["episode_len_mean"] > 0
            assert {"policy_loss", "vf_loss", "entropy", "mean_kl_loss"} <= set(r)
    checkpoints = [e for e in events if e["event"] == "checkpoint_saved"]
    assert len(checkpoints) == 4 and all(Path(c["path"]).is_dir() for c in checkpoints)
    assert sum(k == "trial_completed" for k in kinds) == 2
    finished = events[-1]
    assert finished["status"] == "completed" and finished["best_trial_id"] in trials
    best_rows = results[finished["best_trial_id"]]
    # the best trial has the highest final return: the mean of its last 20 finished episodes (no target here, so
    # no confirmation evaluation), not its best iteration's RLlib mean
    assert finished["best_metric"] == best_rows[-1]["return_window"]
    assert finished["best_metric"] == max(rows[-1]["return_window"] for rows in results.values())
    assert finished["best_config"] == trials[finished["best_trial_id"]]
    # any reader rebuilds the same picture from the file alone
    state = ExperimentState.load(folder)
    assert state.status == "completed" and all(t.status == "completed" for t in state.trials.values())
    assert "best trial" in proc.stdout

    # the article's last step: the best configuration -> a final model -> an honest evaluation
    best = run_cli("best", folder)
    assert best.returncode == 0 and finished["best_trial_id"] in best.stdout
    final = run_cli("best", folder, "--train", "2", "--address", ray_session.address)
    assert final.returncode == 0, final.stderr
    model = folder / "final_model"
    assert model.is_dir()
    ev = run_cli("evaluate", model, "--episodes", "3", "--json")
    assert ev.returncode == 0, ev.stderr
    result = json.loads(ev.stdout.strip().splitlines()[-1])
    assert len(result["returns"]) == 3 and result["threshold"] == 475
    assert result["mean_return"] == pytest.approx(sum(result["returns"]) / 3)
    assert result["success_rate"] == sum(r >= 475 for r in result["returns"]) / 3
    kinds = [e["event"] for e in read_events(folder)]
    assert "final_model_saved" in kinds and "evaluated" in kinds


def test_one_trial_stopped_on_request_while_the_other_reaches_its_criterion(tmp_path, ray_session):
    from rlstudio.core.events import request_trial_stop

    spec = write_spec(tmp_path, {**SMALL, "stop": {"iterations": 12}, "checkpoint": {"every": 0, "at_end": True}})
    storage = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "rlstudio", "run", str(spec), "--storage", str(storage),
                             "--address", ray_session.address, "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline, target = time.monotonic() + 180, None
    while time.monotonic() < deadline and target is None:
        time.sleep(0.3)
        if storage.exists() and any(storage.iterdir()):
            folder = only_folder(storage)
            target = next((tid for tid, rows in results_by_trial(folder).items() if len(rows) >= 2), None)
    assert target is not None
    request_trial_stop(folder, target)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    state = ExperimentState.load(folder)
    stopped = state.trials.pop(target)
    [other] = state.trials.values()
    assert stopped.status == "user_stopped" and stopped.iteration < 12
    assert other.status == "completed" and other.iteration == 12
    assert state.status == "completed"


def test_an_env_that_raises_fails_its_trial_with_the_traceback_while_the_other_finishes(tmp_path, ray_session):
    data = {**SMALL, "name": "faulty",
            "env": {"entry_point": "envs:FaultyCartPole", "kwargs": {"fail_after": 100, "fail_seed_below": 1000}},
            "hyperparameters": {**SMALL["hyperparameters"], "lr": 0.001, "seed": {"grid": [0, 100000]}},
            "stop": {"iterations": 3}, "checkpoint": {"every": 0, "at_end": True}}
    proc = run_cli("run", write_spec(tmp_path, data), "--storage", tmp_path / "runs", "--address",
                   ray_session.address, "--trust")  # tests/envs.py: code the file names, trusted for this run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    folder = only_folder(tmp_path / "runs")
    events = read_events(folder)
    seeds = {e["trial_id"]: e["config"]["seed"] for e in events if e["event"] == "trial_started"}
    [errored] = [e for e in events if e["event"] == "trial_errored"]
    assert seeds[errored["trial_id"]] == 0
    assert "simulated sensor failure" in errored["traceback"] and 'envs.py", line' in errored["traceback"]
    assert errored["message"] == "RuntimeError: FaultyCartPole: simulated sensor failure inside step()"
    [completed] = [e for e in events if e["event"] == "trial_completed"]
    assert seeds[completed["trial_id"]] == 100000
    assert events[-1]["status"] == "completed_with_errors"
    assert "FAILED" in proc.stdout and "failed" in proc.stderr


def test_exported_script_runs_the_same_experiment(tmp_path, ray_session):
    """With the same return rule: a target any policy reaches (9) is met once 5 episodes have ended and 3 seeded
    greedy episodes confirm it, so each trial stops after its first iteration instead of its third. The file names
    the tests' running session as its Ray address, which the script joins (a Ray of its own would cost this test
    its start and workers that have not imported RLlib yet: ~8 s)."""
    data = {**SMALL, "stop": {"iterations": 3, "episode_return_mean": 9, "return_window": 5, "confirm_episodes": 3},
            "ray": {"address": ray_session.address}}
    script = tmp_path / "exported.py"
    proc = run_cli("export", write_spec(tmp_path, data), "-o", script)
    assert proc.returncode == 0, proc.stderr
    text = script.read_text()
    assert "rlstudio" not in text.replace("RL Studio", "")
    assert f"ray.init(address={ray_session.address!r})" in text
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "STORAGE": str(tmp_path / "exported_runs")}, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "best mean return (last 5 episodes):" in run.stdout
    trials = [p for p in (tmp_path / "exported_runs" / "small").glob("*/") if (p / "result.json").exists()]
    assert len(trials) == 2
    for trial in trials:
        results = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
        assert len(results) == 1 and results[0]["return_window"]["solved"] is True
        assert results[0]["return_window"]["return_episodes"] == 5
        assert results[0]["return_window"]["evaluation_mean"] >= 9


# RLlib's APPO iterates for at least 10 s and DQN samples at least 1000 steps per iteration: one iteration needs
# neither to show the algorithm runs (APPO's iteration still waits for 100 steps from its remote env runner; DQN
# still learns: it starts after 32 steps)
@pytest.mark.parametrize("algorithm,env,hyperparameters", [
    ("APPO", "CartPole-v1", {"train_batch_size": 128, "min_time_s_per_iteration": 1,
                             "min_sample_timesteps_per_iteration": 100}),
    ("DQN", "CartPole-v1", {"num_steps_sampled_before_learning_starts": 32,
                            "min_sample_timesteps_per_iteration": 100}),
    ("SAC", "Pendulum-v1", {"num_steps_sampled_before_learning_starts": 32}),
])
def test_one_iteration_of_each_algorithm(tmp_path, ray_session, algorithm, env, hyperparameters):
    data = {"schema_version": 1, "name": f"one-{algorithm.lower()}", "env": {"id": env}, "algorithm": algorithm,
            "hyperparameters": {**hyperparameters, "model_config": {"fcnet_hiddens": [16]}},
            "resources": {"env_runners": 1 if algorithm == "APPO" else 0},
            "stop": {"iterations": 1}, "checkpoint": {"every": 0, "at_end": True}}
    proc = run_cli("run", write_spec(tmp_path, data), "--storage", tmp_path / "runs", "--address",
                   ray_session.address, "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = only_folder(tmp_path / "runs")
    [rows] = results_by_trial(folder).values()
    assert [r["iteration"] for r in rows] == [1] and rows[0]["timesteps"] > 0
    assert any(e["event"] == "checkpoint_saved" for e in read_events(folder))


def test_a_trial_that_cannot_fit_the_session_is_refused_before_it_waits(tmp_path, ray_session):
    data = {**SMALL, "resources": {"env_runners": 4}}
    proc = run_cli("run", write_spec(tmp_path, data), "--storage", tmp_path / "runs", "--address",
                   ray_session.address, timeout=120)
    assert proc.returncode == 2
    assert "can never start" in proc.stderr


@pytest.mark.ray_waits
def test_an_unreachable_cluster_is_reported_within_15_seconds(tmp_path):
    started = time.monotonic()
    proc = run_cli("run", write_spec(tmp_path, SMALL), "--storage", tmp_path / "runs", "--address",
                   "127.0.0.1:9", timeout=60)
    assert time.monotonic() - started < 15 + 5  # + the runner's interpreter start
    assert proc.returncode != 0
    assert "no Ray cluster answers at 127.0.0.1:9" in proc.stderr
