"""A short clip of an environment played by a random policy: the editor's preview.

The app renders it in a short-lived child process (``python -m rlstudio.engine.preview REQUEST``, started through
:func:`preview_argv` by ``gui/bridge/preview.py``), never in its own: the env, its renderer (pygame and SDL, MuJoCo,
ALE) and a trusted user's module stay out of the app's process, with their memory (~35 MB for CartPole) and their
crashes. The child writes each frame as a JSON header line ``{"type": "frame", "index": i, "w": W, "h": H,
"nbytes": N}`` followed by N bytes of PNG (the app keeps the clip compressed: ~5 KB a frame instead of 180 KB),
then ``{"type": "done", "frames": n}``; or ``{"type": "error", "message": ...}`` and exit code 1.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from rlstudio.core.envs import make_env


def random_policy_clip(env_id: str | None, entry_point: str | None, kwargs: dict | None, frames: int = 60,
                       scale: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """Up to ``frames`` RGB frames (downscaled by ``scale``; by default to about 320 pixels wide, so a 160-pixel
    Atari screen stays whole and a 600-pixel Box2D one is halved). Raises if the env cannot render ``rgb_array``."""
    env = make_env(env_id, entry_point, kwargs, render_mode="rgb_array")
    try:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        clip = []
        for _ in range(frames):
            frame = env.render()
            if frame is None:
                raise RuntimeError("the environment returned no image (it may not support rgb_array rendering)")
            frame = np.asarray(frame)
            step = scale or max(1, round(frame.shape[1] / 320))
            clip.append(np.ascontiguousarray(frame[::step, ::step, :3]))
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        return clip
    finally:
        env.close()


def preview_argv(env_id: str | None, entry_point: str | None, kwargs: dict | None) -> list[str]:
    """The command line of the preview child (what :func:`main` reads)."""
    request = {"env_id": env_id, "entry_point": entry_point, "kwargs": dict(kwargs or {})}
    return [sys.executable, "-m", "rlstudio.engine.preview", json.dumps(request, default=str)]


def png_bytes(frame: np.ndarray) -> bytes:
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", frame, extension=".png")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = sys.stdout.buffer

    def send(header: dict, payload: bytes = b"") -> None:
        out.write(json.dumps(header).encode() + b"\n" + payload)

    try:
        request = json.loads(argv[0])
        clip = random_policy_clip(request.get("env_id"), request.get("entry_point"), request.get("kwargs") or {})
        for index, frame in enumerate(clip):
            png = png_bytes(frame)
            send({"type": "frame", "index": index, "w": int(frame.shape[1]), "h": int(frame.shape[0]),
                  "nbytes": len(png)}, png)
        send({"type": "done", "frames": len(clip)})
        out.flush()
    except BrokenPipeError:  # nobody reads any more (the app asked for another preview, or closed)
        return 1
    except Exception as exc:  # noqa: BLE001 - any failure of the env (user code included) becomes the message
        try:
            send({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
            out.flush()
        except BrokenPipeError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    from rlstudio.engine.procs import exit_now

    exit_now(main())
