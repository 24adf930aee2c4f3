"""Shared by the rollout tests: a small real experiment (trained once per test session) and a client for the
rollout helper process's protocol."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from conftest import ROOT, run_cli


def trained_experiment(tmp_path_factory, ray_session) -> Path:
    """Two trials of the cartpole-fast preset, 2 iterations each, a checkpoint after each iteration. Trained on
    the first call; later calls (from either test module) reuse the folder."""
    storage = tmp_path_factory.getbasetemp() / "rollout-runs"
    done = storage / "DONE"
    if not done.exists():
        data = yaml.safe_load((ROOT / "resources" / "presets" / "cartpole-fast.yaml").read_text())
        data["hyperparameters"]["lr"] = {"grid": [0.002, 0.0005]}
        data["stop"] = {"iterations": 2}
        data["checkpoint"] = {"every": 1, "at_end": True}
        data["resources"]["max_concurrent_trials"] = 2
        spec = tmp_path_factory.getbasetemp() / "rollout-exp.yaml"
        spec.write_text(yaml.safe_dump(data))
        proc = run_cli("run", spec, "--storage", storage, "--address", ray_session.address, "--quiet")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        done.write_text("")
    [folder] = [p for p in storage.iterdir() if p.is_dir()]
    return folder


def checkpoints(folder: Path) -> dict[str, list[dict]]:
    """trial id -> its checkpoint_saved events, oldest first."""
    from rlstudio.core.events import read_events

    out: dict[str, list[dict]] = {}
    for e in read_events(folder):
        if e["event"] == "checkpoint_saved":
            out.setdefault(e["trial_id"], []).append(e)
    return out


class Worker:
    """``python -m rlstudio.engine.rollout`` driven as the GUI drives it, messages read on a thread."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "rlstudio.engine.rollout"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue = queue.Queue()
        self.stderr = b""
        self._threads = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()
        assert self.next(lambda m: m["type"] == "ready", 30)

    def _read(self):
        out = self.proc.stdout
        while True:
            line = out.readline()
            if not line:
                self.messages.put(None)
                return
            header = json.loads(line)
            payload = out.read(header["nbytes"]) if header["type"] == "frame" else None
            header["payload"] = payload
            self.messages.put(header)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr += line

    def send(self, cmd: str, view: str | None = "v", **fields):
        self.proc.stdin.write((json.dumps({"cmd": cmd, "view": view, **fields}) + "\n").encode())
        self.proc.stdin.flush()

    def next(self, predicate, timeout: float = 30.0, seen: list | None = None) -> dict:
        """The next message matching ``predicate`` (the ones before it go to ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message in {timeout} s; stderr: {self.stderr[-2000:]!r}")
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                raise AssertionError(f"the worker ended; stderr: {self.stderr[-2000:]!r}")
            if predicate(msg):
                return msg
            if seen is not None:
                seen.append(msg)

    def drain(self, seconds: float) -> list[dict]:
        out, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg is not None:
                out.append(msg)
        return out

    def close(self) -> int:
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        for t in self._threads:
            t.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


def frames(messages, view="v"):
    return [m for m in messages if m["type"] == "frame" and m["view"] == view]
