"""The rollout view's controls, in two rows so the panel stays usable in a narrow dock: Pause/Step/Next episode and
the speed; best or sampled actions, Record (GIF or MP4) and Follow best. Only the widgets and their help texts:
what each does is the rollout panel's (it connects them), the way a Designer form and its code are split.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QMenu, QSpinBox, QToolButton, QVBoxLayout, QWidget


class PlaybackControls(QWidget):
    #: a recording's file type was chosen in the Record button's menu (".gif" or ".mp4")
    record_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.play_button = QToolButton()
        self.play_button.setCheckable(True)
        self.play_button.setChecked(True)
        self.play_button.setText("Pause")
        self.play_button.setToolTip("Pause or continue the playing episode.")
        self.step_button = QToolButton()
        self.step_button.setText("Step")
        self.step_button.setToolTip("Advance the paused episode by one step.")
        self.fps_box = QSpinBox()
        self.fps_box.setRange(1, 120)
        self.fps_box.setValue(50)
        self.fps_box.setSuffix(" fps")
        self.fps_box.setToolTip("Playing speed in frames (environment steps) per second. The environment's own "
                                "speed is chosen when it opens.")
        self.mode_box = QComboBox()
        self.mode_box.addItem("Best action", True)
        self.mode_box.addItem("Sampled actions", False)
        self.mode_box.setToolTip("Best action: the policy always takes the action it rates highest (what an "
                                 "evaluation measures). Sampled: it draws actions as during training, "
                                 "exploration included.")
        self.next_button = QToolButton()
        self.next_button.setText("Next episode")
        self.next_button.setToolTip("End this episode and start a new one.")
        self.record_button = QToolButton()
        self.record_button.setText("Record")
        self.record_button.setToolTip("Save what the big view plays, from now until you stop, as a GIF (short "
                                      "clips, up to 1,500 frames) or an MP4 video.")
        self.record_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.record_button)
        menu.addAction("Record GIF…", lambda: self.record_chosen.emit(".gif"))
        menu.addAction("Record MP4…", lambda: self.record_chosen.emit(".mp4"))
        self.record_button.setMenu(menu)
        self.stop_record_button = QToolButton()
        self.stop_record_button.setText("Stop recording")
        self.stop_record_button.setToolTip("Finish the recording and save the file.")
        self.stop_record_button.setVisible(False)
        self.best_button = QToolButton()
        self.best_button.setText("Follow best")
        self.best_button.setCheckable(True)
        self.best_button.setChecked(True)
        self.best_button.setToolTip("Play the best trial so far, switching when another trial overtakes it. "
                                    "Selecting a trial in the table, on the curves or below turns this off.")

        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        for row in ((self.play_button, self.step_button, self.next_button, self.fps_box),
                    (self.mode_box, self.record_button, self.stop_record_button, self.best_button)):
            line = QHBoxLayout()
            for w in row:
                line.addWidget(w)
            line.addStretch(1)
            rows.addLayout(line)
