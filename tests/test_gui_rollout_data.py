"""The rollout view's decisions (``gui/panels/rollout_data.py``) without Qt or a player, and its controls and
frame view without a player process (the panel's end-to-end tests, with Ray, are in test_gui_rollout.py)."""

import pytest

from rlstudio.core.events import ExperimentState, TrialState
from rlstudio.gui.panels.rollout_data import (RANDOM_TEXT, caption_text, newest_checkpoints, overlay_text,
                                              trial_to_follow)


def test_each_trial_plays_its_newest_checkpoint_and_follow_best_falls_back_to_the_first_trial():
    state = ExperimentState()
    assert trial_to_follow(state) is None
    a, b = TrialState("a"), TrialState("b")
    b.checkpoints = [{"path": "/b/1", "iteration": 1}, {"path": "/b/2", "iteration": 2, "timesteps": 2000}]
    state.trials.update(a=a, b=b)
    assert newest_checkpoints(state) == {"b": {"path": "/b/2", "iteration": 2, "timesteps": 2000}}
    assert trial_to_follow(state) == "a"  # no result yet: the first trial
    b.results = [{"iteration": 1, "return_window": 10.0}]
    assert trial_to_follow(state) == "b"


def test_the_caption_says_which_policy_plays_and_whether_it_follows_the_best():
    policy = {"text": "trial b, iteration 2 (checkpoint_2)"}
    assert caption_text({"random": True}, None, True, None) == f"Playing: {RANDOM_TEXT}"
    assert caption_text({"random": True}, "b", True, None) == f"Playing: trial b: {RANDOM_TEXT} — best trial"
    assert caption_text(policy, "b", True, None) == ("Playing: trial b, iteration 2 (checkpoint_2) — its newest "
                                                     "checkpoint — best trial")
    assert caption_text(policy, "b", False, "final model (12 iterations)") == (
        "Playing: final model (12 iterations) — picked on the Best trial card")


def test_the_overlay_is_shorter_in_a_small_view():
    info = {"episode": 3, "step": 41, "return": 40.6}
    assert overlay_text(info, small=False) == "episode 3   step 41   return 40.6"
    assert overlay_text(info, small=True) == "ep 3 · 41 · 41"
    assert overlay_text({"episode": 1, "step": 0, "return": None}, small=True) == "ep 1 · 0 · 0"


@pytest.mark.gui
def test_the_controls_act_on_the_panel_without_a_player(qtbot):
    """No environment is set, so no player process starts: the controls' wiring and the frame view alone."""
    from PySide6.QtGui import QColor, QImage

    from rlstudio.gui.panels.rollout import RolloutPanel

    panel = RolloutPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 500)
    panel.show()
    panel.step_button.click()  # stepping pauses
    assert not panel.play_button.isChecked() and panel.play_button.text() == "Play"
    panel.play_button.setChecked(True)
    assert panel.play_button.text() == "Pause"
    panel.show_trial("t1")
    assert not panel.best_button.isChecked() and panel.shown_trial == "t1"
    panel.best_button.click()
    assert panel.best_button.isChecked() and panel.selected is None
    image = QImage(60, 40, QImage.Format.Format_RGB32)
    image.fill(QColor("#d62728"))
    panel.view.set_frame(image, {"episode": 1, "step": 2, "return": 3.0})
    assert panel.view.frames_shown == 1 and not panel.controller.running
    shown = panel.view.grab().toImage()
    center = shown.pixelColor(shown.width() // 2, shown.height() // 2)
    assert (center.red(), center.green(), center.blue()) == (0xd6, 0x27, 0x28)
    panel.shutdown()
