"""The app's session helper runs in its own session, so that lowering its scheduling group (it yields the CPU to
the app, with every Ray process and trial worker started under it) never lowers the app's own window."""

import json
import os
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui

#: what the real helper does first with --background, then it answers; here its answer says where it runs
FAKE_HELPER = textwrap.dedent("""
    import json, os
    from rlstudio.engine import procs
    procs.yield_cpu_to_desktop()
    print(json.dumps({"error": json.dumps({"sid": os.getsid(0)})}), flush=True)
""")


def autogroup() -> str | None:
    try:
        with open("/proc/self/autogroup") as fh:
            return fh.read().strip()
    except OSError:
        return None


def test_the_session_helper_runs_in_its_own_session_and_leaves_the_apps_priority_alone(qtbot, monkeypatch):
    from rlstudio.engine import session as engine_session
    from rlstudio.gui.bridge.session import SessionController
    from rlstudio.gui.bridge.tasks import TaskRunner

    monkeypatch.setattr(engine_session, "host_argv", lambda *a, **k: [sys.executable, "-c", FAKE_HELPER])
    monkeypatch.setattr(engine_session, "find_orphan_session", lambda: None)
    before = autogroup()
    tasks = TaskRunner()
    controller = SessionController(tasks)
    with qtbot.waitSignal(controller.state_changed, timeout=20000,
                          check_params_cb=lambda state, _text: state == "error") as answered:
        controller.start()
    helper_sid = json.loads(answered.args[1].split("— ", 1)[1])["sid"]
    assert helper_sid != os.getsid(0)
    assert autogroup() == before  # e.g. "/autogroup-12 nice 0": not lowered to nice 10 by the helper
    with qtbot.waitSignal(controller.ended, timeout=20000, raising=False):
        controller.shutdown()
    tasks.shutdown()
