"""The rollout helper process: plays policies from checkpoints in environments and streams the frames.

    python -m rlstudio.engine.rollout

Why a process: RLlib + torch cost ~400 MB and seconds of imports, and stepping + rendering holds the GIL; in
the GUI process both would stall the window. The GUI (``rlstudio.gui.bridge.RolloutController``) starts this
process, talks to it over stdin/stdout and ends it by its PID. It also exits on stdin EOF, so it never outlives
the GUI, and ignores SIGINT (a Ctrl-C in the terminal is the GUI's to handle).

Commands: one JSON object a line on stdin, ``{"cmd": NAME, "view": ID, ...}``:

* ``open``   ``env: {id, entry_point, kwargs}``, ``max_width`` (frames are downscaled here, in the worker, to at
  most this width: small grid views cost the pipe and the GUI almost nothing), ``fps``, ``greedy``, ``playing``,
  ``seed``. Starts with a random policy and says so.
* ``load``   ``path`` (a checkpoint; ``null`` = back to the random policy), optional ``trial_id``, ``iteration``,
  ``timesteps``, ``restart`` (start a new episode with it now; otherwise it takes over at the next episode, so
  every episode's return belongs to one policy). Loading happens on a loader thread: the views keep playing.
  A checkpoint that is missing, half-written or made for another environment is reported and the previous
  policy keeps playing.
* ``set``    any of ``playing``, ``fps``, ``greedy``, ``max_width``.
* ``step``   one step (meant for a paused view).  ``next_episode``: start a new episode now.
* ``record`` ``path`` (.gif/.mp4) starts recording what the view plays; ``record_stop`` finishes the file.
* ``close``  the view;  ``quit``  the process.

Messages on stdout: a JSON header line, followed for frames by exactly ``nbytes`` bytes of RGB (h × w × 3,
row-major). Types: ``ready``; ``frame`` (``view, w, h, nbytes, episode, step, return, action, done``: the
overlay's data; the GUI draws it); ``playing`` (which policy a view now plays: ``random`` or ``checkpoint,
trial_id, iteration, timesteps``, and ``text``); ``status``/``error`` (``view, text``); ``episode`` (``view,
episode, return, length``); ``recorded`` (``view, path, frames``).

Transport: a pipe, not shared memory. Measured here: a 600×400 frame (720 kB) costs the GUI ~0.3 ms to read
and turn into a QImage; at 60 fps that is < 2 % of the GUI thread. A pipe needs no synchronisation, carries its
own back-pressure (a GUI that reads slowly slows the player instead of queueing frames) and leaves nothing
behind when either side dies, where a shared-memory ring needs slot hand-over and cleanup of /dev/shm after a
crash. The pipe buffer is raised to 1 MB so one frame fits whole.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RANDOM_TEXT = "random policy — no checkpoint yet"
GIF_MAX_FRAMES = 1500
MAX_FPS = 120.0


# ---- checkpoint facts -------------------------------------------------------------------------------------

def checkpoint_facts(path: str | Path) -> dict:
    """What is known about a checkpoint without loading it: trial id, iteration and timesteps, from the event log
    of the experiment it belongs to, else from the checkpoint's own ``algorithm_state.pkl``."""
    from rlstudio.core.folder import checkpoint_record

    path = Path(path).expanduser()
    facts: dict = {"checkpoint": str(path), **checkpoint_record(path)}
    if facts.get("iteration") is None:
        state_file = path / "algorithm_state.pkl"
        if state_file.exists():
            try:
                import pickle

                with open(state_file, "rb") as fh:
                    state = pickle.load(fh)  # the same trust as loading the checkpoint itself
                facts["iteration"] = state.get("training_iteration")
                stats = (state.get("metrics_logger") or {}).get("stats") or {}
                steps = stats.get("env_runners--num_env_steps_sampled_lifetime") or {}
                if steps.get("lifetime_sum") is not None:
                    facts["timesteps"] = float(steps["lifetime_sum"])
            except Exception:  # noqa: BLE001 - facts are a nicety; the policy is what matters
                pass
    if facts.get("trial_id") is None and path.parent.name.startswith("trial_"):
        facts["trial_id"] = path.parent.name[len("trial_"):]
    return facts


def describe_policy(facts: dict | None) -> str:
    if not facts:
        return RANDOM_TEXT
    parts = []
    if facts.get("trial_id"):
        parts.append(f"trial {facts['trial_id']}")
    if facts.get("iteration") is not None:
        parts.append(f"iteration {int(facts['iteration'])}")
    if facts.get("timesteps") is not None:
        parts.append(f"{int(facts['timesteps']):,} timesteps")
    where = ", ".join(parts) if parts else "checkpoint"
    return f"{where} ({Path(facts.get('checkpoint', '')).name})"


def check_spaces(policy, env) -> None:
    """Raise PolicyError when the policy was trained for another environment (shapes or action kind differ)."""
    from rlstudio.engine.policy import PolicyError

    module = policy.module
    obs, act = getattr(module, "observation_space", None), getattr(module, "action_space", None)
    env_obs, env_act = env.observation_space, env.action_space
    problems = []
    if obs is not None and getattr(obs, "shape", None) != getattr(env_obs, "shape", None):
        problems.append(f"observations of shape {obs.shape}, the environment gives {env_obs.shape}")
    if act is not None and (type(act).__name__ != type(env_act).__name__
                            or getattr(act, "shape", None) != getattr(env_act, "shape", None)
                            or getattr(act, "n", None) != getattr(env_act, "n", None)):
        problems.append(f"actions {act}, the environment takes {env_act}")
    if problems:
        raise PolicyError("this checkpoint was trained for another environment: it expects "
                          + "; ".join(problems))


# ---- the player --------------------------------------------------------------------------------------------

@dataclass
class View:
    id: str
    env: object
    max_width: int | None = None
    fps: float = 30.0
    greedy: bool = True
    playing: bool = True
    seed: int = 0
    policy: object = None  # None: random
    facts: dict | None = None
    pending: tuple | None = None  # (policy, facts): takes over at the next episode
    episode: int = 0
    step_count: int = 0
    total: float = 0.0
    obs: object = None
    done: bool = True
    next_due: float = 0.0
    step_once: bool = False
    recorder: object = None
    loads: int = 0  # the latest load request's number; older results are dropped
    last_action: object = None
    extra: dict = field(default_factory=dict)
    #: the env as opened; ``env`` is it wrapped as the playing policy was trained (atari_preprocessing, ...)
    base_env: object = None
    wrapped: object = None
    wrapped_for: object = None


class Player:
    """All views of one process. ``send(header, payload=None)`` writes a message; everything here runs on the
    process's main thread, except checkpoint loading (:meth:`_load_worker`)."""

    def __init__(self, send):
        self.send = send
        self.views: dict[str, View] = {}
        self.inbox: queue.Queue = queue.Queue()
        self._loads: queue.Queue = queue.Queue()
        self._cache: dict[tuple, object] = {}
        self._loader = threading.Thread(target=self._load_worker, name="checkpoint-loader", daemon=True)
        self._loader.start()
        self.running = True

    # ---- commands ------------------------------------------------------------------------------------

    def handle(self, cmd: dict) -> None:
        name = cmd.get("cmd")
        view = self.views.get(cmd.get("view"))
        try:
            if name == "open":
                self._open(cmd)
            elif name == "quit":
                self.running = False
            elif name == "_loaded":
                self._on_loaded(cmd)
            elif view is None:
                self.send({"type": "error", "view": cmd.get("view"), "text": f"no view named {cmd.get('view')!r}"})
            elif name == "load":
                self._request_load(view, cmd)
            elif name == "set":
                self._set(view, cmd)
            elif name == "step":
                view.step_once = True
            elif name == "next_episode":
                view.done = True
                view.step_once = True
            elif name == "record":
                self._record_start(view, cmd.get("path"))
            elif name == "record_stop":
                self._record_stop(view)
            elif name == "close":
                self._close(view)
            else:
                self.send({"type": "error", "view": view.id, "text": f"unknown command {name!r}"})
        except Exception as exc:  # noqa: BLE001 - a bad command is reported, the others keep playing
            self.send({"type": "error", "view": cmd.get("view"), "text": f"{type(exc).__name__}: {exc}"})

    def _open(self, cmd: dict) -> None:
        from rlstudio.core.envs import make_env

        vid = cmd["view"]
        if vid in self.views:
            self._close(self.views[vid])
        spec = cmd.get("env") or {}
        try:
            env = make_env(spec.get("id"), spec.get("entry_point"), spec.get("kwargs"), render_mode="rgb_array")
        except Exception as exc:  # noqa: BLE001
            self.send({"type": "error", "view": vid, "fatal": True,
                       "text": f"the environment could not be created: {type(exc).__name__}: {exc}"})
            return
        fps = cmd.get("fps") or (getattr(env, "metadata", {}) or {}).get("render_fps") or 30
        view = View(vid, env, cmd.get("max_width"), min(float(fps), MAX_FPS), bool(cmd.get("greedy", True)),
                    bool(cmd.get("playing", True)), int(cmd.get("seed", 0)), base_env=env)
        env.action_space.seed(view.seed)
        try:
            view.obs, _ = env.reset(seed=view.seed)
            frame = env.render()
        except Exception as exc:  # noqa: BLE001
            frame, error = None, f"{type(exc).__name__}: {exc}"
        else:
            error = "it returned no image"
        if frame is None or np.asarray(frame).ndim != 3:
            env.close()
            self.send({"type": "error", "view": vid, "fatal": True,
                       "text": f"this environment cannot show pictures (rgb_array rendering): {error}"})
            return
        view.done = True  # the first tick starts episode 1
        self.views[vid] = view
        self.send({"type": "playing", "view": vid, "random": True, "text": RANDOM_TEXT,
                   "fps": view.fps, "greedy": view.greedy, "playing": view.playing})
        view.step_once = True  # show a first picture even when opened paused

    def _set(self, view: View, cmd: dict) -> None:
        if "fps" in cmd and cmd["fps"]:
            view.fps = min(max(float(cmd["fps"]), 0.5), MAX_FPS)
            view.next_due = time.monotonic()
        if "greedy" in cmd:
            view.greedy = bool(cmd["greedy"])
        if "max_width" in cmd:
            view.max_width = cmd["max_width"]
        if "playing" in cmd:
            view.playing = bool(cmd["playing"])
            view.next_due = time.monotonic()

    def _close(self, view: View) -> None:
        if view.recorder is not None:
            self._record_stop(view)
        view.env.close()
        self.views.pop(view.id, None)

    # ---- policies --------------------------------------------------------------------------------------

    def _request_load(self, view: View, cmd: dict) -> None:
        view.loads += 1
        if not cmd.get("path"):
            self._adopt(view, None, None, restart=bool(cmd.get("restart", True)))
            return
        given = {k: cmd[k] for k in ("trial_id", "iteration", "timesteps") if cmd.get(k) is not None}
        from rlstudio.engine.policy import PolicyError, module_dir

        try:  # a missing or plainly incomplete folder is told at once, without waiting for the loader
            module_dir(cmd["path"])
        except PolicyError as exc:
            self._on_loaded({"view": view.id, "number": view.loads, "error": str(exc), "path": cmd["path"]})
            return
        self.send({"type": "status", "view": view.id, "text": f"loading {Path(cmd['path']).name}…"})
        base = view.base_env or view.env
        self._loads.put((view.id, view.loads, cmd["path"], given, bool(cmd.get("restart", False)),
                         base.observation_space, base.action_space))

    def _load_worker(self) -> None:
        while True:
            job = self._loads.get()
            if job is None:
                return
            vid, number, path, given, restart, obs_space, act_space = job
            try:
                policy = self._load(path, obs_space, act_space)
                facts = {**checkpoint_facts(path), **given}
                self.inbox.put({"cmd": "_loaded", "view": vid, "number": number, "policy": policy,
                                "facts": facts, "restart": restart})
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the old policy stays
                from rlstudio.engine.policy import PolicyError

                text = str(exc) if isinstance(exc, PolicyError) else f"{type(exc).__name__}: {exc}"
                self.inbox.put({"cmd": "_loaded", "view": vid, "number": number, "error": text, "path": path})

    def _load(self, path: str, obs_space, act_space):
        from rlstudio.engine.policy import PolicyError, load_policy, module_dir

        folder = module_dir(path)
        stamp = tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()))
        key = (os.path.realpath(folder), stamp, repr(obs_space), repr(act_space))
        if key in self._cache:
            return self._cache[key]
        _limit_threads()
        policy = load_policy(path, act_space)

        class _Probe:  # the spaces of the view's env, without touching the env from this thread
            observation_space, action_space = obs_space, act_space

        if policy.wrap_env is not None:  # it plays on the env wrapped as in training: its own observations
            _Probe.observation_space = getattr(policy.module, "observation_space", None) or obs_space
        check_spaces(policy, _Probe)
        try:  # one action on a sample observation: catches what shapes alone do not
            policy.act(_Probe.observation_space.sample(), greedy=True)
        except Exception as exc:  # noqa: BLE001
            raise PolicyError(f"the policy in {path} cannot act in this environment: {exc}") from None
        if len(self._cache) > 16:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = policy
        return policy

    def _on_loaded(self, msg: dict) -> None:
        view = self.views.get(msg["view"])
        if view is None or msg["number"] != view.loads:
            return  # the view closed, or a newer checkpoint was asked for meanwhile
        if "error" in msg:
            keeps = describe_policy(view.facts) if view.policy is not None else "the random policy"
            self.send({"type": "error", "view": view.id, "path": msg.get("path"),
                       "text": f"{msg['error']} — still playing {keeps}"})
            return
        self._adopt(view, msg["policy"], msg["facts"], msg["restart"])

    def _adopt(self, view: View, policy, facts, restart: bool) -> None:
        # A trained policy replaces the random one at once; a newer checkpoint of the same policy waits for the
        # episode to end, so that each episode's return belongs to one policy.
        if restart or view.done or (view.policy is None and policy is not None):
            view.policy, view.facts, view.pending = policy, facts, None
            if not view.done:
                view.done = True
                view.step_once = not view.playing  # a paused view shows the new policy's first picture
            self._announce(view)
        else:
            view.pending = (policy, facts)
            self.send({"type": "status", "view": view.id,
                       "text": f"loaded {describe_policy(facts)}; it plays from the next episode"})

    def _announce(self, view: View) -> None:
        facts = view.facts or {}
        self.send({"type": "playing", "view": view.id, "random": view.policy is None, "text": describe_policy(
            view.facts), **{k: facts.get(k) for k in ("checkpoint", "trial_id", "iteration", "timesteps")}})

    # ---- playing ---------------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        due = [v.next_due for v in self.views.values() if v.playing]
        if any(v.step_once for v in self.views.values()):
            return time.monotonic()
        return min(due) if due else None

    def tick_due(self) -> None:
        now = time.monotonic()
        for view in list(self.views.values()):
            if view.step_once or (view.playing and now >= view.next_due):
                view.step_once = False
                period = 1.0 / view.fps
                # pace on a fixed grid (no drift); when late by more than a frame, start a new grid
                view.next_due = view.next_due + period if now - view.next_due < period else now + period
                try:
                    self._tick(view)
                except Exception as exc:  # noqa: BLE001 - a broken env or policy pauses this view, not all
                    view.playing = False
                    self.send({"type": "error", "view": view.id,
                               "text": f"playing stopped: {type(exc).__name__}: {exc}"})
                    traceback.print_exc()

    def _env_for(self, view: View):
        """The view's env as its policy was trained on it (Atari preprocessing, stacked frames), else as opened.
        The wrappers pass render() through: the picture is the game's own."""
        base = view.base_env or view.env
        wrap = getattr(view.policy, "wrap_env", None)
        if wrap is None:
            return base
        if view.wrapped_for is not view.policy:
            view.wrapped, view.wrapped_for = wrap(base), view.policy
        return view.wrapped

    def _tick(self, view: View) -> None:
        if view.done:
            if view.pending is not None:
                view.policy, view.facts = view.pending
                view.pending = None
                self._announce(view)
            view.env = self._env_for(view)  # a new episode: on the env this policy plays
        env = view.env
        if view.done:
            view.episode += 1
            view.obs, _ = env.reset(seed=view.seed + view.episode - 1)
            view.step_count, view.total, view.done, view.last_action = 0, 0.0, False, None
        else:
            if view.policy is None:
                action = env.action_space.sample()
            else:
                action = view.policy.act(view.obs, greedy=view.greedy)
            view.obs, reward, terminated, truncated, _ = env.step(action)
            view.step_count += 1
            view.total += float(reward)
            view.last_action = action
            view.done = bool(terminated or truncated)
            if view.done:
                self.send({"type": "episode", "view": view.id, "episode": view.episode, "return": view.total,
                           "length": view.step_count})
        frame = np.asarray(env.render())[..., :3]
        if view.recorder is not None:
            from rlstudio.engine.recording import overlay_text

            if not view.recorder.add(frame, overlay_text(view.episode, view.step_count, view.total)):
                self.send({"type": "status", "view": view.id, "text": f"GIF recordings stop at "
                                                                      f"{GIF_MAX_FRAMES} frames; MP4 has no limit"})
                self._record_stop(view)
        if view.max_width and frame.shape[1] > view.max_width:
            k = -(-frame.shape[1] // int(view.max_width))
            frame = frame[::k, ::k]
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        h, w = frame.shape[:2]
        self.send({"type": "frame", "view": view.id, "w": w, "h": h, "nbytes": frame.nbytes,
                   "episode": view.episode, "step": view.step_count, "return": view.total,
                   "action": _jsonable(view.last_action), "done": view.done,
                   "random": view.policy is None}, frame.data)

    # ---- recording -------------------------------------------------------------------------------------

    def _record_start(self, view: View, path: str | None) -> None:
        from rlstudio.engine.recording import FrameRecorder

        if view.recorder is not None:
            self._record_stop(view)
        view.recorder = FrameRecorder(path, view.fps, GIF_MAX_FRAMES)
        self.send({"type": "status", "view": view.id, "text": f"recording to {Path(path).name}…",
                   "recording": True})

    def _record_stop(self, view: View) -> None:
        recorder, view.recorder = view.recorder, None
        if recorder is None:
            return

        def finish():  # a GIF is encoded at the end (seconds for a long one): off the playing thread
            try:
                frames = recorder.close()
                self.send({"type": "recorded", "view": view.id, "path": str(recorder.path), "frames": frames})
            except Exception as exc:  # noqa: BLE001
                recorder.abort()
                self.send({"type": "error", "view": view.id, "text": f"the recording failed: {exc}"})

        threading.Thread(target=finish, name="recording-finisher").start()

    def close(self) -> None:
        for view in list(self.views.values()):
            self._close(view)
        self._loads.put(None)
        for thread in threading.enumerate():
            if thread.name == "recording-finisher":
                thread.join(timeout=60)


def _jsonable(action):
    if action is None:
        return None
    arr = np.asarray(action)
    return arr.item() if arr.ndim == 0 else arr.tolist()


_threads_limited = False


def _limit_threads() -> None:
    """One torch thread: a 64×64 MLP gains nothing from more, and the trainers need the cores."""
    global _threads_limited
    if not _threads_limited:
        import torch

        torch.set_num_threads(1)
        _threads_limited = True


# ---- the process ------------------------------------------------------------------------------------------

class _Output:
    """Writes messages to the private copy of stdout; one lock, so the recording finisher's message never lands
    inside a frame's bytes."""

    def __init__(self, fd: int):
        self.fd = fd
        self.lock = threading.Lock()
        self.closed = False

    def send(self, header: dict, payload=None) -> None:
        data = json.dumps(header, separators=(",", ":")).encode() + b"\n"
        with self.lock:
            if self.closed:
                return
            try:
                _write_all(self.fd, data)
                if payload is not None:
                    _write_all(self.fd, payload)
            except (BrokenPipeError, OSError):
                self.closed = True  # the GUI is gone; the stdin EOF ends us next


def _write_all(fd: int, data) -> None:
    view = memoryview(data).cast("B")
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_commands(inbox: queue.Queue) -> None:
    for line in sys.stdin.buffer:
        line = line.strip()
        if not line:
            continue
        try:
            inbox.put(json.loads(line))
        except json.JSONDecodeError:
            sys.stderr.write(f"rollout: not a command: {line[:200]!r}\n")
    inbox.put({"cmd": "quit"})  # EOF: the GUI is gone or done with us


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(5)  # in the app's own scheduling group: painting a frame comes before playing the next one
    except OSError:
        pass
    out_fd = os.dup(1)
    os.dup2(2, 1)  # anything a library prints goes to stderr and cannot break the framing
    try:
        import fcntl

        fcntl.fcntl(out_fd, 1031, 1 << 20)  # F_SETPIPE_SZ: one 600×400 frame fits in the pipe whole
    except (ImportError, OSError):
        pass
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    output = _Output(out_fd)
    player = Player(output.send)
    threading.Thread(target=_read_commands, args=(player.inbox,), name="commands", daemon=True).start()
    output.send({"type": "ready", "pid": os.getpid()})
    try:
        while player.running:
            deadline = player.next_deadline()
            timeout = 0.25 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                cmd = player.inbox.get(timeout=timeout) if timeout > 0 else player.inbox.get_nowait()
            except queue.Empty:
                cmd = None
            while cmd is not None:
                player.handle(cmd)
                try:
                    cmd = player.inbox.get_nowait()
                except queue.Empty:
                    cmd = None
            if player.running:
                player.tick_due()
    finally:
        player.close()
        output.send({"type": "bye"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
