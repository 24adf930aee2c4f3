"""The learning curves' numbers and texts (``gui/panels/curves_data.py``), without Qt: incremental smoothing and
bounds equal to computing them at once, the legend entries, the hover read-out."""

import numpy as np

from rlstudio.core.events import TrialState
from rlstudio.gui.panels.curves_data import (HOVER_NEAREST, distance_to_polyline, episode_points, extend_bounds,
                                             extend_series, hover_text, legend_labels, log10_or_nan, return_label,
                                             series, smoothing_text, union_bounds)


def results(n, start=0):
    return [{"iteration": i + 1, "timesteps": 100.0 * (i + 1), "return_window": float((i * 7) % 13)}
            for i in range(start, n)]


def test_a_series_extended_in_pieces_equals_the_series_computed_at_once():
    everything = results(50)
    whole, x_all, y_all = extend_series(None, everything, "timesteps", "return_window", 0.6)
    cached = None
    for stop in (1, 2, 17, 17, 50):  # 17 twice: nothing new arrived
        cached, x_new, y_new = extend_series(cached, everything[:stop], "timesteps", "return_window", 0.6)
    assert cached[0] == 50 and len(x_new) == 33
    for got, want in zip(cached[1:], whole[1:]):
        assert np.allclose(got, want)
    assert np.array_equal(whole[1], x_all) and np.array_equal(whole[2], y_all)


def test_a_series_skips_results_without_both_values():
    x, y = series([{"timesteps": 1, "return_window": 2.0}, {"timesteps": 2}, {"timesteps": None, "return_window": 1},
                   {"timesteps": 3, "return_window": float("nan")}], "timesteps", "return_window")
    assert list(x) == [1.0] and list(y) == [2.0]


def test_bounds_grow_with_the_points_and_join_across_trials():
    b = extend_bounds(None, np.array([1.0, 2.0]), np.array([5.0, -1.0]))
    assert b == (1.0, 2.0, -1.0, 5.0)
    assert extend_bounds(b, np.empty(0), np.empty(0)) == b
    assert extend_bounds(b, np.array([3.0]), np.array([0.0])) == (1.0, 3.0, -1.0, 5.0)
    assert union_bounds([b, (0.0, 1.5, 2.0, 9.0)]) == (0.0, 2.0, -1.0, 9.0)


def test_episode_points_spread_each_iterations_episodes_and_continue_from_the_last_x():
    x, y, last = episode_points([{"timesteps": 100, "episode_returns": [1, 2]}, {"timesteps": 200},
                                 {"timesteps": 300, "episode_returns": [3]}], "timesteps")
    assert list(x) == [50.0, 100.0, 300.0] and list(y) == [1.0, 2.0, 3.0] and last == 300
    x, _y, last = episode_points([{"timesteps": 400, "episode_returns": [4]}], "timesteps", last)
    assert list(x) == [400.0] and last == 400


def test_log_axis_values_and_distance_to_a_polyline():
    assert np.array_equal(log10_or_nan(np.array([100.0, 0.0, -1.0])), [2.0, np.nan, np.nan], equal_nan=True)
    assert distance_to_polyline(np.array([-1.0, 1.0]), np.array([2.0, 2.0])) == 2.0
    assert distance_to_polyline(np.array([3.0]), np.array([4.0])) == 5.0
    assert distance_to_polyline(np.array([np.nan, np.nan]), np.array([1.0, 1.0])) == float("inf")


def test_legend_labels_name_the_differing_values_and_the_seed_when_seeds_are_grouped():
    a, b = TrialState("x_00000", {"lr": 1e-3, "gamma": 0.99}), TrialState("x_00001", {"lr": 1e-4, "gamma": 0.99})
    assert legend_labels([a, b]) == {"x_00000": "lr=1e-3 (00000)", "x_00001": "lr=1e-4 (00001)"}
    a.group, a.seed, b.group, b.seed = "g0", 0, "g1", 1
    assert legend_labels([a, b])["x_00001"] == "lr=1e-4 (00001, seed 1)"


def test_texts_of_the_smoothing_and_the_return_axis():
    assert smoothing_text(0).startswith("No smoothing")
    assert "exponential, 0.60" in smoothing_text(0.6)
    assert return_label(50) == "Return (mean of the last 50 episodes)"


def test_the_hover_read_out_gives_each_value_then_only_the_nearest_when_there_are_many():
    x = np.array([100.0, 200.0, 300.0])
    curves = [(f"t{i}", x, np.array([i, 10.0 * i, 100.0 * i])) for i in range(3)]
    assert hover_text("Timesteps", 150, 0, 0.6, curves) == (
        "Raw values at Timesteps ≈ 150 (curves smoothed 0.60) — t0: 0, t1: 10, t2: 20")
    assert hover_text("Timesteps", 1e9, 0, 0, curves[:1]).endswith("(no smoothing) — t0: 0")  # past the end: last
    many = [(f"t{i}", x, np.array([0.0, float(i), 0.0])) for i in range(10)]
    text = hover_text("Iteration", 200, 4.2, 0, many)
    assert text.endswith(f"t4: 4, t5: 5, t3: 3 (the {HOVER_NEAREST} nearest of 10 trials)")
