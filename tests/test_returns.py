"""The return RL Studio decides on (mean of the last N finished episodes, confirmed by evaluation) and seeds per
configuration: real Ray, real RLlib, real Tune, checked through the event log."""

from collections import Counter

import pytest

from conftest import run_cli
from rlstudio.core.events import ExperimentState, read_events
from test_engine import SMALL, only_folder, write_spec

pytestmark = pytest.mark.ray


def test_one_lucky_episode_does_not_solve_a_trial(tmp_path, ray_session):
    """The env pays 100 on its first episode and 1 on every later one; the target is 50. RLlib's per-iteration
    mean is 100 in the first iteration (one episode ended): the old rule stopped there. RL Studio's window needs
    10 episodes, whose mean is then ~10, so the trial runs to its iteration limit, never evaluated, never solved."""
    spec = write_spec(tmp_path, {
        **SMALL, "name": "lucky", "env": {"entry_point": "envs:LuckyFirstEpisode", "kwargs": {}},
        "hyperparameters": {"train_batch_size": 10, "minibatch_size": 10, "num_epochs": 1,
                            "model_config": {"fcnet_hiddens": [8]}},
        "resources": {"env_runners": 0, "envs_per_runner": 1, "max_concurrent_trials": 1},
        "stop": {"iterations": 4, "episode_return_mean": 50, "return_window": 10, "confirm_episodes": 5},
    })
    proc = run_cli("run", spec, "--storage", tmp_path / "runs", "--address", ray_session.address, "--trust")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = read_events(only_folder(tmp_path / "runs"))
    results = [e for e in events if e["event"] == "trial_result"]
    first = results[0]
    assert first["episode_return_mean"] >= 50 and first["episode_returns"] == [100.0]  # the old rule's "solved"
    assert first["return_episodes"] == 1 and first["return_window_n"] == 10
    assert [r["iteration"] for r in results] == [1, 2, 3, 4]  # it was not stopped
    assert not [e for e in events if e["event"] == "trial_evaluated"]  # the window never reached the target
    last = results[-1]
    assert last["episodes_total"] == 4 and last["return_episodes"] == 4
    assert last["return_window"] == pytest.approx((100 + 3) / 4)
    [completed] = [e for e in events if e["event"] == "trial_completed"]
    assert completed["iteration"] == 4


def test_a_trial_that_reaches_the_target_is_confirmed_by_evaluation_before_it_stops(tmp_path, ray_session):
    """CartPole with a target any policy reaches (9): the window fills, the policy plays 5 seeded greedy episodes,
    and the trial stops as solved at that iteration with the evaluation in the log."""
    spec = write_spec(tmp_path, {
        **SMALL, "name": "confirm", "hyperparameters": {**SMALL["hyperparameters"], "lr": 0.001},
        "search": {"algorithm": "grid"},
        "stop": {"iterations": 5, "episode_return_mean": 9, "return_window": 5, "confirm_episodes": 5},
    })
    proc = run_cli("run", spec, "--storage", tmp_path / "runs", "--address", ray_session.address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = only_folder(tmp_path / "runs")
    events = read_events(folder)
    [evaluated] = [e for e in events if e["event"] == "trial_evaluated"]
    assert evaluated["episodes"] == 5 and len(evaluated["returns"]) == 5 and evaluated["success"] is True
    assert evaluated["return_mean"] == pytest.approx(sum(evaluated["returns"]) / 5)
    results = [e for e in events if e["event"] == "trial_result"]
    assert results[-1]["iteration"] == evaluated["iteration"] == 1  # solved and stopped right there
    state = ExperimentState.load(folder)
    [trial] = state.trials.values()
    assert trial.status == "completed" and trial.final_return == evaluated["return_mean"]
    finished = events[-1]
    assert finished["best_metric"] == pytest.approx(evaluated["return_mean"]) and finished["best_evaluated"]


def test_every_configuration_is_trained_with_each_seed_as_one_group(tmp_path, ray_session):
    spec = write_spec(tmp_path, {**SMALL, "name": "seeds", "search": {"algorithm": "grid", "seeds": 3},
                                 "stop": {"iterations": 2}, "checkpoint": {"every": 0, "at_end": False}})
    proc = run_cli("run", spec, "--storage", tmp_path / "runs", "--address", ray_session.address)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = only_folder(tmp_path / "runs")
    events = read_events(folder)
    assert events[0]["planned_trials"] == 6 and events[0]["seeds"] == 3
    started = [e for e in events if e["event"] == "trial_started"]
    assert len(started) == 6
    groups: dict[str, list] = {}
    for e in started:
        groups.setdefault(e["group"], []).append(e)
    assert len(groups) == 2
    for members in groups.values():
        assert sorted(e["seed"] for e in members) == [0, 1, 2]
        assert len({e["config"]["lr"] for e in members}) == 1  # one configuration per group
    assert sorted(members[0]["config"]["lr"] for members in groups.values()) == [0.0001, 0.001]
    state = ExperimentState.load(folder)
    assert Counter(t.group for t in state.trials.values()) == Counter({g: 3 for g in groups})
    # different seeds give different episodes
    first_returns = {(e["group"], e["seed"]): None for e in started}
    for e in events:
        if e["event"] == "trial_result":
            t = state.trials[e["trial_id"]]
            first_returns[(t.group, t.seed)] = tuple(e["episode_returns"])
    for g in groups:
        assert len({first_returns[(g, s)] for s in range(3)}) == 3
    # the groups' statistics, from the event log alone: what the report, the Compare view and the runner use
    from rlstudio.core import stats

    summaries = {s.group: s for s in stats.group_summaries(state.trials.values())}
    assert set(summaries) == set(groups)
    for gid, summary in summaries.items():
        members = [t for t in state.trials.values() if t.group == gid]
        finals = sorted(t.results[-1]["return_window"] for t in members)
        assert sorted(summary.finals) == pytest.approx(finals) and summary.runs == 3
        assert summary.iqm_ci[0] <= summary.iqm <= summary.iqm_ci[1]
        assert summary.min == pytest.approx(finals[0]) and summary.max == pytest.approx(finals[-1])
    comparison = stats.compare(list(summaries.values()))
    finished = events[-1]
    assert finished["event"] == "experiment_finished" and finished["best_group"] == comparison.best.group
    assert finished["best_group_runs"] == 3 and finished["best_group_iqm"] == pytest.approx(comparison.best.iqm)
    assert state.trials[finished["best_trial_id"]].group == comparison.best.group
    assert "not distinguishable with 3 seeds" in finished["verdict"]  # 3 against 3 runs never are
    curves = stats.group_curves(state.trials.values())
    assert len(curves) == 2
    for curve in curves:  # each band: the mean of the 3 seeds' curves where all three have a point
        full = curve.runs == 3
        assert full.any()
        assert (curve.low[full] <= curve.mean[full]).all() and (curve.mean[full] <= curve.high[full]).all()
