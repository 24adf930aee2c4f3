"""The rollout panel and the evaluation widget, on checkpoints trained in the test session (pytest-qt)."""

import pytest

from rlstudio.core.events import ExperimentState
from rollout_helpers import checkpoints, trained_experiment

pytestmark = [pytest.mark.gui, pytest.mark.ray]


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, ray_session):
    return trained_experiment(tmp_path_factory, ray_session)


@pytest.fixture
def panel(qtbot):
    from rlstudio.gui.panels.rollout import RolloutPanel

    panel = RolloutPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    yield panel
    panel.shutdown()  # returns at once; the player ends within its grace time
    qtbot.waitUntil(lambda: not panel.controller.running, timeout=10000)


def test_frames_appear_and_play_pause_step_act(qtbot, panel, experiment):
    state = ExperimentState.load(experiment)
    panel.set_state(state)
    best = state.best_trial().trial_id
    qtbot.waitUntil(lambda: panel.playing_info.get("trial_id") == best, timeout=60000)
    assert "iteration 2" in panel.caption.text() and "best trial" in panel.caption.text()
    qtbot.waitUntil(lambda: panel.view.frames_shown > 10 and not panel.view.info.get("random"), timeout=10000)
    assert panel.view.image.width() == 600 and panel.view.image.height() == 400
    assert panel.small_views == {}  # nothing is running any more: no grid

    panel.play_button.setChecked(False)  # pause
    qtbot.wait(300)
    paused_at = panel.view.frames_shown
    qtbot.wait(500)
    assert panel.view.frames_shown == paused_at
    info = dict(panel.view.info)
    panel.step_button.click()
    qtbot.waitUntil(lambda: panel.view.frames_shown == paused_at + 1, timeout=5000)
    assert (panel.view.info["episode"], panel.view.info["step"]) in (
        (info["episode"], info["step"] + 1), (info["episode"] + 1, 0))
    stepped = dict(panel.view.info)
    panel.next_button.click()
    qtbot.waitUntil(lambda: panel.view.info["episode"] == stepped["episode"] + 1, timeout=5000)
    assert panel.view.info["step"] == 0
    panel.play_button.setChecked(True)
    qtbot.waitUntil(lambda: panel.view.frames_shown > paused_at + 20, timeout=5000)
    panel.fps_box.setValue(10)  # speed reaches the player
    qtbot.wait(400)
    start = panel.view.frames_shown
    qtbot.wait(1000)
    assert 5 <= panel.view.frames_shown - start <= 15


def test_switching_trials_switches_policies_and_grid_views_enlarge_on_click(qtbot, panel, experiment):
    from PySide6.QtCore import Qt

    state = ExperimentState.load(experiment)
    ckpts = checkpoints(experiment)
    best = state.best_trial().trial_id
    other = next(t for t in ckpts if t != best)
    panel.set_state(state)
    qtbot.waitUntil(lambda: panel.playing_info.get("trial_id") == best, timeout=60000)

    panel.show_trial(other)
    qtbot.waitUntil(lambda: panel.playing_info.get("trial_id") == other, timeout=10000)
    assert panel.playing_info["checkpoint"] == ckpts[other][-1]["path"]
    assert "best trial" not in panel.caption.text() and not panel.best_button.isChecked()

    panel.set_running_trials(sorted(ckpts))  # as while training: one small live view per running trial
    qtbot.waitUntil(lambda: len(panel.small_views) == 2
                    and all(v.frames_shown > 2 for v in panel.small_views.values()), timeout=20000)
    small = panel.small_views[best]
    assert small.image.width() == 150  # downscaled in the player, not here
    with qtbot.waitSignal(panel.trial_clicked) as clicked:
        qtbot.mouseClick(small, Qt.MouseButton.LeftButton)
    assert clicked.args == [best]
    qtbot.waitUntil(lambda: panel.playing_info.get("trial_id") == best, timeout=10000)
    assert small.highlighted and not panel.small_views[other].highlighted

    panel.best_button.click()  # back to following the best: it stays on the best trial
    assert panel.selected is None and panel.shown_trial == best

    # a checkpoint that cannot be used: a message, and the previous policy keeps playing
    panel.on_checkpoint(best, str(experiment / "no-such-checkpoint"), 3, 3072)
    qtbot.waitUntil(lambda: "checkpoint not found" in panel.message.text(), timeout=10000)
    shown = panel.view.frames_shown
    qtbot.waitUntil(lambda: panel.view.frames_shown > shown + 5, timeout=5000)
    assert panel.playing_info["checkpoint"] == ckpts[best][-1]["path"]


def test_a_recording_decodes_with_the_expected_frame_count(qtbot, panel, tmp_path):
    import imageio_ffmpeg

    panel.set_env({"id": "CartPole-v1"})
    qtbot.waitUntil(lambda: panel.view.frames_shown > 0, timeout=30000)
    assert "no checkpoint yet" in panel.caption.text() and panel.view.info["random"]
    panel.play_button.setChecked(False)
    qtbot.wait(200)
    path = tmp_path / "clip.mp4"
    panel.start_recording(path)
    for i in range(12):
        shown = panel.view.frames_shown
        panel.step_button.click()
        qtbot.waitUntil(lambda: panel.view.frames_shown == shown + 1, timeout=15000)
    with qtbot.waitSignal(panel.recording_saved, timeout=30000) as saved:
        panel.stop_recording()
    assert saved.args == [str(path), 12]
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 12  # ffmpeg decodes every frame
    assert "Saved 12 frames" in panel.message.text()


def test_an_environment_that_cannot_render_is_told_in_the_panel(qtbot, panel):
    panel.set_env({"entry_point": "rollout_envs:NoPictures"})
    qtbot.waitUntil(lambda: "cannot show pictures" in panel.message.text(), timeout=30000)
    assert panel.message.isVisible()


def test_evaluation_numbers_equal_a_direct_computation_over_the_same_seeds(qtbot, experiment):
    from rlstudio.core.envs import make_env
    from rlstudio.engine.policy import evaluate, load_policy
    from rlstudio.core.folder import load_evaluations
    from rlstudio.gui.panels.evaluation import EvaluationWidget

    best = ExperimentState.load(experiment).best_trial().trial_id
    checkpoint = checkpoints(experiment)[best][-1]["path"]
    widget = EvaluationWidget()
    qtbot.addWidget(widget)
    widget.show()
    progress = []
    widget.controller.progressed.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(widget.evaluated, timeout=120000) as done:
        widget.evaluate(checkpoint, episodes=5)
        assert widget.cancel_button.isVisible()
    result = done.args[0]

    env = make_env("CartPole-v1", None, {})
    direct = evaluate(load_policy(checkpoint, env.action_space), env, episodes=5, seed=0, threshold=475.0)
    env.close()
    assert result["returns"] == direct.returns and result["lengths"] == direct.lengths
    assert result["mean_return"] == pytest.approx(direct.mean_return)
    assert result["std_return"] == pytest.approx(direct.std_return)
    assert result["mean_length"] == pytest.approx(direct.mean_length)
    assert result["success_rate"] == direct.success_rate and result["threshold"] == 475.0
    assert result["trial_id"] == best and result["iteration"] == 2
    assert progress[-1] == (5, 5)

    stored = load_evaluations(experiment, checkpoint)
    # one record: the evaluation panel and the results panel (the replayed event log) read the same event
    assert stored and stored[-1]["returns"] == direct.returns and result["stored"].endswith("events.jsonl")
    assert ExperimentState.load(experiment).evaluations[-1]["returns"] == direct.returns
    widget.show_result(None)
    assert widget.show_latest(experiment)["returns"] == direct.returns
    heights = widget.bars.opts["height"]
    assert sum(heights) == 5 and f"{direct.mean_return:.1f}" in widget.numbers.text()
    assert not widget.cancel_button.isVisible()


def test_a_cancelled_evaluation_stores_nothing_and_a_missing_checkpoint_fails_plainly(qtbot, tmp_path):
    from rlstudio.gui.panels.evaluation import EvaluationWidget

    widget = EvaluationWidget()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.failed, timeout=60000) as failed:
        widget.evaluate(str(tmp_path / "nope"), 3)
    assert "checkpoint not found" in failed.args[0] and "failed" in widget.numbers.text()
    widget.evaluate(str(tmp_path / "nope"), 3)
    widget.cancel()
    assert not widget.controller.running and widget.run_button.isEnabled()
