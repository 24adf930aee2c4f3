"""The Compress panel: its choices become the `rlstudio optimize` command line, the command's JSON lines become a
live loss curve, a table and charts, Cancel ends the child process, and the GUI process never imports torch."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from rlstudio.engine import procs

pytestmark = pytest.mark.gui

FAKE = textwrap.dedent('''
    """Stands in for `python -m rlstudio optimize ... --json`: mode from the checkpoint's name."""
    import json, pathlib, signal, sys, time

    args = sys.argv[1:]
    assert args[0] == "optimize"
    mode = pathlib.Path(args[1]).name
    pathlib.Path(__file__).with_name("argv.json").write_text(json.dumps(args))

    def say(**event):
        print(json.dumps(event), flush=True)

    def row(name, ret, lat, onnx):
        return {"name": name, "steps": [], "params": 100, "nonzero_params": 90, "weight_sparsity": 0.1,
                "dtype": "float32", "size_bytes": 2048, "onnx_bytes": 1024 if onnx else None,
                "onnx_max_abs_diff": 1e-7 if onnx else None, "onnx_ok": True if onnx else None,
                "onnx_note": "", "latency_us": lat, "latency_onnx_us": onnx, "mean_return": ret,
                "std_return": 1.0, "success_rate": 0.5, "returns": [ret - 1, ret + 1]}

    if mode == "fail":
        print("rlstudio: --distill expects the student's hidden layer sizes; got '3,x'", file=sys.stderr)
        sys.exit(2)
    if mode == "hang":
        signal.signal(signal.SIGTERM, lambda *a: (say(event="cancelled"), sys.exit(3)))
        say(event="stage", stage="distilling a 8 student", fraction=0.1)
        say(event="distill", step=1, steps=100, loss=0.5, fraction=0.12)
        while True:
            time.sleep(0.05)
    rows = [row("original (RLlib module)", 500.0, 170.0, None), row("policy net", 500.0, 30.0, 9.0),
            row("student 8", 480.0, 29.0, 8.5)]
    say(event="stage", stage="loading the checkpoint", fraction=0.0)
    say(event="variant", row=rows[0])
    for i in range(1, 21):
        say(event="distill", step=i * 5, steps=100, loss=1.0 / i, fraction=0.1 + i * 0.02)
    for r in rows[1:]:
        say(event="variant", row=r)
    say(event="finished", output=args[args.index("-o") + 1],
        report={"rows": rows, "distill_losses": [1.0 / (i + 1) for i in range(100)]})
''')


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_rlstudio.py"
    script.write_text(FAKE)
    return script


def make_panel(qtbot, fake):
    from rlstudio.gui.bridge import CompressController
    from rlstudio.gui.panels.compress import CompressPanel

    controller = CompressController(program=[sys.executable, str(fake)])
    panel = CompressPanel(controller=controller)
    controller.setParent(panel)
    qtbot.addWidget(panel)
    return panel


def test_choices_become_the_command_line_and_bad_sizes_disable_run(qtbot, fake, tmp_path):
    panel = make_panel(qtbot, fake)
    assert not panel.run_button.isEnabled()  # no checkpoint yet
    (tmp_path / "exp" / "ck").mkdir(parents=True)
    (tmp_path / "exp" / "experiment.yaml").write_text("name: x\n")
    panel.set_checkpoint(tmp_path / "exp" / "ck", "CartPole-v1")
    assert Path(panel.output_edit.text()).parent == tmp_path / "exp" / "compressed"
    assert panel.run_button.isEnabled() and "CartPole-v1" in panel.heading.text()
    panel.prune_check.setChecked(True)
    panel.sparsity_box.setValue(30)
    panel.scope_box.setCurrentIndex(1)
    panel.quantize_check.setChecked(True)
    panel.hidden_edit.setText("32, 8")
    panel.steps_box.setValue(500)
    panel.episodes_box.setValue(5)
    choices = panel.choices()
    assert choices == {"prune": 0.3, "prune_scope": "layer", "quantize": True, "distill": "32,8", "distill_steps": 500,
                       "episodes": 5}
    args = panel.controller.arguments("CK", "OUT", **choices)
    assert args[:4] == ["optimize", "CK", "-o", "OUT"] and "--json" in args
    assert args[args.index("--prune") + 1] == "0.3" and args[args.index("--prune-scope") + 1] == "layer"
    assert args[args.index("--distill") + 1] == "32,8" and "--quantize" in args
    for bad in ("32,,8", "0", "a", "16x", "5000"):
        panel.hidden_edit.setText(bad)
        assert not panel.run_button.isEnabled(), bad
    # the form takes what the engine takes (one parser, core/layers.py): 16x16 is two layers of 16
    panel.hidden_edit.setText("16x16")
    assert panel.run_button.isEnabled() and panel.choices()["distill"] == "16,16"
    panel.hidden_edit.setText("16,16")
    assert panel.run_button.isEnabled()
    # the output must be new: a file or a folder with something in it is refused, as the command refuses it
    taken = tmp_path / "taken"
    taken.write_text("x")
    panel.output_edit.setText(str(taken))
    assert not panel.run_button.isEnabled() and "already exists" in panel.run_button.toolTip()
    panel.output_edit.setText(str(tmp_path / "new"))
    assert panel.run_button.isEnabled()
    for box in (panel.prune_check, panel.quantize_check, panel.distill_check):
        box.setChecked(False)
    assert not panel.run_button.isEnabled() and "at least one" in panel.run_button.toolTip()
    for widget in (panel.prune_check, panel.sparsity_box, panel.scope_box, panel.quantize_check, panel.distill_check,
                   panel.hidden_edit, panel.steps_box, panel.episodes_box, panel.output_edit, panel.loss_plot,
                   panel.table, panel.return_plot, panel.latency_plot):
        assert widget.toolTip() and widget.whatsThis(), widget


def test_a_run_fills_the_loss_curve_table_and_charts(qtbot, fake, tmp_path):
    panel = make_panel(qtbot, fake)
    panel.set_checkpoint(tmp_path / "ok")
    progress = []
    panel.controller.progressed.connect(lambda stage, f: progress.append(f))
    losses = []
    panel.controller.loss_reported.connect(lambda step, steps, loss: losses.append(panel.loss_curve.getData()))
    with qtbot.waitSignal(panel.finished, timeout=20000) as blocker:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
        assert panel.cancel_button.isVisibleTo(panel) and not panel.form_box.isEnabled()
    report = blocker.args[0]
    assert [r["name"] for r in report["rows"]] == ["original (RLlib module)", "policy net", "student 8"]
    # the curve grew point by point while the student trained, then shows the whole recorded loss
    assert [len(x) for x, _ in losses] == list(range(1, 21))
    x, y = panel.loss_curve.getData()
    assert len(x) == 100 and panel.loss_curve.yData[0] == 1.0  # getData() is log10 on the log axis
    assert panel.table.rowCount() == 3 and panel.table.item(2, 0).text() == "student 8"
    assert panel.table.item(1, 6).text().startswith("ok") and panel.table.item(0, 6).text() == "—"
    # horizontal bars: the length is the bar's width; the variants' names read on the left axis
    assert panel.return_bars.opts["width"] == [500.0, 500.0, 480.0]
    assert panel.latency_bars.opts["width"] == [170.0, 30.0, 29.0]
    assert list(panel.onnx_latency_bars.opts["width"]) == [9.0, 8.5]
    assert [t for _, t in panel.return_plot.getAxis("left")._tickLevels[0]] == ["original (RLlib module)",
                                                                               "policy net", "student 8"]
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert not panel.controller.running and panel.run_button.isEnabled() and not panel.cancel_button.isVisibleTo(panel)
    assert "Done" in panel.status.text()
    argv = json.loads((fake.with_name("argv.json")).read_text())
    assert argv[1] == str(tmp_path / "ok") and "--distill" in argv


def test_cancel_terminates_the_child_and_resets_the_panel(qtbot, fake, tmp_path):
    panel = make_panel(qtbot, fake)
    panel.set_checkpoint(tmp_path / "hang")
    with qtbot.waitSignal(panel.controller.loss_reported, timeout=20000):
        panel.run()
    assert panel.controller.running
    with qtbot.waitSignal(panel.cancelled, timeout=15000):
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert not panel.controller.running
    assert "Cancelled" in panel.status.text() and panel.run_button.isEnabled()


def test_a_failure_shows_the_commands_message(qtbot, fake, tmp_path):
    panel = make_panel(qtbot, fake)
    panel.set_checkpoint(tmp_path / "fail")
    with qtbot.waitSignal(panel.failed, timeout=20000) as blocker:
        panel.run()
    assert blocker.args[0].startswith("--distill expects")
    assert "--distill expects" in panel.status.text() and panel.run_button.isEnabled()


def test_shutdown_ends_a_running_compression(qtbot, fake, tmp_path):
    panel = make_panel(qtbot, fake)
    panel.set_checkpoint(tmp_path / "hang")
    with qtbot.waitSignal(panel.controller.loss_reported, timeout=20000):
        panel.run()
    pid = panel.controller.process.pid
    with qtbot.waitSignal(panel.controller.cancelled, timeout=15000):
        panel.shutdown()  # returns at once: the window closing never waits for it
    assert not panel.controller.running and procs.still_alive([pid]) == []


def test_the_panel_module_keeps_torch_and_ray_out_of_the_gui_process():
    code = ("import sys; import rlstudio.gui.panels.compress; "
            "print(sorted(m for m in ('torch', 'ray', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.ray  # real RLlib in this process and in the child: the slow kind, kept out of the quick loop
def test_a_real_compression_end_to_end(qtbot, tmp_path):
    """The real command on a small (untrained) RLlib module: the panel shows what `rlstudio optimize` measured."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo.ppo_catalog import PPOCatalog
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule

    from rlstudio.gui.panels.compress import CompressPanel

    env = gym.make("CartPole-v1")
    module = DefaultPPOTorchRLModule(observation_space=env.observation_space, action_space=env.action_space,
                                     model_config={"fcnet_hiddens": [16]}, catalog_class=PPOCatalog,
                                     inference_only=False)
    env.close()
    checkpoint = tmp_path / "module" / "default_policy"
    module.save_to_path(str(checkpoint))
    panel = CompressPanel()
    qtbot.addWidget(panel)
    panel.set_checkpoint(checkpoint, "CartPole", env_id="CartPole-v1")
    panel.output_edit.setText(str(tmp_path / "out"))
    panel.quantize_check.setChecked(True)
    panel.hidden_edit.setText("8")
    panel.steps_box.setValue(50)
    panel.episodes_box.setValue(2)
    with qtbot.waitSignal(panel.finished, timeout=180000) as blocker:
        panel.run()
    report = blocker.args[0]
    names = [r["name"] for r in report["rows"]]
    assert names == ["original (RLlib module)", "policy net", "student 8", "int8", "student 8 + int8"]
    assert panel.table.rowCount() == 5 and len(panel.loss_curve.getData()[0]) == 50
    assert (tmp_path / "out" / "act.py").exists() and (tmp_path / "out" / "student-8" / "policy.onnx").exists()
    assert not (tmp_path / "out.part").exists()
