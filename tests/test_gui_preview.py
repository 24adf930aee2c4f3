"""The environment editor's preview, rendered in a child process (engine/preview.py, gui/bridge/preview.py): real
Gymnasium envs, no Ray."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def previewer(qtbot):
    from rlstudio.gui.bridge import PreviewController

    controller = PreviewController()
    got = {"ready": [], "failed": []}
    controller.ready.connect(got["ready"].append)
    controller.failed.connect(got["failed"].append)
    yield controller, got
    process = controller.process
    controller.cancel()
    if process is not None:
        assert process.wait(10)


def test_the_clip_arrives_as_png_frames_each_shown_at_its_size(qtbot, previewer):
    from PySide6.QtGui import QPixmap

    controller, got = previewer
    controller.request("CartPole-v1", None, {})
    qtbot.waitUntil(lambda: bool(got["ready"] or got["failed"]), timeout=30000)
    assert got["failed"] == []
    frames = got["ready"][0]
    assert len(frames) == 60 and all(f.startswith(PNG) for f in frames)
    assert sum(map(len, frames)) < 200_000  # kept compressed: 60 raw 300x200 frames would be 10.8 MB
    pixmap = QPixmap()
    assert pixmap.loadFromData(frames[0], "PNG")
    assert (pixmap.width(), pixmap.height()) == (300, 200)  # CartPole's 600x400, halved
    assert not controller.running


def test_an_env_that_cannot_be_made_fails_with_its_reason_and_a_new_request_supersedes_the_old(qtbot, previewer):
    controller, got = previewer
    controller.request("NoSuchEnv-v9", None, {})
    qtbot.waitUntil(lambda: bool(got["ready"] or got["failed"]), timeout=30000)
    assert got["ready"] == [] and "NoSuchEnv" in got["failed"][0] and "doesn't exist" in got["failed"][0]
    got["failed"].clear()
    controller.request("CartPole-v1", None, {})
    first = controller.process
    controller.request("Acrobot-v1", None, {})  # the CartPole child is ended, and nothing of it is delivered
    qtbot.waitUntil(lambda: bool(got["ready"] or got["failed"]), timeout=30000)
    assert first.wait(10) and first.outcome == "cancelled"
    qtbot.wait(200)
    assert got["failed"] == [] and len(got["ready"]) == 1
    from PySide6.QtGui import QPixmap

    pixmap = QPixmap()
    pixmap.loadFromData(got["ready"][0][0], "PNG")
    assert (pixmap.width(), pixmap.height()) == (250, 250)  # Acrobot's 500x500, halved: the second request's


APP = r'''
import json, sys
from PySide6.QtWidgets import QApplication

app = QApplication([])
from rlstudio.gui.bridge import PreviewController

controller, got = PreviewController(), []
controller.ready.connect(lambda frames: (got.append(len(frames)), app.quit()))
controller.failed.connect(lambda message: (got.append(message), app.quit()))
controller.request("CartPole-v1", None, {})
app.exec()
print(json.dumps({"got": got, "imported": sorted(m for m in ("pygame", "gymnasium.envs.classic_control.cartpole")
                                                  if m in sys.modules)}))
'''


def test_the_apps_process_never_imports_the_env_or_its_renderer_for_a_preview():
    out = subprocess.run([sys.executable, "-c", APP], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr[-3000:]
    said = json.loads(out.stdout.strip().splitlines()[-1])
    assert said == {"got": [60], "imported": []}
