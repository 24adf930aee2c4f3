import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
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


def _ray_descendants():
    from rlstudio.engine import procs

    out = []
    for pid in procs.descendants(os.getpid()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(k in cmd for k in ("raylet", "gcs_server", "ray::", "rlstudio", "default_worker", "dashboard")):
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
    gc.disable()
    request.addfinalizer(gc.enable)
    request.addfinalizer(gc.collect)  # finalizers run last-in first-out: collect, then enable
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
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
