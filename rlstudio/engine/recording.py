"""Record what a policy does as a GIF or MP4 (imageio; MP4 through the ffmpeg that imageio-ffmpeg ships)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlstudio.engine.policy import Evaluation, Policy, evaluate


def record_episodes(policy: Policy, env, episodes: int, seed: int, path: str | Path, threshold: float | None,
                    fps: int = 30) -> tuple[Evaluation, int]:
    """Play ``episodes`` seeded greedy episodes of an ``rgb_array`` env and write every frame to ``path``.
    Returns (evaluation, frames written). The file appears only when complete."""
    import imageio.v2 as imageio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"--record takes a .gif or .mp4 file name, not {path.name}")
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    options = {"duration": 1000 / fps, "loop": 0} if suffix == ".gif" else {"fps": fps, "macro_block_size": 1}
    frames = 0
    with imageio.get_writer(tmp, **options) as writer:
        def on_step(e):
            nonlocal frames
            writer.append_data(np.asarray(e.render()))
            frames += 1

        result = evaluate(policy, env, episodes, seed, threshold, on_step=on_step)
    tmp.replace(path)
    return result, frames
