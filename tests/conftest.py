import atexit
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# Started as a non-interactive shell's background job (`cmd &` in a script), the tests would run with SIGINT
# ignored and pass that on to every child, so that no child could stop gracefully on SIGINT as it does when started
# from a terminal or the app (seen: the installer's Ctrl-C test and the process wrapper's graceful cancel). A handler
# of our own is reset to the default in every child at exec, where an ignored signal stays ignored.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# Ray workers import the test envs through the driver's sys.path; subprocess drivers get it from PYTHONPATH
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p)
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
# Trusted code (rlstudio/core/trust.py): the tests' settings folder is a temporary one, never the user's, and it
# trusts only the rollout tests' helper envs (the worker processes those tests start read it). Every other custom
# env is trusted explicitly by its test (--trust, RLSTUDIO_TRUSTED_MODULES) or not at all.
_CONFIG_DIR = tempfile.mkdtemp(prefix="rlstudio-test-config-")
atexit.register(shutil.rmtree, _CONFIG_DIR, ignore_errors=True)
os.environ["RLSTUDIO_CONFIG_DIR"] = _CONFIG_DIR
os.environ.pop("RLSTUDIO_TRUSTED_MODULES", None)
Path(_CONFIG_DIR, "trusted-modules.json").write_text('{"trusted_modules": ["rollout_envs"]}', encoding="utf-8")
# Experiments the tests run without naming a storage folder go to a temporary one, never ~/rlstudio-runs: a window
# lists its storage folder at start-up, and another test's experiment found there raced with a test's own (CI).
_STORAGE_DIR = tempfile.mkdtemp(prefix="rlstudio-test-runs-")
atexit.register(shutil.rmtree, _STORAGE_DIR, ignore_errors=True)
os.environ["RLSTUDIO_STORAGE"] = _STORAGE_DIR


def pytest_itemcollected(item):
    """Under pytest-xdist (the README's command: ``-n 2 --dist loadgroup``) the tests that use real Ray run one
    after another in one worker, as without it: they share one Ray session (``ray_session``), and two of them side
    by side would each train on half of a 2-core machine. The quick tests run in the other worker, mostly while
    those wait on Ray (a node's death, a job's status, an install's disk: 20 to 50 % of their time is idle). The mark
    goes on as each test is collected, before xdist's collection hook turns it into the test's group.

    Except ``ray_waits``: a Ray test that trains nothing (no shared session) and mostly sleeps or waits for a
    session to start or end (cores used / wall time 0.15 to 0.8, measured with bench/pytest_cpu.py): in the
    group it would hold up the training tests for ~40 s in all; beside them it costs them next to no CPU."""
    if item.get_closest_marker("ray") is not None and item.get_closest_marker("ray_waits") is None:
        item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """xdist 3.8 makes the group by renaming the test ``nodeid@group`` through ``item._nodeid``, which pytest 9.2
    no longer reads (its node ids are ``NodeId`` objects): every test would be its own group, and two Ray tests
    would run at once. The same rename, the way pytest 9.2 keeps ids; a no-op where xdist's own worked."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")
        assert not groups or item.nodeid.endswith("@" + "_".join(groups)), item.nodeid


def _ray_descendants():
    from rlstudio.engine import procs

    out = []
    for pid in procs.descendants(os.getpid()):
        cmd = procs.command_line(pid)
        if cmd and any(k in cmd for k in ("raylet", "gcs_server", "ray::", "rlstudio", "default_worker", "dashboard")):
            out.append((pid, cmd[:120]))
    return out


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory):
    """A warm local Ray session (in a helper process) shared by the engine tests; runs attach by address."""
    from rlstudio.engine.session import SessionHost

    host = SessionHost(num_cpus=2, log_path=tmp_path_factory.mktemp("session") / "host.log")
    host.start()
    yield host
    host.close()


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind():
    yield
    import time

    deadline = time.monotonic() + 20
    left = _ray_descendants()
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = _ray_descendants()
    assert not left, f"processes left behind by the tests: {left}"


def run_cli(*args, timeout=600, env=None, **kwargs):
    """Run `python -m rlstudio ...` as a user would; returns the CompletedProcess."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "rlstudio", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, **kwargs)


@pytest.fixture(autouse=True)
def _qt_isolation(request, tmp_path, monkeypatch):
    """GUI tests: settings in a temp folder, and no top-level widget or thread may outlive the test. As in the app
    (gui/app.py), Qt objects are only ever collected on the GUI thread: a collection that a worker thread set off
    destroyed an earlier test's widgets there and deadlocked against the GUI thread."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    import gc

    gc.collect()
    # What survives a full collection here is module state and session fixtures (torch, Ray, Qt: millions of
    # objects): freezing it keeps every later collection to what the tests themselves made, ~0.4 s less per test.
    gc.freeze()
    gc.disable()
    request.addfinalizer(gc.enable)
    request.addfinalizer(gc.collect)  # finalizers run last-in first-out: collect, then enable
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    _watch_dialogs()
    answered_before = len(_UNANSWERED)
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    # Windows, not widgets: enumerating topLevelWidgets() wraps pyqtgraph's parentless, never-shown menus,
    # which PySide6 may already have half-destroyed (a segfault seen in CI); a leaked window is a visible QWindow.
    before = {w.winId() for w in QGuiApplication.topLevelWindows() if w.isVisible()}
    yield
    leaked = [w for w in QGuiApplication.topLevelWindows() if w.isVisible() and w.winId() not in before]
    titles = [w.title() or w.objectName() for w in leaked]
    for w in leaked:
        w.close()
    assert not leaked, f"windows left open: {titles}"
    assert len(_UNANSWERED) == answered_before, f"dialogs nobody answered: {_UNANSWERED[answered_before:]}"


#: dialogs the watchdog had to answer (a test that opens one must answer it itself)
_UNANSWERED: list[str] = []
_DIALOG_PATIENCE_S = 30.0
_watchdog = None


def _watch_dialogs() -> None:
    """A modal dialog nobody answers (e.g. "A run is going" when pytest-qt closes the window of a test that failed
    mid-run) would wait forever — pytest-timeout does not cover pytest-qt's teardown, and a CI run hung there. Once
    a dialog has waited ``_DIALOG_PATIENCE_S``, the watchdog answers as Enter would (the default button; otherwise
    it rejects the dialog) and the test fails, saying which dialog it was."""
    global _watchdog
    if _watchdog is not None:
        return
    import time

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: dict[int, float] = {}

    def check():
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            seen.clear()
            return
        first = seen.setdefault(id(dialog), time.monotonic())
        if time.monotonic() - first < _DIALOG_PATIENCE_S:
            return
        seen.pop(id(dialog), None)
        text = dialog.text() if isinstance(dialog, QMessageBox) else ""
        _UNANSWERED.append(f"{dialog.windowTitle()!r}: {text[:120]!r}")
        default = dialog.defaultButton() if isinstance(dialog, QMessageBox) else None
        if default is not None:
            default.click()
        else:
            dialog.reject()

    _watchdog = QTimer()
    _watchdog.setInterval(1000)
    _watchdog.timeout.connect(check)
    _watchdog.start()


@pytest.fixture(scope="session", autouse=True)
def no_dialog_left_unanswered():
    """Also those the watchdog answered after a test had ended (in pytest-qt's closing of its widgets)."""
    yield
    assert not _UNANSWERED, f"dialogs nobody answered: {_UNANSWERED}"
