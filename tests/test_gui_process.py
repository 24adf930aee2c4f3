"""The bridge's one process wrapper (ChildProcess) with tiny Python children: no Ray, fast."""

import signal
import sys
import textwrap
import time

import pytest

from rlstudio.engine import procs

pytestmark = pytest.mark.gui


def child(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


@pytest.fixture
def made():
    """Every wrapper a test makes; a child a failed test left running is ended by its PID."""
    out = []
    yield out
    for process in out:
        if process.running:
            procs.terminate([process.pid, *procs.descendants(process.pid)], timeout=2)
            process.wait(5)


def make(made, **options):
    from rlstudio.gui.bridge import ChildProcess

    process = ChildProcess(**options)
    made.append(process)
    return process


def test_json_lines_and_binary_frames_arrive_as_signals_newest_frame_per_key(qtbot, made):
    process = make(made, frame_key="view")
    messages, batches = [], []
    process.message_received.connect(messages.append)
    process.frames_received.connect(batches.append)
    script = r'''
        import json, os
        def frame(view, n, fill):
            header = json.dumps({"type": "frame", "view": view, "nbytes": n, "n": fill}) + "\n"
            return header.encode() + bytes([fill]) * n
        blob = (b'{"type": "hello", "text": "a"}\nnot json, ignored\n' + frame("a", 5, 1) + frame("a", 5, 2)
                + frame("b", 3, 9) + b'{"type": "bye"}')  # the last line has no newline
        os.write(1, blob)  # one write: frame "a" 1 is a backlog when it is read, and dropped
    '''
    with qtbot.waitSignal(process.finished, timeout=10000) as ended:
        process.start(child(script))
    assert ended.args == [0] and process.outcome == "finished"
    assert messages == [{"type": "hello", "text": "a"}, {"type": "bye"}]
    frames = [(header["view"], header["n"], payload) for batch in batches for header, payload in batch]
    assert ("a", 2, b"\x02" * 5) in frames and ("b", 9, b"\x09" * 3) in frames
    assert ("a", 1, b"\x01" * 5) not in frames


def test_progress_and_the_commands_messages_come_from_stderr(qtbot, made):
    process = make(made, stdin=False)
    progress = []
    process.progressed.connect(lambda done, total: progress.append((done, total)))
    script = '''
        import sys
        for i in range(1, 4):
            print(f"progress {i}/3", file=sys.stderr, flush=True)
        print("rlstudio: the checkpoint folder does not exist", file=sys.stderr)
        sys.exit(2)
    '''
    with qtbot.waitSignal(process.finished, timeout=10000) as ended:
        process.start(child(script))
    assert ended.args == [2]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert process.messages == ["the checkpoint folder does not exist"]
    assert "progress" not in process.last_lines()


def test_cancel_is_graceful_first(qtbot, made):
    process = make(made, stdin=False, graceful=signal.SIGINT, grace_ms=5000)
    said = []
    process.message_received.connect(said.append)
    script = '''
        import json, time
        try:
            print(json.dumps({"ready": True}), flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            print(json.dumps({"stopped": "cleanly"}), flush=True)
    '''
    with qtbot.waitSignal(process.message_received, timeout=10000):
        process.start(child(script))
    with qtbot.waitSignal(process.finished, timeout=10000) as ended:
        process.cancel()
    assert ended.args == [0] and process.outcome == "cancelled"
    assert said[-1] == {"stopped": "cleanly"}


def test_a_child_that_ignores_the_request_and_sigterm_is_killed_and_shutdown_never_blocks(qtbot, made):
    """The quit line and end of input are ignored, SIGTERM too: the kill timer ends it (and what it started)."""
    process = make(made, quit_line=b"quit\n", graceful="stdin", grace_ms=1000, kill_ms=300)
    script = '''
        import json, os, signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        grandchild = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
        print(json.dumps({"grandchild": grandchild.pid}), flush=True)
        sys.stdin.close()
        time.sleep(60)
    '''
    with qtbot.waitSignal(process.message_received, timeout=10000) as said:
        process.start(child(script))
    tree = [process.pid, said.args[0]["grandchild"]]
    ended = []
    started = time.perf_counter()
    process.shutdown(then=lambda: ended.append(time.perf_counter()))
    returned = time.perf_counter() - started
    assert process.running and not ended and returned < 0.5  # it asked and went on: nothing waited (the grace
    # alone is 1 s)
    qtbot.waitUntil(lambda: bool(ended), timeout=10000)
    assert process.returncode == -signal.SIGKILL and process.outcome == "cancelled"
    assert procs.still_alive(tree) == []
    assert ended[0] - started >= 1.2  # the grace, then SIGTERM (ignored), then SIGKILL (Qt's timers: ±5 %)


def test_the_quit_line_on_stdin_ends_a_child_that_listens(qtbot, made):
    process = make(made, graceful="stdin", quit_line=b'{"cmd": "quit"}\n', grace_ms=5000)
    script = '''
        import json, sys
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            message = json.loads(line)
            print(json.dumps({"got": message["cmd"]}), flush=True)
            if message["cmd"] == "quit":
                break
    '''
    said = []
    process.message_received.connect(said.append)
    with qtbot.waitSignal(process.message_received, timeout=10000):
        process.start(child(script))
    assert process.send({"cmd": "hello"})
    qtbot.waitUntil(lambda: {"got": "hello"} in said, timeout=5000)
    with qtbot.waitSignal(process.finished, timeout=5000) as ended:
        process.shutdown()
    assert ended.args == [0] and said[-1] == {"got": "quit"}
    assert not process.send({"cmd": "late"})  # nothing to write to any more


def test_a_detached_child_goes_on_and_an_adopted_one_is_followed_by_its_pid(qtbot, made):
    from rlstudio.gui.bridge import ChildProcess

    process = make(made, stdin=False, new_session=True)
    process.start(child("import time; time.sleep(60)"))
    pid = process.pid
    process.detach()
    assert not process.running and procs.alive(pid)
    follower = ChildProcess()
    follower.adopt(pid)
    assert follower.running and follower.pid == pid
    with qtbot.waitSignal(follower.finished, timeout=10000) as ended:
        follower.cancel()  # SIGTERM by its PID
    assert ended.args == [-1] and not procs.alive(pid)  # its exit code is not ours to read
    procs.reap_detached()


def test_a_child_that_closed_its_output_costs_the_gui_no_cpu_while_it_runs_on(qtbot, made):
    """A pipe at end of file is always readable: its notifier must go off, or the GUI thread spins on empty
    reads until the child ends (once ~2,000 a second, while the session helper was shutting Ray down)."""
    process = make(made)
    script = '''
        import os, time
        os.close(1)
        os.close(2)
        time.sleep(1.5)
    '''
    cpu, wall = time.process_time(), time.monotonic()
    with qtbot.waitSignal(process.finished, timeout=10000):
        process.start(child(script))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    assert wall >= 1.4 and cpu < 0.3 * wall, (cpu, wall)
