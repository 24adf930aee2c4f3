"""Every panel opens alone, on the application model (or the document it edits), without the main window or Ray:
`python -m rlstudio.gui.panels NAME --demo`."""

import subprocess
import sys

import pytest

from rlstudio.gui.panels.__main__ import PANELS, Demo, build_panel, demo_model, shutdown_panel

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("name", sorted(PANELS))
def test_each_panel_opens_alone_on_the_demo_model(qtbot, name):
    demo = Demo(demo_model())
    panel = build_panel(name, demo)
    qtbot.addWidget(panel)
    panel.resize(700, 450)
    panel.show()
    qtbot.waitExposed(panel)
    try:
        assert panel.isVisible() and panel.width() > 0
        if name == "trials":
            assert panel.model.rowCount() == 3  # the model's three trials, in its colours
        if name == "curves":
            assert len(panel.curve_items()) == 3  # a curve for each of the three trials
        if name == "run_log":
            from PySide6.QtWidgets import QPlainTextEdit

            assert "demo_00000" in panel.findChild(QPlainTextEdit).toPlainText()
    finally:
        shutdown_panel(panel)
        panel.close()
        demo.close()


def test_the_launcher_lists_the_panels_and_grabs_one_offscreen(tmp_path):
    listed = subprocess.run([sys.executable, "-m", "rlstudio.gui.panels", "--list"], capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0 and "curves" in listed.stdout and "editor" in listed.stdout
    out = tmp_path / "curves.png"
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}
    shot = subprocess.run([sys.executable, "-m", "rlstudio.gui.panels", "curves", "--demo", "--screenshot",
                           str(out), "--size", "640x400"], capture_output=True, text=True, timeout=120, env=env)
    assert shot.returncode == 0, shot.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (640, 400)


def test_a_recorded_event_log_is_replayed_into_a_panel(qtbot):
    """``--events``: the model is fed a real log as if it arrived live, and ends showing the whole run."""
    import json
    from pathlib import Path

    from rlstudio.core.events import ExperimentState
    from rlstudio.gui.panels.__main__ import replay_model

    log = Path(__file__).parent / "data" / "two_trials_stopped_resumed.jsonl"
    model, timer = replay_model(str(log))
    try:
        assert model.run_state is not None and not model.run_state.trials  # nothing yet: it arrives live
        qtbot.waitUntil(lambda: not timer.isActive(), timeout=10000)
        whole = ExperimentState()
        for line in log.read_text().splitlines():
            if line.strip():
                whole.apply(json.loads(line))
        assert set(model.run_state.trials) == set(whole.trials) and len(whole.trials) == 2
        assert {t: len(s.results) for t, s in model.run_state.trials.items()} == {
            t: len(s.results) for t, s in whole.trials.items()}
    finally:
        timer.stop()
