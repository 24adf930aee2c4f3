"""The rollout view: the policy playing its environment, live, while Tune trains.

A big view plays the best trial's newest checkpoint (or the trial the user picks); a grid of small views plays
one per running trial, and clicking one enlarges it. Before a trial's first checkpoint its view plays a random
policy and says so. Playing happens in a helper process (:class:`rlstudio.gui.bridge.RolloutController`): this
panel only sends intents and paints the frames it is given, with the overlay (episode, step, return) drawn here.

Public API (for the main window):

* ``set_state(state)`` — feed it :class:`~rlstudio.core.events.ExperimentState` (connect
  ``RunController.progressed`` to it): the env, each trial's newest checkpoint, the best trial and the running
  trials are all read from it.
* ``follow_experiment(folder)`` — the same, read from an experiment folder and followed while it is written
  (for a panel used alone, or an experiment opened from disk).
* ``show_trial(trial_id)`` — play that trial in the big view (connect the trials table's ``trial_selected`` and
  the curves' ``trial_clicked``); ``follow_best()`` — back to following the best trial (the default).
* ``on_checkpoint(trial_id, path, iteration=None, timesteps=None)`` and ``set_running_trials([...])`` — for a
  caller that does not have an ExperimentState.
* ``set_env({"id", "entry_point", "kwargs"})`` — the environment to play (set by the two above).
* ``start_recording(path)`` / ``stop_recording()`` — what the Record button does, without its file dialog.
* ``shutdown()`` — end the helper process (call when the window closes).
* Signals: ``trial_clicked(trial_id)`` (a small view was clicked: sync the table/curves selection),
  ``recording_saved(path, frames)``.

Beside it: ``rollout_frames`` (one painted view), ``rollout_controls`` (the controls' widgets and help texts) and
``rollout_data`` (which checkpoint plays, the caption and overlay texts; no Qt). What stays here (~430 lines) is one
widget's wiring — the API above, keeping the player's views in line with what should be shown, and the player's
signals — which share the same few fields (the views asked of the player, what each plays) and read best together.

Run alone:  python -m rlstudio.gui.panels.rollout --demo EXPERIMENT_FOLDER
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QGridLayout, QLabel, QVBoxLayout, QWidget

from rlstudio.gui.bridge import RolloutController
from rlstudio.gui.panels.rollout_data import (GRID_FPS, GRID_MAX, GRID_PREFIX, GRID_WIDTH, MAIN, RANDOM_TEXT,
                                              caption_text, newest_checkpoints, trial_to_follow)
from rlstudio.gui.panels.rollout_controls import PlaybackControls
from rlstudio.gui.panels.rollout_frames import FrameView

class RolloutPanel(QWidget):
    trial_clicked = Signal(str)
    recording_saved = Signal(str, int)

    def __init__(self, parent: QWidget | None = None, controller: RolloutController | None = None, model=None):
        """``model``: the application model (rlstudio.core.appmodel) to follow; without one, call set_state."""
        super().__init__(parent)
        if model is not None:
            model.run_changed.connect(self.set_state)
        self.controller = controller or RolloutController(self)
        c = self.controller
        c.frame_received.connect(self._on_controller_frame_received)
        c.policy_changed.connect(self._on_controller_policy_changed)
        c.status_reported.connect(self._on_controller_status_reported)
        c.error_reported.connect(self._on_controller_error_reported)
        c.recording_saved.connect(self._on_controller_recording_saved)
        c.process_ended.connect(self._on_controller_process_ended)

        self.view = FrameView()
        self.view.placeholder = "Start an experiment, or open one, to see its policy play here."
        self.caption = QLabel(RANDOM_TEXT)
        self.caption.setWordWrap(True)
        self.caption.setToolTip("Which policy the big view is playing: the trial, and the training iteration and "
                                "timesteps of the checkpoint it was loaded from.")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        # the controls' widgets and help texts are PlaybackControls'; what they do is here
        self.controls = PlaybackControls()
        pc = self.controls
        self.play_button, self.step_button, self.next_button, self.fps_box = (pc.play_button, pc.step_button,
                                                                              pc.next_button, pc.fps_box)
        self.mode_box, self.record_button, self.stop_record_button, self.best_button = (
            pc.mode_box, pc.record_button, pc.stop_record_button, pc.best_button)
        self.play_button.toggled.connect(self._on_play_button_toggled)
        self.step_button.clicked.connect(self._on_step_button_clicked)
        self.fps_box.valueChanged.connect(self._on_fps_box_value_changed)
        self.mode_box.currentIndexChanged.connect(self._on_mode_box_changed)
        self.next_button.clicked.connect(self._on_next_button_clicked)
        pc.record_chosen.connect(self._on_record_chosen)
        self.stop_record_button.clicked.connect(self.stop_recording)
        self.best_button.clicked.connect(self._on_best_button_clicked)
        self.grid_label = QLabel("Running trials — click one to play it above")
        self.grid_label.setVisible(False)
        self.grid = QWidget()
        self.grid_layout = QGridLayout(self.grid)
        self.grid_layout.setContentsMargins(0, 0, 0, 0)
        self.grid_layout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.message)
        layout.addWidget(self.controls)
        layout.addWidget(self.grid_label)
        layout.addWidget(self.grid)

        self.env: dict | None = None
        self.checkpoints: dict[str, dict] = {}  # trial -> newest {path, iteration, timesteps}
        self.best: str | None = None
        self.selected: str | None = None  # None: follow the best trial
        #: a model picked by name (the best-trial card's Watch): the big view plays exactly it, not the trial's
        #: newest checkpoint, until another trial or "best" is chosen
        self.pinned = None  # core.models.ModelChoice | None
        self.running: list[str] = []
        #: the grid of small views, one per running trial (demo mode turns it off: one big view, fewer frames)
        self.grid_shown = True
        self.small_views: dict[str, FrameView] = {}
        self.playing_info: dict = {}
        self.recording: str | None = None
        self._requested: dict[str, tuple] = {}  # view -> (trial, checkpoint path) asked of the process
        self._opened: set[str] = set()
        self._env_failed = False
        self._follower = None  # EventLogFollower of follow_experiment()
        self._tail_timer = QTimer(self)
        self._tail_timer.setInterval(1000)
        self._tail_timer.timeout.connect(self._on_tail_timer_timeout)

    # ---- public API ------------------------------------------------------------------------------------

    @property
    def shown_trial(self) -> str | None:
        return self.selected or self.best

    def set_env(self, env: dict | None) -> None:
        env = {k: env.get(k) for k in ("id", "entry_point", "kwargs") if env.get(k)} if env else None
        if env == self.env:
            return
        self.env = env
        self._env_failed = False
        for view in list(self._opened):
            self.controller.close_view(view)
        self._opened.clear()
        self._requested.clear()
        for view in list(self.small_views.values()):
            view.deleteLater()
        self.small_views.clear()
        self.view.clear("Starting the player…" if env else "No environment to play.")
        self._refresh()

    def set_state(self, state) -> None:
        spec = state.spec or {}
        if spec.get("env"):
            self.set_env(spec["env"])
        # the state is the authority: trials of an earlier experiment go, with their checkpoints
        self.checkpoints = newest_checkpoints(state)
        if self.pinned is not None and self.pinned.trial_id and self.pinned.trial_id not in state.trials:
            self.pinned = None  # another experiment: its picked model is not this one's
        if self.selected is not None and self.selected not in state.trials:
            self.selected = None
            self.best_button.setChecked(True)
        self.best = trial_to_follow(state)
        self.running = [tid for tid, t in state.trials.items() if t.status == "running"]
        self._refresh()

    def follow_experiment(self, folder: str | Path) -> None:
        from rlstudio.core.follow import EventLogFollower

        folder = Path(folder)
        self._follower = EventLogFollower(folder)
        from rlstudio.core.folder import SPEC_FILE

        if (folder / SPEC_FILE).exists() and not self.env:
            try:
                from rlstudio.core.spec import load_spec

                spec = load_spec(folder / SPEC_FILE)
                self.set_env({"id": spec.env.id, "entry_point": spec.env.entry_point, "kwargs": spec.env.kwargs})
            except Exception as exc:  # noqa: BLE001 - the event log may still tell the env
                self._show_message(f"could not read {folder / SPEC_FILE}: {exc}", error=True)
        self._on_tail_timer_timeout()
        self._tail_timer.start()

    def show_model(self, model) -> None:
        """Play one named model (a ``core.models.ModelChoice``) in the big view, and say which it is."""
        self.pinned = model
        self.selected = model.trial_id or self.selected or self.best
        self.best_button.setChecked(False)
        self._refresh()

    def show_trial(self, trial_id: str | None) -> None:
        self.pinned = None
        self.selected = trial_id or None
        self.best_button.setChecked(self.selected is None)
        self._refresh()

    def follow_best(self) -> None:
        self.show_trial(None)

    def on_checkpoint(self, trial_id: str, path: str, iteration: int | None = None,
                      timesteps: float | None = None) -> None:
        self.checkpoints[trial_id] = {"path": path, "iteration": iteration, "timesteps": timesteps}
        if self.best is None:
            self.best = trial_id
        self._refresh()

    def set_running_trials(self, trial_ids: list[str]) -> None:
        self.running = list(trial_ids)
        self._refresh()

    def start_recording(self, path: str | Path) -> None:
        path = str(path)
        self.recording = path
        self.controller.record(MAIN, path)
        self.record_button.setVisible(False)
        self.stop_record_button.setVisible(True)

    def stop_recording(self) -> None:
        if self.recording:
            self.controller.record_stop(MAIN)
            self._show_message(f"Saving {Path(self.recording).name}…")
        self.recording = None
        self.record_button.setVisible(True)
        self.stop_record_button.setVisible(False)

    def shutdown(self) -> None:
        self._tail_timer.stop()
        self.controller.close()

    # ---- keeping the process in line with what should be shown -------------------------------------------

    def _refresh(self) -> None:
        if not self.env or self._env_failed:
            return
        if MAIN not in self._opened:
            self._open(MAIN, None)  # at the env's own speed; the worker reports it and the box follows
            if not self.mode_box.currentData():
                self.controller.set_view(MAIN, greedy=False)
        self._load(MAIN, self.shown_trial)
        wanted = self.running[:GRID_MAX] if self.grid_shown else []
        for tid in list(self.small_views):
            if tid not in wanted:
                self._remove_small(tid)
        for i, tid in enumerate(wanted):
            if tid not in self.small_views:
                self._add_small(tid, i)
            self._load(GRID_PREFIX + tid, tid)
        for tid, view in self.small_views.items():
            view.highlighted = tid == self.shown_trial
            view.update()
        self.grid_label.setVisible(bool(self.small_views))

    def _open(self, view: str, max_width: int | None, fps: float | None = None) -> None:
        self.controller.open_view(view, self.env, max_width=max_width, fps=fps,
                                  playing=self.isVisible() and (view != MAIN or self.play_button.isChecked()))
        self._opened.add(view)

    def _load(self, view: str, trial_id: str | None) -> None:
        ckpt = self.checkpoints.get(trial_id) if trial_id else None
        if view == MAIN and self.pinned is not None:
            p = self.pinned
            trial_id = p.trial_id or "final"
            ckpt = {"path": p.path, "iteration": p.iteration, "timesteps": p.timesteps}
        key = (trial_id, ckpt["path"] if ckpt else None)
        previous = self._requested.get(view)
        if key == previous:
            return
        if previous is None and key[1] is None:
            self._requested[view] = key  # the view already plays the random policy
            if view == MAIN:
                self._set_caption({"random": True, "text": RANDOM_TEXT})
            return
        self._requested[view] = key
        restart = previous is None or previous[0] != trial_id  # another trial: now; a newer checkpoint: next episode
        facts = {k: ckpt[k] for k in ("iteration", "timesteps") if ckpt and ckpt.get(k) is not None}
        self.controller.load(view, key[1], restart=restart, trial_id=trial_id, **facts)
        if view == MAIN and key[1] is None:
            self._set_caption({"random": True, "text": RANDOM_TEXT})

    def _add_small(self, tid: str, index: int) -> None:
        view = FrameView(small=True)
        view.title = tid
        view.setToolTip(f"Trial {tid}, playing its newest checkpoint. Click to play it in the big view.")
        view.clicked.connect(lambda t=tid: self._on_small_view_clicked(t))
        self.small_views[tid] = view
        self.grid_layout.addWidget(view, index // 4, index % 4)
        self._open(GRID_PREFIX + tid, GRID_WIDTH, GRID_FPS)

    def _remove_small(self, tid: str) -> None:
        view = self.small_views.pop(tid)
        self.grid_layout.removeWidget(view)
        view.deleteLater()
        self.controller.close_view(GRID_PREFIX + tid)
        self._opened.discard(GRID_PREFIX + tid)
        self._requested.pop(GRID_PREFIX + tid, None)

    def _set_caption(self, info: dict) -> None:
        self.playing_info = info
        self.caption.setText(caption_text(info, self.shown_trial, self.selected is None,
                                          self.pinned.label if self.pinned is not None else None))

    def _show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #a33;" if error else "")  # the palette's text: readable in both themes
        self.message.setVisible(bool(text))

    def _apply_visibility(self) -> None:
        """A hidden panel (its dock closed or tabbed away) costs nothing: its views pause."""
        visible = self.isVisible()
        for view in self._opened:
            playing = visible and (view != MAIN or self.play_button.isChecked())
            self.controller.set_view(view, playing=playing)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._opened:
            self._apply_visibility()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        if self._opened and self.controller.running:
            self._apply_visibility()

    # ---- slots ------------------------------------------------------------------------------------------

    def _on_controller_frame_received(self, view: str, image, info: dict) -> None:
        if view == MAIN:
            self.view.set_frame(image, info)
        elif view.startswith(GRID_PREFIX):
            small = self.small_views.get(view[len(GRID_PREFIX):])
            if small is not None:
                small.set_frame(image, info)

    def _on_controller_policy_changed(self, view: str, info: dict) -> None:
        if view == MAIN:
            self._set_caption(info)
            if info.get("fps"):
                self.fps_box.blockSignals(True)
                self.fps_box.setValue(round(info["fps"]))
                self.fps_box.blockSignals(False)
            if not info.get("random"):
                self._show_message("")

    def _on_controller_status_reported(self, view: str, text: str) -> None:
        if view == MAIN:
            self._show_message(text)

    def _on_controller_error_reported(self, view: str, text: str) -> None:
        if view == MAIN:
            self._show_message(text, error=True)
            if "cannot show pictures" in text or "could not be created" in text:
                self.view.clear(text)
                self._env_failed = True  # nothing plays until another environment is set
                self._opened.clear()
        elif view.startswith(GRID_PREFIX):
            small = self.small_views.get(view[len(GRID_PREFIX):])
            if small is not None:
                small.setToolTip(text)

    def _on_controller_recording_saved(self, view: str, path: str, frames: int) -> None:
        self._show_message(f"Saved {frames} frames to {path}")
        self.recording_saved.emit(path, frames)

    def _on_controller_process_ended(self, code: int, message: str) -> None:
        self._opened.clear()
        self._requested.clear()
        if message:
            self._show_message(f"The player stopped (exit code {code}): {message.splitlines()[-1]}", error=True)

    def _on_play_button_toggled(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if MAIN in self._opened:
            self.controller.set_view(MAIN, playing=playing and self.isVisible())

    def _on_step_button_clicked(self) -> None:
        self.play_button.setChecked(False)
        if MAIN in self._opened:
            self.controller.step(MAIN)

    def _on_fps_box_value_changed(self, fps: int) -> None:
        if MAIN in self._opened:
            self.controller.set_view(MAIN, fps=fps)

    def _on_mode_box_changed(self, _index: int) -> None:
        if MAIN in self._opened:
            self.controller.set_view(MAIN, greedy=self.mode_box.currentData())

    def _on_next_button_clicked(self) -> None:
        if MAIN in self._opened:
            self.controller.next_episode(MAIN)

    def _on_best_button_clicked(self, checked: bool) -> None:
        if checked:
            self.follow_best()
        else:
            self.show_trial(self.shown_trial)

    def _on_small_view_clicked(self, trial_id: str) -> None:
        self.show_trial(trial_id)
        self.trial_clicked.emit(trial_id)

    def _on_record_chosen(self, suffix: str) -> None:
        kind = "GIF animation (*.gif)" if suffix == ".gif" else "MP4 video (*.mp4)"
        default = str(Path.home() / f"rollout{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, "Record the big view", default, kind)
        if path:
            if not path.lower().endswith(suffix):
                path += suffix
            self.start_recording(path)

    def _on_tail_timer_timeout(self) -> None:
        if self._follower is None:
            return
        new = self._follower.poll()
        if new or not self._opened:
            self.set_state(self._follower.state)
        if self._follower.state.status not in ("running", "unknown"):
            self._tail_timer.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    from PySide6.QtWidgets import QApplication

    parser = argparse.ArgumentParser(description="The rollout view alone.")
    parser.add_argument("--demo", metavar="EXPERIMENT_FOLDER", required=True)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv)
    panel = RolloutPanel()
    panel.resize(760, 640)
    panel.show()
    panel.follow_experiment(args.demo)
    app.aboutToQuit.connect(panel.shutdown)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
