"""core.stats against hand-computed values: IQM, bootstrap intervals, probability of improvement, the comparison's
sentence, curves aligned with bands, and how trials are read."""

import math

import numpy as np
import pytest
import scipy.stats

from rlstudio.core import stats
from rlstudio.core.events import ExperimentState, TrialState


def trial(tid, config, results, group=None, seed=None, evaluation=None):
    t = TrialState(tid, dict(config), "completed")
    t.results = list(results)
    if group is not None:
        t.group, t.seed = group, seed
    if evaluation is not None:
        t.evaluations = [evaluation]
    return t


def test_iqm_cuts_a_quarter_at_each_end():
    assert stats.iqm([4, 1, 3, 2]) == 2.5  # middle two of 1 2 3 4
    assert stats.iqm(range(1, 9)) == 4.5  # 3 4 5 6
    assert stats.iqm([1, 2, 3, 4, 100]) == 3.0  # int(1.25) = 1 cut at each end
    assert stats.iqm([10, 1, 100]) == 37.0  # fewer than 4 runs: nothing cut, the mean
    rng = np.random.default_rng(1)
    for n in (2, 5, 7, 13, 64):
        x = rng.normal(size=(3, n))
        assert np.allclose(stats.iqm(x, axis=1), scipy.stats.trim_mean(x, 0.25, axis=1))


def test_probability_of_improvement_counts_pairs_and_half_ties():
    assert stats.probability_of_improvement([3, 4], [1, 2]) == 1.0
    assert stats.probability_of_improvement([1, 2], [3, 4]) == 0.0
    assert stats.probability_of_improvement([1, 2, 3], [2, 2]) == 0.5  # 0 0 .5 .5 1 1 over 6 pairs
    assert stats.probability_of_improvement([5, 6, 7], [4, 6]) == 0.75  # 1 0 1 .5 1 1 over 6 pairs
    x, y = [5.0, 6.0, 7.0, 1.0], [4.0, 6.0, 2.0]
    u = scipy.stats.mannwhitneyu(x, y, alternative="greater").statistic
    assert stats.probability_of_improvement(x, y) == pytest.approx(u / (len(x) * len(y)))


def test_bootstrap_interval_by_hand():
    # two runs 0 and 1: a resample's mean is 0, 0.5 or 1 with probability 1/4, 1/2, 1/4, so the 2.5 % and
    # 97.5 % percentiles are exactly 0 and 1
    assert stats.bootstrap_interval([0.0, 1.0], "mean") == (0.0, 1.0)
    assert stats.bootstrap_interval([3.0, 3.0, 3.0], "iqm") == (3.0, 3.0)
    assert stats.bootstrap_interval([7.0], "mean") is None  # one run says nothing about the spread
    x = np.random.default_rng(3).normal(100, 10, 20)
    low, high = stats.bootstrap_interval(x, "mean")
    assert low < x.mean() < high
    # the percentile bootstrap of the mean is close to the normal interval mean ± 1.96 sd/sqrt(n) for n = 20
    half = 1.96 * x.std() / math.sqrt(x.size)
    assert low == pytest.approx(x.mean() - half, abs=0.25 * half)
    assert high == pytest.approx(x.mean() + half, abs=0.25 * half)
    assert stats.bootstrap_interval(x, "mean") == (low, high)  # seeded: the same log gives the same numbers


def test_probability_of_improvement_interval():
    assert stats.probability_of_improvement_interval([10, 11, 12], [1, 2, 3]) == (1.0, 1.0)
    low, high = stats.probability_of_improvement_interval([1, 5, 9, 3], [2, 6, 8, 4])
    assert low < 0.5 < high
    assert stats.probability_of_improvement_interval([1], [2, 3]) is None


def test_group_summary_numbers():
    s = stats.summarize("g0", {"lr": 0.1}, ["a", "b", "c", "d", "e"], [0, 1, 2, 3, 4], [1, 2, 3, 4, None],
                        ["window"] * 4 + [None])
    assert s.runs == 4 and s.finals == [1, 2, 3, 4]
    assert (s.mean, s.iqm, s.min, s.max) == (2.5, 2.5, 1.0, 4.0)
    assert s.mean_ci[0] >= 1.0 and s.mean_ci[1] <= 4.0 and s.mean_ci[0] < 2.5 < s.mean_ci[1]
    assert s.iqm_ci[0] >= 1.0 and s.iqm_ci[1] <= 4.0
    empty = stats.summarize("g1", {}, ["x"], [None], [None], [None])
    assert empty.runs == 0 and empty.mean is None and empty.mean_ci is None


def test_best_by_iqm_is_not_best_by_mean():
    lucky = [trial(f"a{i}", {"lr": 1}, [{"return_window": v}], "g0", i) for i, v in enumerate([0, 10, 10, 1000])]
    steady = [trial(f"b{i}", {"lr": 2}, [{"return_window": 20}], "g1", i) for i in range(4)]
    summaries = stats.group_summaries(lucky + steady)
    assert [s.iqm for s in summaries] == [10.0, 20.0]
    assert stats.compare(summaries, "iqm").best.group == "g1"
    assert stats.compare(summaries, "mean").best.group == "g0"


def test_comparison_says_when_the_top_two_are_distinguishable():
    def groups(a, b):
        ts = [trial(f"a{i}", {"lr": 0.001}, [{"return_window": v}], "g0", i) for i, v in enumerate(a)]
        ts += [trial(f"b{i}", {"lr": 0.01}, [{"return_window": v}], "g1", i) for i, v in enumerate(b)]
        return stats.compare(stats.group_summaries(ts))

    clear = groups([10, 11, 12, 13], [0, 1, 2, 3])
    assert clear.best.group == "g0" and clear.poi == 1.0 and clear.poi_ci == (1.0, 1.0)
    assert clear.distinguishable and "clear with 4 seeds" in clear.sentence
    assert clear.sentence.startswith("Best configuration: lr=0.001 — IQM 11.5 (95 % CI ")

    close = groups([10, 0, 12, 5], [9, 1, 11, 4])
    assert close.poi == pytest.approx(9 / 16)  # 10>9,1,4; 0>none; 12>all 4; 5>1,4 -> 3+0+4+2 = 9 of 16
    assert not close.distinguishable
    assert "not distinguishable with 4 seeds; run more seeds" in close.sentence

    # complete separation with 3 seeds: P(X > Y) resamples to [1, 1] and the IQM intervals (bounded by the runs'
    # min and max) do not overlap, yet 3 against 3 runs order that way by chance 1 time in C(6, 3) = 20
    few = groups([10, 20, 30], [5, 8, 9.5])
    assert few.poi_ci == (1.0, 1.0) and few.best.iqm_ci[0] > few.runner_up.iqm_ci[1]
    assert not few.distinguishable
    assert "not distinguishable with 3 seeds: even if every run" in few.sentence
    assert groups([10, 20, 30], [5, 8, 9.5, 7, 6]).distinguishable  # 3 against 5: C(8, 3) = 56 > 40

    single = groups([10], [5])
    assert not single.distinguishable and "1 seed per configuration" in single.sentence
    assert single.poi == 1.0 and single.poi_ci is None

    alone = stats.compare(stats.group_summaries([trial("a", {"lr": 1}, [{"return_window": 3}])]))
    assert alone.runner_up is None and "only configuration" in alone.sentence
    assert "No trial has a final return" in stats.compare([]).sentence


def test_final_return_prefers_evaluation_then_window_then_iteration_mean():
    evaluated = trial("e", {}, [{"iteration": 3, "return_window": 400.0}],
                      evaluation={"iteration": 3, "return_mean": 480.0, "return_std": 3.0})
    assert stats.final_return(evaluated) == (480.0, "evaluation") and evaluated.final_return == 480.0
    # a confirmation that failed earlier is stale once the trial trained on
    stale = trial("s", {}, [{"iteration": 3, "return_window": 400.0}, {"iteration": 4, "return_window": 420.0}],
                  evaluation={"iteration": 3, "return_mean": 380.0})
    assert stats.final_return(stale) == (420.0, "window") and stale.final_return == 420.0
    # what the run's summary says of it ("evaluated" or not: runner._best, the Experiments list, the card)
    assert evaluated.final_evaluation["return_mean"] == 480.0 and stale.final_evaluation is None
    windowed = trial("w", {}, [{"return_window": None, "episode_return_mean": 9.0}, {"return_window": 5.0},
                               {"return_window": 7.0, "episode_return_mean": 500.0},
                               {"return_window": None, "episode_return_mean": 2.0}])
    assert stats.final_return(windowed) == (7.0, "window")  # never RLlib's mean of the last few episodes
    assert stats.final_return(trial("f", {}, [{"return_window": None, "episode_return_mean": 500.0}])) == (None, None)
    old = trial("o", {}, [{"episode_return_mean": 9.0}, {"episode_return_mean": float("nan")}, {}])
    assert stats.final_return(old) == (9.0, "iteration mean")
    assert stats.final_return(trial("n", {}, [])) == (None, None)


def test_groups_come_from_the_log_or_else_from_equal_configurations():
    recorded = [trial("a", {"lr": 1}, [], "g1", 0), trial("b", {"lr": 1}, [], "g1", 1), trial("c", {"lr": 2}, [], "g0", 0)]
    assert [(g, [t.trial_id for t in ts]) for g, _, ts in stats.group_trials(recorded)] == [("g1", ["a", "b"]),
                                                                                              ("g0", ["c"])]
    old = [trial("a", {"lr": 1, "g": 2}, []), trial("b", {"lr": 2}, []), trial("c", {"g": 2, "lr": 1}, [])]
    assert [[t.trial_id for t in ts] for _, _, ts in stats.group_trials(old)] == [["a", "c"], ["b"]]


def test_annotate_reads_the_new_fields_from_events():
    events = [{"event": "trial_started", "trial_id": "t1", "config": {"lr": 1}, "seed": 7, "group": "g3"},
              {"event": "trial_result", "trial_id": "t1", "iteration": 1, "return_window": 5.0},
              {"event": "trial_evaluated", "trial_id": "t1", "iteration": 1, "episodes": 2, "return_mean": 6.0,
               "return_std": 1.0, "returns": [5.0, 7.0], "success": True}]
    state = stats.annotate(ExperimentState.replay(events), events)
    t = state.trials["t1"]
    assert (stats.trial_group(t), stats.trial_seed(t)) == ("g3", 7)
    assert stats.final_return(t) == (6.0, "evaluation")
    assert stats.trial_evaluation(t)["returns"] == [5.0, 7.0]


def test_curves_are_interpolated_within_each_run_and_banded_by_t():
    runs = [(np.array([0.0, 10.0]), np.array([0.0, 10.0])), (np.array([0.0, 20.0]), np.array([10.0, 30.0]))]
    grid, values = stats.align_runs(runs, points=3)
    assert grid.tolist() == [0.0, 10.0, 20.0]
    assert np.array_equal(values, [[0.0, 10.0, np.nan], [10.0, 20.0, 30.0]], equal_nan=True)
    mean, low, high, n = stats.band(values)
    assert mean.tolist() == [5.0, 15.0, 30.0] and n.tolist() == [2, 2, 1]
    # at x = 0: runs 0 and 10, sd = sqrt(50), sem = 5, t(0.975, 1 df) = 12.706
    assert low[0] == pytest.approx(5.0 - 12.706 * 5.0) and high[0] == pytest.approx(5.0 + 12.706 * 5.0)
    assert math.isnan(low[2]) and math.isnan(high[2])  # one run: no band
    assert stats.t_quantile([2, 3, 30, 200]).tolist() == [4.303, 3.182, 2.042, 1.96]
    assert np.allclose(stats.t_quantile(np.arange(1, 31)), scipy.stats.t.ppf(0.975, np.arange(1, 31)), atol=1e-3)


def test_group_curves_use_the_windowed_return_when_the_log_has_it():
    ts = [trial("a", {"lr": 1}, [{"timesteps": 0, "return_window": None, "episode_return_mean": 50.0},
                                 {"timesteps": 100, "return_window": 1.0}, {"timesteps": 200, "return_window": 3.0}],
                "g0", 0),
          trial("b", {"lr": 1}, [{"timesteps": 100, "return_window": 3.0}, {"timesteps": 200, "return_window": 5.0}],
                "g0", 1)]
    assert stats.curve_metric(ts) == "return_window"
    (curve,) = stats.group_curves(ts, points=3)
    assert curve.x.tolist() == [100.0, 150.0, 200.0] and curve.mean.tolist() == [2.0, 3.0, 4.0]
    everything = stats.experiment_statistics(ts)
    assert everything.curve_metric == "return_window" and everything.summaries[0].finals == [3.0, 5.0]
