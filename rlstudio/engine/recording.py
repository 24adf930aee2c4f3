"""Record what a policy does as a GIF or MP4 (imageio; MP4 through the ffmpeg that imageio-ffmpeg ships).

Every recorded frame carries a caption (episode, step, return), burnt in. Besides telling the viewer what they
see, it makes consecutive frames always differ: the GIF writer (Pillow) merges identical consecutive frames, so
without it a GIF would hold fewer frames than were played. With it, frames written == frames in the file.

GIF frames are quantized (≤ 128 colours) and downscaled to at most :data:`GIF_MAX_WIDTH` as they arrive: a GIF
is written in one go at the end, so the frames are held in memory until then (~70 kB each instead of 720 kB for
a 600×400 RGB frame). MP4 streams to ffmpeg and holds nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlstudio.engine.policy import Evaluation, Policy, evaluate

GIF_MAX_WIDTH = 400
SUFFIXES = (".gif", ".mp4")


def caption(frame: np.ndarray, text: str) -> np.ndarray:
    """``frame`` with ``text`` drawn on a dark band at its top-left (a new array)."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.ascontiguousarray(frame[..., :3]))
    draw = ImageDraw.Draw(image)
    font = _font(max(10, min(16, image.height // 22)))
    left, top, right, bottom = draw.textbbox((4, 3), text, font=font)
    draw.rectangle((0, 0, right + 4, bottom + 3), fill=(20, 20, 20))
    draw.text((4, 3), text, fill=(255, 255, 255), font=font)
    return np.asarray(image)


_FONTS: dict[int, object] = {}


def _font(size: int):
    from PIL import ImageFont

    if size not in _FONTS:
        try:
            _FONTS[size] = ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1: the bitmap font, one size
            _FONTS[size] = ImageFont.load_default()
    return _FONTS[size]


def overlay_text(episode: int, step: int, total: float) -> str:
    return f"episode {episode}  step {step}  return {total:.1f}"


class FrameRecorder:
    """Writes frames to ``path`` (.gif or .mp4) at ``fps``; the file appears, complete, on :meth:`close`.
    ``max_frames`` (GIF only) bounds memory: :meth:`add` returns False once it is reached."""

    def __init__(self, path: str | Path, fps: float = 30, max_frames: int | None = None):
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in SUFFIXES:
            raise ValueError(f"recordings are .gif or .mp4 files, not {self.path.name}")
        self.fps = max(1.0, float(fps))
        self.max_frames = max_frames if self.suffix == ".gif" else None
        self.tmp = self.path.with_name(self.path.stem + ".part" + self.path.suffix)
        self.frames = 0
        self._gif: list = []
        self._mp4 = None
        self._shape = None
        if self.suffix == ".mp4":
            import imageio.v2 as imageio

            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._mp4 = imageio.get_writer(self.tmp, fps=self.fps, macro_block_size=1)

    @property
    def full(self) -> bool:
        return self.max_frames is not None and self.frames >= self.max_frames

    def add(self, frame: np.ndarray, text: str | None = None) -> bool:
        if self.full:
            return False
        frame = np.asarray(frame)[..., :3]
        if self.suffix == ".gif" and frame.shape[1] > GIF_MAX_WIDTH:
            k = -(-frame.shape[1] // GIF_MAX_WIDTH)
            frame = frame[::k, ::k]
        if self.suffix == ".mp4":  # yuv420p needs even sides; all frames one size
            if self._shape is None:
                self._shape = (frame.shape[0] + frame.shape[0] % 2, frame.shape[1] + frame.shape[1] % 2)
            frame = _fit(frame, self._shape)
        if text:
            frame = caption(frame, text)
        if self.suffix == ".gif":
            from PIL import Image

            self._gif.append(Image.fromarray(np.ascontiguousarray(frame)).quantize(
                colors=128, method=Image.Quantize.FASTOCTREE))
        else:
            self._mp4.append_data(np.ascontiguousarray(frame))
        self.frames += 1
        return True

    def close(self) -> int:
        """Finish the file (a GIF is encoded here, which takes a moment); returns the frames written."""
        if self.suffix == ".mp4":
            self._mp4.close()
        elif self._gif:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            duration = max(10, int(round(1000 / self.fps / 10)) * 10)  # GIF delays are in 1/100 s
            self._gif[0].save(self.tmp, save_all=True, append_images=self._gif[1:], duration=duration, loop=0)
            self._gif = []
        if self.frames:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)
        return self.frames

    def abort(self) -> None:
        if self._mp4 is not None:
            try:
                self._mp4.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away
                pass
        self._gif = []
        self.tmp.unlink(missing_ok=True)


def _fit(frame: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    if frame.shape[:2] == (h, w):
        return frame
    out = np.zeros((h, w, 3), dtype=np.uint8)
    fh, fw = min(h, frame.shape[0]), min(w, frame.shape[1])
    out[:fh, :fw] = frame[:fh, :fw]
    return out


def _tally(env):
    """``env`` wrapped to count episode, step and return as ``evaluate`` plays it (same seeds, same results)."""
    import gymnasium as gym

    class Tally(gym.Wrapper):
        episode, step_count, total = 0, 0, 0.0

        def reset(self, **kwargs):
            self.episode += 1
            self.step_count, self.total = 0, 0.0
            return self.env.reset(**kwargs)

        def step(self, action):
            out = self.env.step(action)
            self.step_count += 1
            self.total += float(out[1])
            return out

    return Tally(env)


def record_episodes(policy: Policy, env, episodes: int, seed: int, path: str | Path, threshold: float | None,
                    fps: int = 30) -> tuple[Evaluation, int]:
    """Play ``episodes`` seeded greedy episodes of an ``rgb_array`` env and write every frame to ``path``.
    Returns (evaluation, frames written). The file appears only when complete."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"--record takes a .gif or .mp4 file name, not {path.name}")
    recorder = FrameRecorder(path, fps)
    counted = _tally(env)
    try:
        result = evaluate(policy, counted, episodes, seed, threshold,
                          on_step=lambda e: recorder.add(e.render(), overlay_text(e.episode, e.step_count, e.total)))
    except BaseException:
        recorder.abort()
        raise
    return result, recorder.close()
