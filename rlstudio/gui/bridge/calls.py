"""The engine functions the GUI calls in its own process, on a worker thread (``TaskRunner``). None imports Ray or
torch (the cluster probe itself runs in a child process). Views call them from here, so that the bridge stays the
one place ``gui`` reaches the engine."""

from __future__ import annotations


def probe_cluster(address: str, token: str | None, timeout: float) -> dict:
    """The cluster's nodes and resources, asked from a throw-away child process (blocking: a worker thread)."""
    from rlstudio.engine.session import probe_cluster as probe

    return probe(address, token, timeout=timeout)

