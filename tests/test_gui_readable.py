"""Issue 13 §6 and §9: charts a person can read, checked on the rendered widgets (legend texts, labels, where the
success label sits), and the pure helpers behind them."""

import numpy as np
import pytest

from rlstudio.core.events import ExperimentState, TrialState

pytestmark = pytest.mark.gui


def test_searched_values_read_short():
    from rlstudio.gui.panels.curves import label_keys, short_value, trial_label

    assert [short_value(v) for v in (0.001, 3e-4, 2.5e-05, 0.99, 256, 0.0, [64, 64], True)] == [
        "1e-3", "3e-4", "2.5e-5", "0.99", "256", "0", "[64,64]", "true"]
    configs = [{"lr": 1e-3, "gamma": 0.99}, {"lr": 1e-4, "gamma": 0.99}]
    assert label_keys(configs) == ["lr"]  # gamma is the same for both: it would only lengthen the legend
    assert label_keys(configs[:1]) == ["lr", "gamma"]
    assert trial_label("6611a_00001", configs[1], ["lr"]) == "lr=1e-4 (00001)"
    assert trial_label("6b4e4294", {"lr": 2e-3}, ["lr"], seed=1) == "lr=2e-3 (6b4e4294, seed 1)"
    assert trial_label("t1", {}, []) == "t1"


def three_trials_state():
    """Three learning rates; the first ends above CartPole's success line, its last raw value far below its
    smoothed curve."""
    state = ExperimentState(spec={"env": {"id": "CartPole-v1"}})
    for t, lr in enumerate((1e-3, 3e-4, 1e-4)):
        trial = TrialState(f"abc12_{t:05d}", {"lr": lr, "gamma": 0.99}, "running")
        trial.results = [{"iteration": i + 1, "timesteps": (i + 1) * 1000,
                          "return_window": min(500.0, 10.0 + i * (30 - 10 * t))} for i in range(30)]
        state.trials[trial.trial_id] = trial
    state.trials["abc12_00000"].results[-1]["return_window"] = 120.0  # a collapse the smoothing would hide
    return state


def shown_curves(qtbot, state, width=640, height=380):
    from rlstudio.gui.panels.curves import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.resize(width, height)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_state(state)
    panel.grab()
    return panel


def test_curves_legend_marks_readout_and_success_label_as_rendered(qtbot):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    from rlstudio.gui.panels.curves import AXIS_TEXT, RIGHT_MARGIN

    panel = shown_curves(qtbot, three_trials_state())
    assert panel.legend_texts() == ["lr=1e-3 (00000)", "lr=3e-4 (00001)", "lr=1e-4 (00002)"]
    # the last raw value is marked where it is, not where the smoothed curve ends
    xs, ys = panel.last_marks.points()
    assert list(xs) == [30000, 30000, 30000] and ys[0] == 120.0
    smoothed_end = panel.curve_items()["abc12_00000"][1].yData[-1]
    assert smoothed_end > 300 and panel.last_marks.isVisible()
    # and it is drawn there, in the trial's colour
    scene = panel.plot.getPlotItem().vb.mapViewToScene(QPointF(30000, 120.0))
    at = panel.plot.mapFromScene(scene)
    pixel = panel.plot.grab().toImage().pixelColor(at.x(), at.y())
    assert abs(pixel.red() - 0x1f) < 40 and abs(pixel.green() - 0x77) < 40 and abs(pixel.blue() - 0xb4) < 40, pixel
    # the read-out says the curves are smoothed and how much, before and while hovering
    assert "smoothed (exponential, 0.60)" in panel.readout.text().lower()
    panel.plot.scene().sigMouseMoved.emit(panel.plot.getPlotItem().vb.mapViewToScene(QPointF(30000, 100)))
    assert panel.readout.text().startswith("Raw values at Timesteps ≈ 3e+04 (curves smoothed 0.60) — abc12_00000: 120")
    panel.smoothing.setValue(0)
    assert panel.smoothing_label.text() == "Smoothing 0.00" and "No smoothing" in panel.readout.text()
    panel.smoothing.setValue(60)
    # the success label is drawn inside the plot, right-aligned, clear of the legend
    label = panel.threshold_line.label
    assert panel.threshold_line.isVisible() and label.isVisible() and label.toPlainText() == "success"
    view = panel.plot.getPlotItem().getViewBox().sceneBoundingRect()
    box = label.sceneBoundingRect()
    assert view.contains(box), (view, box)
    assert not box.intersects(panel.legend.sceneBoundingRect())
    assert box.right() > view.center().x()
    # a right margin, and dark axis text on the white background
    assert view.right() <= panel.plot.width() - RIGHT_MARGIN + 1
    assert panel.plot.getAxis("bottom").textPen().color() == QColor(AXIS_TEXT)
    assert panel.plot.getAxis("left").labelStyle.get("color") == AXIS_TEXT


def test_success_label_goes_above_the_line_when_the_line_is_low(qtbot):
    state = three_trials_state()
    for trial in state.trials.values():
        for r in trial.results:
            r["return_window"] = 1000 + r["return_window"]  # all far above 475: the line sits at the bottom
    panel = shown_curves(qtbot, state)
    view = panel.plot.getPlotItem().getViewBox()
    view.setRange(yRange=(400, 1600), padding=0)
    panel.threshold_line.place_label(view.viewRange()[1])
    panel.grab()
    assert panel.threshold_line.label.anchors[0] == (1, 1)
    assert view.sceneBoundingRect().contains(panel.threshold_line.label.sceneBoundingRect())
    # the line just above the view (a run that never got near success): no label cut at the top edge
    view.setRange(yRange=(0, 470), padding=0)
    panel.threshold_line.place_label(view.viewRange()[1])
    assert not panel.threshold_line.label.isVisible()
    view.setRange(yRange=(0, 600), padding=0)
    panel.threshold_line.place_label(view.viewRange()[1])
    assert panel.threshold_line.label.isVisible()


def fake_controller(*signals):
    """A controller with the panel's signals that never starts anything (these tests only show results)."""
    from PySide6.QtCore import QObject, Signal

    attrs = {name: Signal(*types) for name, types in signals}
    attrs.update(running=False, cancel=lambda self: None, shutdown=lambda self: None)
    return type("FakeController", (QObject,), attrs)()


def test_evaluation_histogram_has_a_legend_and_axis_labels(qtbot):
    from rlstudio.gui.panels.evaluation import EvaluationWidget

    widget = EvaluationWidget(controller=fake_controller(("progressed", (int, int)), ("finished", (dict,)),
                                                          ("failed", (str,))))
    qtbot.addWidget(widget)
    widget.resize(480, 360)
    widget.show()
    returns = [400.0, 450.0, 500.0, 480.0]
    widget.show_result({"mean_return": 457.5, "std_return": 38.0, "episodes": 4, "mean_length": 450.0,
                        "returns": returns, "threshold": 475.0, "success_rate": 0.5})
    widget.grab()
    assert widget.legend_texts() == ["episodes per return (4 in all)", "mean return 457.5", "success threshold 475"]
    assert widget.legend.isVisible() and widget.mean_line.value() == 457.5
    assert widget.plot.getAxis("bottom").labelText == "return of an episode"
    assert widget.plot.getAxis("left").labelText == "episodes"
    # the legend sits in the head room above the tallest bar
    assert widget.plot.getPlotItem().getViewBox().viewRange()[1][1] >= 1.8 * 2
    widget.show_result(None)
    assert not widget.legend.isVisible()


def compress_row(name, steps, latency, onnx=None, dtype="float32"):
    return {"name": name, "steps": steps, "params": 100, "nonzero_params": 90, "dtype": dtype, "size_bytes": 2048,
            "onnx_bytes": 1024 if onnx else None, "onnx_ok": True if onnx else None, "onnx_max_abs_diff": 1e-7,
            "latency_us": latency, "latency_onnx_us": onnx, "mean_return": 480.0, "std_return": 1.0,
            "success_rate": 1.0, "returns": [480.0]}


def test_int8_note_compares_each_int8_variant_with_the_same_network_in_float():
    from rlstudio.gui.panels.compress import int8_note

    rows = [compress_row("original (RLlib module)", [], 170.0), compress_row("policy net", [], 30.0, 9.0),
            compress_row("student 8", ["student 8"], 29.0, 8.5),
            compress_row("int8", ["int8"], 52.0, dtype="int8 linear weights"),
            compress_row("student 8 + int8", ["student 8", "int8"], 20.0, dtype="int8 linear weights")]
    note = int8_note(rows)
    assert note.startswith("int8 is slower than float32 at this size (int8 52 µs vs policy net 30 µs)")
    rows[3]["latency_us"] = 25.0
    assert int8_note(rows) is None  # faster: nothing to explain


def test_compress_charts_name_the_variants_and_say_what_the_colours_are(qtbot):
    from rlstudio.gui.panels.compress import CompressPanel

    panel = CompressPanel(controller=fake_controller(
        ("progressed", (str, float)), ("loss_reported", (int, int, float)), ("variant_evaluated", (dict,)),
        ("finished", (dict,)), ("failed", (str,)), ("cancelled", ())))
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    rows = [compress_row("original (RLlib module)", [], 170.0), compress_row("policy net", [], 30.0, 9.0),
            compress_row("int8", ["int8"], 52.0, dtype="int8 linear weights")]
    panel.show_report({"rows": rows, "distill_losses": []})
    panel.grab()
    names = panel.return_plot.getAxis("left")
    assert [t for _, t in names._tickLevels[0]] == ["original (RLlib module)", "policy net", "int8"]
    assert names.width() > panel.fontMetrics().horizontalAdvance("original (RLlib module)")  # not cut
    title = panel.latency_plot.getPlotItem().titleLabel.text
    assert "torch" in title and "ONNX Runtime" in title and "#1f77b4" in title and "#ff7f0e" in title
    assert panel.latency_plot.getAxis("bottom").labelText == "latency, µs per action"
    assert panel.int8_note.isVisible() and "int8 52 µs vs policy net 30 µs" in panel.int8_note.text()
    # the longest bar ends inside the view
    assert panel.latency_plot.getPlotItem().getViewBox().viewRange()[0][1] >= 170.0


def test_parallel_coordinates_draw_the_best_trial_in_red_on_top(qtbot):
    from PySide6.QtGui import QColor

    from rlstudio.gui.panels.results import PC_BEST, ParallelCoordinates

    state = ExperimentState(spec={"env": {"id": "CartPole-v1"}})
    for i, lr in enumerate((1e-3, 3e-4, 1e-4)):
        trial = TrialState(f"x_{i:05d}", {"lr": lr}, "completed")
        trial.results = [{"iteration": 1, "timesteps": 1000, "return_window": 100.0 + 100 * i}]
        state.trials[trial.trial_id] = trial
    view = ParallelCoordinates()
    qtbot.addWidget(view)
    view.show()
    view.set_state(state)
    view.grab()
    best = view.lines["x_00002"]
    assert view.best == "x_00002" and best.opts["pen"].color() == QColor(PC_BEST) and best.zValue() == 10
    for tid in ("x_00000", "x_00001"):  # no line is lighter than a pale blue: all visible on white
        color = view.lines[tid].opts["pen"].color()
        assert color.lightness() < 200 and color != QColor(PC_BEST)


def test_cluster_panel_reads_this_computers_memory_and_cpu_load(qtbot, monkeypatch):
    from collections import namedtuple

    from rlstudio.core import hostload
    from rlstudio.gui.panels.cluster import ClusterPanel

    Memory = namedtuple("Memory", "total available")
    Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest")
    assert hostload.memory(lambda: Memory(8 * 2**30, 6 * 2**30)) == (2 * 2**30, 8 * 2**30)
    times = [Times(100, 0, 100, 800, 0, 0, 0, 0, 50)]
    load = hostload.CpuLoad(lambda: times[-1], cores=2)
    assert load.sample() is None
    times.append(Times(250, 0, 100, 850, 0, 0, 0, 0, 80))  # 150 busy of 200 (guest time is inside user)
    assert load.sample() == pytest.approx(1.5)

    cpu_load, original = hostload.CpuLoad, hostload.memory
    monkeypatch.setattr(hostload, "CpuLoad", lambda: cpu_load(lambda: times[-1], cores=2))  # the panel's meter
    monkeypatch.setattr(hostload, "memory", lambda read=None: original(lambda: Memory(8 * 2**30, 6 * 2**30)))
    panel = ClusterPanel()
    qtbot.addWidget(panel)
    panel.update_host()  # the first sample only starts the count
    assert panel.bars["host_cpu"].text() == "measuring…"
    times.append(Times(450, 0, 100, 850, 0, 0, 0, 0, 80))  # 200 busy of 200: both cores
    panel.update_host()
    assert panel.bars["host_cpu"].text() == "2.0 of 2 cores busy"
    assert panel.bars["host_memory"].text() == "2.0 GiB of 8.0 GiB"
    panel.show()
    panel.set_final_training(True, 0)
    assert panel.final_training.isVisible() and "1 CPU for its learner" in panel.final_training.text()
    panel.set_final_training(False)
    assert not panel.final_training.isVisible()


def test_the_trials_table_has_the_room_until_a_trial_is_selected(qtbot):
    """The details pane (what went wrong, a trial's hyperparameters) is shown once a trial is selected, not as an
    empty half of the Trials dock during a run; another experiment hides it again."""
    from rlstudio.gui.panels.trials import TrialsPanel

    panel = TrialsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 300)
    panel.show()
    state = three_trials_state()
    panel.set_state(state)
    assert not panel.details.isVisible()
    panel.select("abc12_00001")
    assert panel.details.isVisible() and "lr = 0.0003" in panel.details.toPlainText()
    panel.set_state(ExperimentState(spec={"env": {"id": "CartPole-v1"}}))
    assert not panel.details.isVisible()


def test_a_scrolled_panel_keeps_the_height_its_wrapped_text_needs(qtbot):
    """The Results dock scrolls (a 720-line projector): with a verdict wrapped over several lines above it, the
    best-trial card's Configuration box keeps its full height at any width instead of being cut in half."""
    from PySide6.QtWidgets import QLabel, QTabWidget

    from rlstudio.gui.panels.results import BestTrialCard
    from rlstudio.gui.views import WrappingScrollArea

    card = BestTrialCard()
    tabs = QTabWidget()
    tabs.addTab(card, "Best trial")
    area = WrappingScrollArea(tabs)
    qtbot.addWidget(area)
    card.config_form.addRow("lr:", QLabel("0.002"))
    card.verdict_label.setText("Best configuration: lr=0.002 — IQM 400.3 (95 % CI 200.8 to 500) over 3 runs. "
                               "Probability that it beats the runner-up (lr=0.001, IQM 285.2): 0.67. The top two "
                               "are not distinguishable with 3 seeds; run more seeds.")
    card.verdict_label.show()
    area.show()
    needed = card.config_box.minimumSizeHint().height()
    for width in (1300, 500, 1300):
        area.resize(width, 190)
        qtbot.waitUntil(lambda: card.height() >= card.heightForWidth(card.width()), timeout=2000)
        assert card.config_box.height() >= needed, width
