"""`rlstudio doctor`: each check says what is wrong in the user's terms and what to do; the app prints the
doctor's findings instead of Qt's abort when Qt cannot start."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import run_cli
from rlstudio import doctor
from rlstudio.doctor import FAIL, OK

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Qt library check is Linux's")

# `ldd libqxcb.so` on a fresh Debian 12 desktop (abridged): Qt's own message named only xcb-cursor0
LDD_FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd2b1f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f5c1c200000)
\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x00007f5c1c17a000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f5c1c171000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f5c1c16a000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f5c1c3f6000)
"""


def test_ldd_output_names_each_missing_library_once_and_apt_get_installs_exactly_their_packages():
    missing = doctor.parse_ldd(LDD_FRESH_DEBIAN)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert doctor.install_command(missing, distribution={"ubuntu", "debian"}) == \
        "sudo apt-get install libxcb-icccm4 libxcb-keysyms1"
    # elsewhere: the Debian names as a hint, never an apt-get line that cannot work
    other = doctor.install_command(missing, distribution={"fedora"})
    assert "apt-get" not in other and "libxcb-icccm4" in other
    # a library the table does not know is still named, with how to find its package
    unknown = doctor.install_command(["libfoo.so.3"], distribution={"debian"})
    assert "libfoo.so.3" in unknown and "apt-file search" in unknown and "apt-get install" not in unknown


@linux_only
def test_every_library_this_machines_xcb_plugin_lacks_has_its_package_named():
    plugin = doctor.qt_plugins_dir() / "platforms" / "libqxcb.so"
    missing = doctor.missing_libraries(plugin)
    assert missing is not None, "ldd is missing"
    assert not [lib for lib in missing if lib not in doctor.DEBIAN_PACKAGES], missing


def _plugin_with_a_dependency_renamed(tmp_path: Path) -> tuple[Path, str, Path]:
    """A copy of PySide6's xcb plugin whose dependency libxcb-cursor.so.0 is renamed (same length) to a library
    no system has: a machine without that library, with no container. Returns (plugins dir, the library's name,
    a real library to stand in for it)."""
    real = doctor.qt_plugins_dir() / "platforms" / "libqxcb.so"
    data = real.read_bytes()
    old, new = b"libxcb-cursor.so.0\0", b"librlsdoctest.so.0\0"
    assert len(old) == len(new) and data.count(old) == 1
    plugins = tmp_path / "plugins"
    (plugins / "platforms").mkdir(parents=True)
    (plugins / "platforms" / "libqxcb.so").write_bytes(data.replace(old, new))
    ldd = subprocess.run(["ldd", str(real)], capture_output=True, text=True).stdout
    stand_in = Path(re.search(r"libxcb\.so\.1 => (\S+)", ldd).group(1))
    return plugins, "librlsdoctest.so.0", stand_in


@linux_only
def test_doctor_names_a_library_absent_from_the_library_path_and_its_package(tmp_path):
    plugins, name, stand_in = _plugin_with_a_dependency_renamed(tmp_path)
    qt_lib = doctor.qt_plugins_dir().parent / "lib"  # the copy is away from Qt's own libraries: point at them
    env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0", "LD_LIBRARY_PATH": str(qt_lib), "PATH": os.environ["PATH"]}
    packages = {**doctor.DEBIAN_PACKAGES, name: "rlstudio-doctor-test1"}

    findings = doctor.check_qt(env, plugins_dir=plugins, packages=packages, distribution={"debian"})
    lacking = [f for f in findings if f.level == FAIL and f.topic == "Qt"]
    assert len(lacking) == 1 and name in lacking[0].message, findings
    assert "(the desktop window)" in lacking[0].message
    fix = lacking[0].fix
    assert fix.startswith("sudo apt-get install ") and "rlstudio-doctor-test1" in fix.split()
    assert "libQt6" not in lacking[0].message  # LD_LIBRARY_PATH was honoured

    # the same library present on the library path: no longer named
    extra = tmp_path / "lib"
    extra.mkdir()
    shutil.copyfile(stand_in, extra / name)
    env["LD_LIBRARY_PATH"] = f"{extra}:{qt_lib}"
    findings = doctor.check_qt(env, plugins_dir=plugins, packages=packages, distribution={"debian"})
    assert not any(name in f.message for f in findings), findings


@linux_only
def test_qt_libraries_missing_from_pyside6_say_reinstall_pyside6(tmp_path):
    plugins, _, _ = _plugin_with_a_dependency_renamed(tmp_path)
    env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0", "PATH": os.environ["PATH"]}
    findings = doctor.check_qt(env, plugins_dir=plugins, distribution={"debian"})
    qt_own = [f for f in findings if f.level == FAIL and "PySide6 is incomplete" in f.message]
    assert qt_own and "libQt6XcbQpa.so.6" in qt_own[0].message and "pyside6-essentials" in qt_own[0].fix


def test_display_findings_say_how_to_run_headless():
    assert doctor.check_display("offscreen", {}).level == OK
    none = doctor.check_display("xcb", {})
    assert none.level == FAIL and "DISPLAY" in none.message
    assert "QT_QPA_PLATFORM=offscreen" in none.fix and "xvfb-run" in none.fix and "rlstudio run" in none.fix
    # a display number no X server answers on (the sockets of :1999 do not exist)
    dead = doctor.check_display("xcb", {"DISPLAY": ":1999"})
    assert dead.level == FAIL and ":1999" in dead.message
    assert doctor.check_display("wayland", {}).level == FAIL
    assert doctor.check_display("wayland", {"WAYLAND_DISPLAY": "wayland-0"}).level == OK


def test_qt_platforms_follow_qts_own_choice():
    assert doctor.qt_platforms({"QT_QPA_PLATFORM": "offscreen"}) == ["offscreen"]
    assert doctor.qt_platforms({"QT_QPA_PLATFORM": "wayland;xcb"}) == ["wayland", "xcb"]
    assert doctor.qt_platforms({"QT_QPA_PLATFORM": "vnc:size=800x600"}) == ["vnc"]
    if sys.platform.startswith("linux"):
        assert doctor.qt_platforms({}) == ["xcb"]
        assert doctor.qt_platforms({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "w"}) == ["wayland", "xcb"]


def test_python_versions_outside_the_supported_range_are_refused():
    assert doctor.check_python((3, 11, 4)).level == OK
    for version in ((3, 9, 18), (3, 13, 0)):
        finding = doctor.check_python(version)
        assert finding.level == FAIL and "3.10–3.12" in finding.message


def test_ray_needs_a_writable_temp_folder_with_a_short_path(tmp_path):
    short = Path(tempfile.mkdtemp(prefix="rd", dir="/tmp"))  # pytest's own tmp_path is already too long for Ray
    try:
        ok = doctor.check_ray({"RAY_TMPDIR": str(short)})
        assert all(f.level != FAIL for f in ok), ok
    finally:
        shutil.rmtree(short)
    a_file = tmp_path / "file"
    a_file.write_text("")
    unwritable = doctor.check_ray({"RAY_TMPDIR": str(a_file / "ray")})
    assert any(f.level == FAIL and "not writable" in f.message and "RAY_TMPDIR" in f.fix for f in unwritable)
    # Ray's own limit: its plasma socket under this folder would be longer than 107 bytes
    long_path = doctor.check_ray({"RAY_TMPDIR": str(tmp_path / ("d" * 40))})
    assert any(f.level == FAIL and "too long" in f.message for f in long_path), long_path


def test_storage_folder_must_be_writable(tmp_path):
    assert doctor.check_storage(tmp_path / "runs").level != FAIL
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert doctor.check_storage(a_file / "runs").level == FAIL


def test_doctor_is_quick_imports_neither_qt_ray_nor_torch_and_exits_0_when_the_app_can_run(tmp_path):
    code = ("import sys, time; from pathlib import Path; from rlstudio import doctor; t = time.perf_counter(); "
            f"rc = doctor.main(Path({str(tmp_path)!r})); "
            "print('took', time.perf_counter() - t); "
            "print('heavy', sorted(m for m in ('PySide6.QtCore', 'ray', 'torch') if m in sys.modules)); "
            "raise SystemExit(rc)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "heavy []" in out.stdout
    assert float(re.search(r"took ([\d.]+)", out.stdout).group(1)) < 3.0
    for topic in ("Python", "Qt", "Display", "Ray", "Storage", "Hardware", "GPU", "Environments"):
        assert f"{topic}:" in out.stdout, topic


def test_rlstudio_doctor_exits_1_with_the_list_when_the_app_cannot_run(tmp_path):
    started = time.monotonic()
    env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ""}
    out = run_cli("doctor", "--storage", tmp_path, env=env, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL  Display:" in out.stdout and "cannot run here yet" in out.stdout
    assert time.monotonic() - started < 10  # the interpreter's start included


@linux_only
def test_the_app_prints_the_doctors_findings_instead_of_qts_abort():
    # a display nobody answers on: Qt would abort ("could not connect to display"); the app explains instead
    out = run_cli(env={"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1999"}, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "the desktop app cannot start here" in out.stderr and "FAIL  Display:" in out.stderr
    assert "rlstudio doctor" in out.stderr
    assert "qt.qpa" not in out.stderr and "Aborted" not in out.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's settings file is an INI file on Linux")
def test_the_storage_folder_chosen_in_the_apps_settings_is_checked_too(tmp_path):
    conf = tmp_path / "config" / "RLStudio" / "RL Studio.conf"
    conf.parent.mkdir(parents=True)
    a_file = tmp_path / "file"
    a_file.write_text("")
    conf.write_text(f"[General]\ncluster=\nstorage={a_file / 'runs'}\n")
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}
    assert doctor.app_storage_setting(environ) == a_file / "runs"
    findings = [f for f in doctor.run_checks(tmp_path / "runs", environ) if f.topic == "Storage"]
    assert [f.level for f in findings] == [OK, FAIL], findings
    assert "app's storage folder (Settings)" in findings[1].message and "Settings" in findings[1].fix
    # never set: only the command line's folder
    conf.write_text("[General]\ncluster=\n")
    assert doctor.app_storage_setting(environ) is None
