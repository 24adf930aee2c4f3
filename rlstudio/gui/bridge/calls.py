"""The engine functions the GUI calls in its own process, on a worker thread (``TaskRunner``): neither imports Ray
or torch (the cluster probe runs in a child process; the preview is gymnasium alone). Views call them from here,
so that the bridge stays the one place ``gui`` reaches the engine."""

from __future__ import annotations


def probe_cluster(address: str, token: str | None, timeout: float) -> dict:
    """The cluster's nodes and resources, asked from a throw-away child process (blocking: a worker thread)."""
    from rlstudio.engine.session import probe_cluster as probe

    return probe(address, token, timeout=timeout)


def random_policy_clip(env_id: str | None, entry_point: str | None, kwargs: dict | None) -> list:
    """The editor's preview: frames of the env played by a random policy (blocking: a worker thread)."""
    from rlstudio.engine.preview import random_policy_clip as clip

    return clip(env_id, entry_point, kwargs)
