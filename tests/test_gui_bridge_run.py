"""A real run through the bridge, in a fresh process that has loaded every GUI module: the runner does the work,
the app's own process never imports Ray or torch (ARCHITECTURE.md, the process model)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

pytestmark = [pytest.mark.gui, pytest.mark.ray]

SMALL = {
    "schema_version": 1, "name": "bridge-run", "env": {"id": "CartPole-v1"}, "algorithm": "PPO",
    "hyperparameters": {"lr": 0.001, "train_batch_size": 128, "minibatch_size": 64, "num_epochs": 1,
                        "model_config": {"fcnet_hiddens": [16]}},
    "resources": {"env_runners": 0, "envs_per_runner": 1, "max_concurrent_trials": 1},
    "search": {"algorithm": "grid"}, "stop": {"iterations": 2}, "checkpoint": {"every": 1, "at_end": True},
}

APP = r'''
import json, sys
from PySide6.QtWidgets import QApplication

app = QApplication([])
import rlstudio.gui.main_window  # noqa: F401 - every module of the window, its views and the bridge
from rlstudio.core.spec import load_spec
from rlstudio.gui.bridge import RunController

spec_path, storage, address = sys.argv[1:4]
run = RunController()
seen, ended = [], []
run.progressed.connect(lambda state: seen.append(sum(t.iteration for t in state.trials.values())))
run.finished.connect(lambda state, code: (ended.append((state.status, code)), app.quit()))
run.start(load_spec(spec_path), storage, address)
app.exec()
print(json.dumps({"heavy": sorted(m for m in ("ray", "torch") if m in sys.modules), "ended": ended,
                  "progress": seen[-1:]}))
'''


def test_the_apps_process_never_imports_ray_or_torch_during_a_real_run(ray_session, tmp_path):
    spec = tmp_path / "exp.yaml"
    spec.write_text(yaml.safe_dump(SMALL))
    out = subprocess.run([sys.executable, "-c", APP, str(spec), str(tmp_path / "runs"), ray_session.address],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr[-3000:]
    said = json.loads(out.stdout.strip().splitlines()[-1])
    assert said["ended"] == [["completed", 0]]  # the run really ran, to its end
    assert said["progress"] and said["progress"][0] >= 1  # and the app followed its log
    assert said["heavy"] == []
