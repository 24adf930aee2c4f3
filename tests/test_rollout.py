"""The rollout helper process, driven through its protocol, with checkpoints trained in the test session."""

import shutil
import time

import numpy as np
import pytest

from rollout_helpers import Worker, checkpoints, frames, trained_experiment

CARTPOLE = {"id": "CartPole-v1"}
PENDULUM = {"id": "Pendulum-v1"}


@pytest.fixture
def worker():
    w = Worker()
    yield w
    assert w.close() == 0


@pytest.fixture(scope="module")
def experiment(tmp_path_factory, ray_session):
    return trained_experiment(tmp_path_factory, ray_session)


@pytest.fixture(scope="module")
def pendulum_module(tmp_path_factory):
    """An (untrained) PPO RLModule for Pendulum saved as a checkpoint folder: no Ray needed."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    env = gym.make("Pendulum-v1")
    path = tmp_path_factory.mktemp("pendulum") / "default_policy"
    RLModuleSpec(module_class=DefaultPPOTorchRLModule, observation_space=env.observation_space,
                 action_space=env.action_space, model_config={"fcnet_hiddens": [8]}).build().save_to_path(path)
    return path


@pytest.mark.ray
def test_random_policy_first_then_checkpoints_with_their_iteration_and_timesteps(worker, experiment):
    ckpts = checkpoints(experiment)
    trial, [first, second] = sorted(ckpts.items())[0][0], sorted(ckpts.items())[0][1]
    worker.send("open", env=CARTPOLE, fps=60)
    playing = worker.next(lambda m: m["type"] == "playing")
    assert playing["random"] and "no checkpoint yet" in playing["text"]
    frame = worker.next(lambda m: m["type"] == "frame")
    assert (frame["w"], frame["h"]) == (600, 400) and len(frame["payload"]) == 600 * 400 * 3
    assert frame["random"] and {"episode", "step", "return", "done"} <= set(frame)

    worker.send("load", path=first["path"])  # no facts given: the worker finds them in the event log
    playing = worker.next(lambda m: m["type"] == "playing")
    assert not playing["random"] and playing["trial_id"] == trial
    assert playing["iteration"] == first["iteration"] == 1 and playing["timesteps"] == first["timesteps"]
    assert "iteration 1" in playing["text"]
    after = worker.next(lambda m: m["type"] == "frame")
    assert after["episode"] >= 1 and not after["random"]

    seen = []  # a newer checkpoint of the same trial takes over when the episode ends: returns stay honest
    worker.send("load", path=second["path"])
    playing = worker.next(lambda m: m["type"] == "playing", seen=seen)
    assert playing["iteration"] == 2 and playing["trial_id"] == trial
    assert not frames(seen) or frames(seen)[-1]["done"]
    new = worker.next(lambda m: m["type"] == "frame")
    assert new["step"] == 0 and new["episode"] == (frames(seen) or [after])[-1]["episode"] + 1


@pytest.mark.ray
def test_missing_half_written_and_foreign_checkpoints_keep_the_previous_policy(worker, experiment, tmp_path,
                                                                                pendulum_module):
    good = sorted(checkpoints(experiment).items())[0][1][-1]["path"]
    half = tmp_path / "checkpoint_000009"
    shutil.copytree(good, half)
    state = half / "learner_group" / "learner" / "rl_module" / "default_policy" / "module_state.pkl"
    state.write_bytes(state.read_bytes()[:100])  # training is writing it right now
    worker.send("open", env=CARTPOLE, fps=30)
    worker.send("load", path=good)
    assert not worker.next(lambda m: m["type"] == "playing" and not m["random"])["random"]
    for bad, words in ((tmp_path / "nope", "checkpoint not found"), (half, "could not load"),
                       (pendulum_module, "another environment"), (tmp_path, "not an RLlib checkpoint")):
        seen = []
        worker.send("load", path=str(bad))
        error = worker.next(lambda m: m["type"] == "error", seen=seen)
        assert words in error["text"] and "still playing trial" in error["text"], error
        assert not [m for m in seen if m["type"] == "playing"]
        later = worker.next(lambda m: m["type"] == "frame")
        assert not later["random"]
    assert worker.proc.poll() is None


@pytest.mark.ray  # builds and plays a real RLlib module: the slow kind, kept out of the quick loop
def test_pendulum_actions_are_mapped_back_to_the_action_range(worker, pendulum_module):
    from rlstudio.engine.policy import Policy

    import gymnasium as gym

    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    to_env = Policy._to_env_action.__get__(type("P", (), {"action_space": space})())
    assert to_env(np.array([-1.0])) == -2.0 and to_env(np.array([1.0])) == 2.0 and to_env(np.array([0.0])) == 0.0
    assert to_env(np.array([3.0])) == 2.0  # outside the module's range: clipped, never out of the env's

    worker.send("open", env=PENDULUM, fps=120, greedy=False)
    worker.send("load", path=str(pendulum_module))
    worker.next(lambda m: m["type"] == "playing" and not m["random"])
    actions = [worker.next(lambda m: m["type"] == "frame" and m["step"] > 0 and not m["random"])["action"][0]
               for _ in range(60)]
    assert all(-2.0 <= a <= 2.0 for a in actions) and len(set(actions)) > 10  # sampled, mapped, in range


def test_pacing_pause_step_downscale_and_next_episode(worker):
    worker.send("open", env=CARTPOLE, fps=20, max_width=150)
    first = worker.next(lambda m: m["type"] == "frame")
    assert (first["w"], first["h"]) == (150, 100) and len(first["payload"]) == 150 * 100 * 3
    worker.drain(0.5)
    got = frames(worker.drain(2.0))
    assert 30 <= len(got) <= 46, len(got)  # 20 per second (a loaded machine may drop a few)
    worker.send("set", playing=False)
    worker.drain(0.3)
    assert frames(worker.drain(0.6)) == []
    worker.send("step")
    one = worker.next(lambda m: m["type"] == "frame")
    assert frames(worker.drain(0.4)) == []
    worker.send("step")
    two = worker.next(lambda m: m["type"] == "frame")
    assert (two["episode"], two["step"]) in ((one["episode"], one["step"] + 1), (one["episode"] + 1, 0))
    worker.send("next_episode")
    new = worker.next(lambda m: m["type"] == "frame")
    assert new["episode"] == two["episode"] + 1 and new["step"] == 0


def test_an_environment_that_cannot_render_says_so(worker):
    worker.send("open", env={"entry_point": "rollout_envs:NoPictures"})
    error = worker.next(lambda m: m["type"] == "error")
    assert "cannot show pictures" in error["text"]
    worker.send("open", view="w", env={"id": "NoSuchEnv-v0"})
    assert "could not be created" in worker.next(lambda m: m["type"] == "error")["text"]


def test_a_gif_recording_holds_every_frame_played(worker, tmp_path):
    import imageio.v3 as iio

    worker.send("open", env=CARTPOLE, playing=False)
    worker.next(lambda m: m["type"] == "frame")
    path = tmp_path / "clip.gif"
    worker.send("record", path=str(path))
    for _ in range(25):  # an idle cart-pole barely moves: without the caption, Pillow would merge frames
        worker.send("step")
        worker.next(lambda m: m["type"] == "frame")
    worker.send("record_stop")
    saved = worker.next(lambda m: m["type"] == "recorded")
    assert saved["frames"] == 25 and saved["path"] == str(path)
    assert sum(1 for _ in iio.imiter(path)) == 25


def test_the_worker_ends_when_its_stdin_closes():
    w = Worker()
    w.send("open", env=CARTPOLE)
    w.next(lambda m: m["type"] == "frame")
    started = time.monotonic()
    assert w.close() == 0 and time.monotonic() - started < 5
