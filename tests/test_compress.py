"""Policy compression on a real trained policy: each transformation, the export and its parity, the comparison
table's figures (computed, not assumed), the standalone act.py, and the command's answers to bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from rlstudio.core.events import read_events

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def trained(tmp_path_factory, ray_session):
    """The cartpole-fast preset trained to its target (mean return >= 475, ~15 s on a warm session): the checkpoint
    a user would compress."""
    root = tmp_path_factory.mktemp("trained")
    spec = root / "cartpole-fast.yaml"
    assert run_cli("presets", "cartpole-fast", "-o", spec).returncode == 0
    proc = run_cli("run", spec, "--storage", root / "runs", "--address", ray_session.address, "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [folder] = [p for p in (root / "runs").iterdir() if p.is_dir()]
    saved = [e["path"] for e in read_events(folder) if e["event"] == "checkpoint_saved"]
    return Path(saved[-1])


@pytest.fixture(scope="module")
def teacher(trained):
    from rlstudio.engine.compress import load_teacher

    return load_teacher(trained)


@pytest.fixture(scope="module")
def cartpole_states(teacher):
    import gymnasium as gym

    from rlstudio.engine.compress import NetPolicy, collect_states

    _, net = teacher
    env = gym.make("CartPole-v1")
    states = collect_states(NetPolicy(net.net, net.head, net.action_space), env, 400, seed=123)
    env.close()
    return states


def _module_checkpoint(tmp_path, env_id, action_space=None, hidden=(32, 32)):
    """An untrained RLModule saved as RLlib saves one (no Ray cluster needed)."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo.ppo_catalog import PPOCatalog
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule

    env = gym.make(env_id)
    module = DefaultPPOTorchRLModule(observation_space=env.observation_space,
                                     action_space=action_space or env.action_space,
                                     model_config={"fcnet_hiddens": list(hidden)}, catalog_class=PPOCatalog,
                                     inference_only=False)
    path = tmp_path / "module" / "default_policy"
    module.save_to_path(str(path))
    env.close()
    return path


def test_the_policy_net_is_the_modules_actor_with_the_same_outputs(teacher, cartpole_states):
    import torch

    from rlstudio.engine.compress import count_parameters

    original, net = teacher
    assert net.head == "logits" and net.obs_dim == 4 and net.out_dim == 2
    x = torch.as_tensor(cartpole_states)
    with torch.no_grad():
        ours = net.net(x)
        theirs = original.module.forward_inference({"obs": x})["action_dist_inputs"]
    assert ours.shape == (len(x), 2) and ours.dtype == torch.float32
    assert torch.allclose(ours, theirs, atol=1e-6)
    # fcnet_hiddens [64, 64]: 4*64+64 + 64*64+64 + 64*2+2, the critic left out
    assert count_parameters(net.net) == (4610, 4610)
    assert sum(p.numel() for p in original.module.parameters()) > 4610


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_pruning_reaches_the_sparsity_and_is_permanent(teacher, cartpole_states, scope):
    import torch

    from rlstudio.engine.compress import count_parameters, prune, weight_sparsity

    _, net = teacher
    pruned = prune(net.net, 0.5, scope)
    linears = [m for m in pruned.modules() if isinstance(m, torch.nn.Linear)]
    assert not list(pruned.named_buffers()) and not any(m._forward_pre_hooks for m in linears)  # no masks left
    assert sorted(n for n, _ in pruned.named_parameters()) == sorted(n for n, _ in net.net.named_parameters())
    weights = [m.weight for m in linears]
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros == round(0.5 * total) and weight_sparsity(pruned) == pytest.approx(0.5, abs=1e-3)
    if scope == "layer":
        assert all(int((w == 0).sum()) == round(0.5 * w.numel()) for w in weights)
    else:  # global: the smallest weights anywhere, so the layers end up unequally sparse
        assert len({round(float((w == 0).float().mean()), 2) for w in weights}) > 1
        kept = torch.cat([w[w != 0].abs() for w in weights])
        original = torch.cat([m.weight.abs().flatten() for m in net.net.modules() if isinstance(m, torch.nn.Linear)])
        assert kept.min() >= original.kthvalue(zeros).values
    assert weight_sparsity(net.net) == 0.0  # the original is untouched
    params, nonzero = count_parameters(pruned)
    assert params == 4610 and nonzero == 4610 - zeros
    out = pruned(torch.as_tensor(cartpole_states))
    assert out.shape == (len(cartpole_states), 2) and out.dtype == torch.float32
    assert prune(net.net, 0.0, scope) is not net.net and weight_sparsity(prune(net.net, 0.0, scope)) == 0.0


def test_int8_quantisation_of_the_linear_layers(teacher, cartpole_states):
    import torch

    from rlstudio.engine.compress import count_parameters, is_quantized, quantize

    _, net = teacher
    q = quantize(net.net)
    linears = [m for m in q.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert len(linears) == 3 and is_quantized(q) and not is_quantized(net.net)
    assert all(m.weight().dtype == torch.qint8 for m in linears)
    assert not any(isinstance(m, torch.nn.Linear) and not type(m).__module__.startswith("torch.ao")
                   for m in q.modules())
    x = torch.as_tensor(cartpole_states)
    out = q(x)
    assert out.shape == (len(x), 2) and out.dtype == torch.float32
    ref = net.net(x)
    assert torch.allclose(out, ref, atol=0.25) and not torch.equal(out, ref)  # int8 error: small but real
    # where the teacher clearly prefers one action, int8 picks the same; in the many CartPole states where both
    # actions are nearly as good (a well-trained policy's logits close together) int8's error may flip the choice
    decisive = (ref[:, 0] - ref[:, 1]).abs() > 0.5
    assert decisive.float().mean() > 0.3
    assert (out.argmax(-1) == ref.argmax(-1))[decisive].float().mean() > 0.95
    assert count_parameters(q)[0] == 4610


def test_distillation_trains_a_student_of_the_chosen_shape_that_imitates_the_teacher(teacher, cartpole_states):
    import gymnasium as gym
    import torch

    from rlstudio.engine.compress import count_parameters, distil

    _, net = teacher
    reports = []
    env = gym.make("CartPole-v1")
    student, losses = distil(net, env, (16, 8), 600, on_progress=lambda *a: reports.append(a))
    env.close()
    shapes = [tuple(m.weight.shape) for m in student.modules() if isinstance(m, torch.nn.Linear)]
    assert shapes == [(16, 4), (8, 16), (2, 8)]
    assert count_parameters(student)[0] == 16 * 4 + 16 + 8 * 16 + 8 + 2 * 8 + 2
    assert len(losses) == 600 and reports[-1][:2] == (600, 600) and len(reports) >= 50
    assert np.mean(losses[-50:]) < 0.5 * np.mean(losses[:50])
    x = torch.as_tensor(cartpole_states)
    ref = net.net(x)
    decisive = (ref[:, 0] - ref[:, 1]).abs() > 0.5  # see the int8 test: near-ties may go either way
    agree = (student(x).argmax(-1) == ref.argmax(-1))[decisive].float().mean()
    assert agree > 0.9


def test_box_actions_gaussian_head_distils_and_exports(tmp_path):
    import gymnasium as gym
    import torch

    from rlstudio.engine.compress import (NetPolicy, distil, export_onnx, load_teacher, max_abs_difference,
                                          OnnxPolicy, within_tolerance)

    original, net = load_teacher(_module_checkpoint(tmp_path, "Pendulum-v1"))
    assert net.head == "gaussian" and net.out_dim == 2 and net.action_dim == 1
    env = gym.make("Pendulum-v1")
    obs, _ = env.reset(seed=0)
    action = NetPolicy(net.net, net.head, env.action_space).act(obs)
    assert action.shape == (1,) and action.dtype == np.float32 and -2.0 <= action[0] <= 2.0
    assert np.allclose(action, original.act(obs))  # the same greedy action as RLlib's deterministic one
    student, losses = distil(net, env, (8,), 200, rollout_steps=400)
    env.close()
    assert losses[-1] < losses[0] and student(torch.zeros(1, 3)).shape == (1, 2)
    onnx_path = tmp_path / "p.onnx"
    export_onnx(student, onnx_path, 3)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    ort_out = OnnxPolicy(onnx_path, net.head, net.action_space).outputs(x)
    ref = student(torch.as_tensor(x)).numpy()
    assert within_tolerance(ref, ort_out) and max_abs_difference(ref, ort_out) < 1e-4


def test_optimize_compares_every_variant_with_computed_figures_and_exports(trained, tmp_path):
    import onnxruntime as ort
    import torch

    from rlstudio.core.envs import make_env
    from rlstudio.engine.compress import ONNX_ATOL, ONNX_RTOL, Options, format_table, load_torchscript, optimize

    out = tmp_path / "compressed"
    events = []
    options = Options(prune=0.5, quantize=True, distill=(16, 16), distill_steps=800, episodes=4,
                      latency_calls=300).validate()
    report = optimize(trained, out, options, lambda: make_env("CartPole-v1", None, {}), {"id": "CartPole-v1"},
                      475.0, events.append)
    assert out.is_dir() and not out.with_name("compressed.part").exists()
    names = [r.name for r in report.rows]
    assert names == ["original (RLlib module)", "policy net", "student 16×16", "pruned 50%", "int8",
                     "student 16×16 + pruned 50%", "student 16×16 + int8", "pruned 50% + int8",
                     "student 16×16 + pruned 50% + int8"]
    kinds = [e["event"] for e in events]
    assert kinds.count("variant") == len(names) and "distill" in kinds
    fractions = [e["fraction"] for e in events if "fraction" in e]
    assert fractions == sorted(fractions) and fractions[-1] <= 1.0
    assert report.distill_losses and len(report.distill_losses) == 800

    rows = {r.name: r for r in report.rows}
    original, net = rows["original (RLlib module)"], rows["policy net"]
    # the policy net acts exactly as the RLlib module: same greedy actions on the same seeded episodes
    assert original.returns == net.returns and len(net.returns) == 4
    for r in report.rows:
        assert r.mean_return == pytest.approx(np.mean(r.returns)) and r.std_return == pytest.approx(np.std(r.returns))
        assert r.success_rate == sum(x >= 475 for x in r.returns) / 4
        assert r.latency_us > 0
    assert original.size_bytes == Path(original.size_file).stat().st_size
    assert original.params > net.params == 4610
    assert len({round(r.latency_us, 3) for r in report.rows}) > 1
    assert original.latency_us > net.latency_us  # RLlib's dict-and-distribution path costs more than the bare net

    parity_x = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    for r in report.rows[1:]:
        folder = Path(r.folder)
        assert folder.parent == out
        ts = folder / "policy.pt"
        assert r.size_bytes == ts.stat().st_size > 0
        scripted = load_torchscript(ts)
        assert scripted(torch.zeros(3, 4)).shape == (3, 2)
        meta = json.loads((folder / "policy.json").read_text())
        assert meta["action"] == "discrete" and meta["n"] == 2 and meta["env"]["id"] == "CartPole-v1"
        if "int8" in r.name:
            assert r.dtype.startswith("int8") and r.onnx_bytes is None and r.onnx_ok is None
            assert not (folder / "policy.onnx").exists() and "quantised" in r.onnx_note
            assert r.latency_onnx_us is None
        else:
            assert r.dtype == "float32" and r.onnx_ok is True and r.onnx_max_abs_diff < ONNX_ATOL
            assert r.onnx_bytes == (folder / "policy.onnx").stat().st_size
            session = ort.InferenceSession(str(folder / "policy.onnx"), providers=["CPUExecutionProvider"])
            ours = session.run(None, {"obs": parity_x})[0]
            theirs = scripted(torch.as_tensor(parity_x)).numpy()
            assert ours.shape == (50, 2) and ours.dtype == np.float32
            assert np.allclose(ours, theirs, atol=ONNX_ATOL, rtol=ONNX_RTOL)
            assert r.latency_onnx_us > 0
    assert rows["pruned 50%"].nonzero_params < rows["pruned 50%"].params == 4610
    assert rows["pruned 50%"].weight_sparsity == pytest.approx(0.5, abs=1e-3)
    assert rows["student 16×16"].params == 4 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2
    assert rows["student 16×16"].onnx_bytes < net.onnx_bytes

    saved = json.loads((out / "report.json").read_text())
    assert [r["name"] for r in saved["rows"]] == names
    assert saved["onnx_tolerance"]["atol"] == ONNX_ATOL
    table = format_table(report)
    assert (out / "table.txt").read_text().strip() == table.strip()
    assert all(n in table for n in names) and "4,610" in table

    # the standalone script, with only gymnasium + onnxruntime / torch
    for variant, runtime in (("student-16x16", "onnx"), ("student-16x16-int8", "torchscript")):
        proc = subprocess.run([sys.executable, str(out / "act.py"), variant, "--episodes", "1"], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""})
        assert proc.returncode == 0, proc.stderr
        assert f"{variant} ({runtime}): mean return" in proc.stdout
    assert "rlstudio" not in (out / "act.py").read_text().replace("RL Studio", "")


def test_unsupported_action_space_is_refused_by_name(tmp_path):
    import gymnasium as gym

    from rlstudio.engine.compress import CompressError, load_teacher

    path = _module_checkpoint(tmp_path, "CartPole-v1", gym.spaces.MultiDiscrete([2, 3]), hidden=(8,))
    with pytest.raises(CompressError) as info:
        load_teacher(path)
    assert info.value.option == "CHECKPOINT" and "MultiDiscrete" in str(info.value)
    proc = run_cli("optimize", path, "-o", tmp_path / "out", "--env", "CartPole-v1", "--episodes", "1")
    assert proc.returncode == 2 and "cannot be exported" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.part").exists()


@pytest.mark.parametrize("args,needle", [
    (["--prune", "1"], "--prune"),
    (["--prune", "-0.2"], "--prune"),
    (["--prune", "nan"], "--prune"),
    (["--distill", "32,x"], "--distill"),
    (["--distill", "0"], "--distill"),
    (["--distill", "16,16", "--distill-steps", "0"], "--distill-steps"),
    (["--episodes", "0"], "--episodes"),
])
def test_bad_options_exit_2_naming_the_option_and_write_nothing(trained, tmp_path, args, needle):
    out = tmp_path / "out"
    proc = run_cli("optimize", trained, "-o", out, *args, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and not out.with_name("out.part").exists()


def test_bad_checkpoints_and_outputs_are_refused(tmp_path):
    missing = run_cli("optimize", tmp_path / "nope", "-o", tmp_path / "o1", timeout=60)
    assert missing.returncode == 2 and "CHECKPOINT not found" in missing.stderr
    (tmp_path / "folder").mkdir()
    foreign = run_cli("optimize", tmp_path / "folder", "-o", tmp_path / "o2", "--env", "CartPole-v1", timeout=60)
    assert foreign.returncode == 2 and "not an RLlib checkpoint" in foreign.stderr
    assert "Traceback" not in missing.stderr + foreign.stderr
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    used = run_cli("optimize", tmp_path / "folder", "-o", taken, "--env", "CartPole-v1", timeout=60)
    assert used.returncode == 2 and "-o" in used.stderr and (taken / "keep.txt").read_text() == "mine"
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


def test_cli_json_progress_table_and_cancel(trained, tmp_path):
    out = tmp_path / "done"
    proc = run_cli("optimize", trained, "-o", out, "--quantize", "--episodes", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]  # every stdout line is JSON
    assert lines[-1]["event"] == "finished" and lines[-1]["output"] == str(out.resolve())
    assert [r["name"] for r in lines[-1]["report"]["rows"]] == ["original (RLlib module)", "policy net", "int8"]
    human = run_cli("optimize", trained, "-o", tmp_path / "human", "--prune", "0.3", "--prune-scope", "layer",
                    "--episodes", "1")
    assert human.returncode == 0, human.stderr
    assert "pruned 30% per layer" in human.stdout and "ONNX parity" in human.stdout and "act.py" in human.stdout

    # Cancel (what the app's Cancel button does): SIGTERM while distilling; nothing is left behind
    cancelled = tmp_path / "cancelled"
    child = subprocess.Popen([sys.executable, "-m", "rlstudio", "optimize", str(trained), "-o", str(cancelled),
                              "--distill", "64,64", "--distill-steps", "200000", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        seen = []
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            seen.append(json.loads(line))
            if seen[-1]["event"] == "distill":
                break
        assert seen and seen[-1]["event"] == "distill", seen
        assert cancelled.with_name("cancelled.part").is_dir()  # being built...
        child.send_signal(signal.SIGTERM)
        rest, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 3, err
    assert json.loads(rest.strip().splitlines()[-1]) == {"event": "cancelled"}
    assert "nothing was written" in err
    assert not cancelled.exists() and not cancelled.with_name("cancelled.part").exists()
