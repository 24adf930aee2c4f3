"""``rlstudio doctor``: can RL Studio run on this machine, and if not, what exactly to do about it.

Every check is quick (the whole report takes well under 3 s): nothing here imports Qt, Ray or torch. The Qt
platform plugin is checked with ``ldd`` (what the dynamic loader would find, without loading it), Ray's needs
(a writable temp folder with a short enough path, free ports, shared memory, disk) the way Ray itself measures
them. torch is imported (in a child process, with a time limit) only when an NVIDIA GPU is present, to say
whether it sees CUDA.

The app calls :func:`qt_start_problems` before it creates its ``QApplication``: Qt aborts the whole process when
its platform plugin cannot load, naming at most one of the libraries that are missing.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_PYTHON = ((3, 10), (3, 12))

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"

# The shared libraries Qt's Linux platform plugins (and the Qt libraries they load) need from the system, and
# the Debian/Ubuntu package of each. Read from `ldd` on PySide6's libqxcb.so and `dpkg -S` on Debian 12; a
# library not in this table is still named, with a generic way to find its package.
DEBIAN_PACKAGES = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libpng16.so.16": "libpng16-16",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libzstd.so.1": "libzstd1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libexpat.so.1": "libexpat1",
    "libpcre2-8.so.0": "libpcre2-8-0",
}

# platforms that draw into memory or a remote viewer: no display, no X libraries
NO_DISPLAY_PLATFORMS = {"offscreen", "minimal", "vnc", "linuxfb", "eglfs", "minimalegl"}

# Ray: the longest path it puts under its temp folder (session_<date>_<pid>/sockets/plasma_store) must fit a
# Unix socket address (107 bytes on Linux, 103 on macOS); above 95% disk use it refuses to create objects.
RAY_SOCKET_SUFFIX = len("/ray/session_2026-01-01_00-00-00_000000_4194304/sockets/plasma_store")
UNIX_SOCKET_MAX = 103 if sys.platform == "darwin" else 107
RAY_DISK_FULL = 0.95

def _env_families():  # (family, module that makes it work, the key `rlstudio install-envs` takes)
    from rlstudio.core import families

    return [(f"{f.label} ({', '.join(f.env_ids)}, ...)", f.module, f.key) for f in families.FAMILIES.values()]


@dataclass(frozen=True)
class Finding:
    topic: str
    level: str  # ok | info | warn | fail (fail: the app cannot run until it is fixed)
    message: str
    fix: str = ""


# ---- Qt ----------------------------------------------------------------------------------------------------

def qt_plugins_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins"


def qt_platforms(environ=None) -> list[str]:
    """The platform plugins Qt will try, in order, as Qt chooses them."""
    environ = os.environ if environ is None else environ
    wanted = environ.get("QT_QPA_PLATFORM", "").strip()
    if wanted:
        return [p.split(":", 1)[0].strip() for p in wanted.split(";") if p.strip()]
    if sys.platform.startswith("linux"):
        # Qt 6 tries Wayland first in a Wayland session and falls back to X11 (XWayland)
        if environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"):
            return ["wayland", "xcb"]
        return ["xcb"]
    return ["cocoa"] if sys.platform == "darwin" else ["windows"]


def parse_ldd(text: str) -> list[str]:
    """The libraries ``ldd`` reports as not found, in its order, each once."""
    missing: list[str] = []
    for line in text.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+not found", line)
        if m and m.group(1) not in missing:
            missing.append(m.group(1))
    return missing


def missing_libraries(plugin: Path, environ=None) -> list[str] | None:
    """The shared libraries the dynamic loader cannot find for ``plugin`` (honouring ``LD_LIBRARY_PATH`` in
    ``environ``); None when it cannot be checked here (no ``ldd``)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=5,
                             env=dict(os.environ if environ is None else environ))
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_ldd(out.stdout + out.stderr)


def linux_distribution(os_release: Path = Path("/etc/os-release")) -> set[str]:
    try:
        text = os_release.read_text()
    except OSError:
        return set()
    ids: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            ids.update(value.strip().strip('"').split())
    return ids


def install_command(libraries: list[str], packages: dict[str, str] | None = None,
                    distribution: set[str] | None = None) -> str:
    """What to type to install ``libraries``: apt-get for exactly their packages on Debian and Ubuntu."""
    packages = DEBIAN_PACKAGES if packages is None else packages
    distribution = linux_distribution() if distribution is None else distribution
    known = list(dict.fromkeys(packages[lib] for lib in libraries if lib in packages))
    unknown = [lib for lib in libraries if lib not in packages]
    parts = []
    if known and distribution & {"debian", "ubuntu"}:
        parts.append("sudo apt-get install " + " ".join(known))
    elif known:
        parts.append("install these with your distribution's package manager (their Debian names: "
                     + ", ".join(known) + ")")
    if unknown:
        parts.append("install the package that provides " + ", ".join(unknown)
                     + " (Debian/Ubuntu: apt-file search NAME; Fedora: dnf provides NAME)")
    return "; ".join(parts)


def check_qt(environ=None, plugins_dir: Path | None = None, packages: dict[str, str] | None = None,
             distribution: set[str] | None = None) -> list[Finding]:
    """Can Qt load a platform plugin it will try, and does that plugin have a display to draw on."""
    environ = os.environ if environ is None else environ
    plugins_dir = qt_plugins_dir() if plugins_dir is None else plugins_dir
    if plugins_dir is None:
        return [Finding("Qt", FAIL, "PySide6 (Qt for Python) is not installed in this Python environment",
                        f"{sys.executable} -m pip install --force-reinstall rlstudio")]
    platforms = qt_platforms(environ)
    if not sys.platform.startswith("linux"):
        return [Finding("Qt", OK, f"PySide6 is installed (platform: {', '.join(platforms)})")]
    findings: list[Finding] = []
    usable = False
    for name in platforms:
        plugin = plugins_dir / "platforms" / f"libq{name}.so"
        if not plugin.is_file():
            findings.append(Finding("Qt", FAIL, f"Qt has no '{name}' platform plugin ({plugin} is missing)",
                                    "set QT_QPA_PLATFORM to one of: xcb, wayland, offscreen"))
            continue
        missing = missing_libraries(plugin, environ)
        if missing is None:
            findings.append(Finding("Qt", WARN, f"cannot check the '{name}' platform plugin's libraries here "
                                                "(no ldd)"))
            missing = []
        elif not missing:
            findings.append(Finding("Qt", OK, f"the '{name}' platform plugin has every library it needs"))
        qt_own = [lib for lib in missing if lib.startswith(("libQt6", "libicu", "libpyside", "libshiboken"))]
        system = [lib for lib in missing if lib not in qt_own]
        if qt_own:
            findings.append(Finding("Qt", FAIL, f"PySide6 is incomplete: the '{name}' platform plugin cannot find "
                                                f"{', '.join(qt_own)}",
                                    f"{sys.executable} -m pip install --force-reinstall pyside6-essentials"))
        if system:
            findings.append(Finding("Qt", FAIL, f"the '{name}' platform plugin (the desktop window) needs system "
                                                f"libraries that are not installed: {', '.join(system)}",
                                    install_command(system, packages, distribution)))
        display = check_display(name, environ)
        findings.append(display)
        if not missing and display.level != FAIL:
            usable = True
            break  # Qt stops at the first plugin that works
    if usable:  # a later plugin works: the earlier ones' problems only matter as advice
        findings = [f if f.level != FAIL else Finding(f.topic, WARN, f.message, f.fix) for f in findings]
    return findings


def _x_display_reachable(display: str) -> bool | None:
    """Whether a local X server answers on ``display`` (":0", ":1.0"); None for a remote one (not checked)."""
    m = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if not m:
        return None
    path = f"/tmp/.X11-unix/X{m.group(1)}"
    for address in (path, "\0" + path):  # the file, or Linux's abstract socket of the same name
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                s.connect(address)
                return True
            except OSError:
                continue
    return False


def check_display(platform: str, environ=None) -> Finding:
    environ = os.environ if environ is None else environ
    headless_fix = ("on a machine without a screen, run experiments with 'rlstudio run FILE', take a picture of "
                    "the app with 'QT_QPA_PLATFORM=offscreen rlstudio --screenshot OUT.png', or open it in a "
                    "virtual display: 'xvfb-run rlstudio' (Debian/Ubuntu: sudo apt-get install xvfb)")
    if platform in NO_DISPLAY_PLATFORMS:
        return Finding("Display", OK, f"QT_QPA_PLATFORM={platform}: no display needed (nothing is shown on "
                                      "a screen)")
    if platform == "wayland":
        if environ.get("WAYLAND_DISPLAY"):
            return Finding("Display", OK, f"Wayland display {environ['WAYLAND_DISPLAY']}")
        return Finding("Display", FAIL, "no Wayland display (WAYLAND_DISPLAY is not set)", headless_fix)
    if platform == "xcb":
        display = environ.get("DISPLAY", "")
        if not display:
            return Finding("Display", FAIL, "no display: DISPLAY is not set, so the window has nowhere to open",
                           headless_fix)
        reachable = _x_display_reachable(display)
        if reachable is False:
            return Finding("Display", FAIL, f"no X server answers on DISPLAY={display}",
                           "start the desktop session, or point DISPLAY at a running one; " + headless_fix)
        return Finding("Display", OK, f"X display {display}")
    return Finding("Display", OK, f"platform {platform}")


def qt_start_problems(environ=None) -> list[Finding]:
    """What would make Qt abort the app at start, checked before any Qt import (Linux only; empty elsewhere)."""
    if not sys.platform.startswith("linux"):
        return []
    findings = check_qt(environ)
    return [f for f in findings if f.level == FAIL]


# ---- Python, Ray, disk, hardware ---------------------------------------------------------------------------

def check_python(version=None) -> Finding:
    version = tuple(sys.version_info[:3]) if version is None else tuple(version)
    text = ".".join(str(v) for v in version)
    low, high = SUPPORTED_PYTHON
    supported = f"{low[0]}.{low[1]}–{high[0]}.{high[1]}"
    if low <= version[:2] <= high:
        return Finding("Python", OK, f"Python {text} ({sys.executable})")
    return Finding("Python", FAIL, f"Python {text} is not supported: RL Studio (Ray, torch) needs Python {supported}",
                   f"install Python {high[0]}.{high[1]} and reinstall RL Studio with it")


def check_packages() -> list[Finding]:
    import importlib.metadata  # not at module level: the app's start-up check needs none of it

    findings = []
    for dist in ("ray", "torch", "gymnasium", "pyside6-essentials"):
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            findings.append(Finding("Packages", FAIL, f"{dist} is not installed in this environment",
                                    f"{sys.executable} -m pip install --force-reinstall rlstudio"))
            continue
        findings.append(Finding("Packages", OK, f"{dist} {version}"))
    try:
        from rlstudio.core.presets import list_presets

        count = len(list_presets())
    except Exception as exc:  # a broken install: say so instead of a traceback
        count, error = 0, str(exc)
    else:
        error = "no preset files"
    if count:
        findings.append(Finding("Packages", OK, f"RL Studio's presets are installed ({count})"))
    else:
        findings.append(Finding("Packages", FAIL, f"RL Studio's presets are missing ({error})",
                                f"{sys.executable} -m pip install --force-reinstall rlstudio"))
    return findings


def ray_temp_dir(environ=None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("RAY_TMPDIR") or tempfile.gettempdir())


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rlstudio-doctor-"):
            pass
        return True
    except OSError:
        return False


def _nearest_existing(path: Path) -> Path:
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_ray(environ=None) -> list[Finding]:
    """Ray can start its local session here: without starting it (that takes seconds)."""
    environ = os.environ if environ is None else environ
    findings = []
    tmp = ray_temp_dir(environ)
    if not _writable(tmp):
        findings.append(Finding("Ray", FAIL, f"Ray's temp folder {tmp} is not writable",
                                "set RAY_TMPDIR to a writable folder with a short path, e.g. "
                                "export RAY_TMPDIR=$HOME/.rt"))
    elif len(str(tmp.absolute())) + RAY_SOCKET_SUFFIX > UNIX_SOCKET_MAX:
        findings.append(Finding("Ray", FAIL, f"Ray's temp folder path is too long ({tmp}): its socket paths would "
                                             f"exceed {UNIX_SOCKET_MAX} characters",
                                "set RAY_TMPDIR to a short path, e.g. export RAY_TMPDIR=/tmp"))
    else:
        usage = shutil.disk_usage(tmp)
        used = 1 - usage.free / usage.total if usage.total else 0.0
        if used > RAY_DISK_FULL:
            findings.append(Finding("Ray", FAIL, f"the disk of Ray's temp folder {tmp} is {used:.0%} full: Ray "
                                                 f"refuses to store objects above {RAY_DISK_FULL:.0%}",
                                    "free some disk space, or set RAY_TMPDIR to a folder on another disk"))
        else:
            findings.append(Finding("Ray", OK, f"temp folder {tmp} is writable ({_gb(usage.free)} free)"))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
        findings.append(Finding("Ray", OK, "local ports can be opened"))
    except OSError as exc:
        findings.append(Finding("Ray", FAIL, f"cannot open a local network port ({exc.strerror}): Ray's processes "
                                             "talk over local ports",
                                "allow local (127.0.0.1) connections in the firewall or sandbox"))
    if sys.platform.startswith("linux"):
        try:
            shm = os.statvfs("/dev/shm")
            shm_free = shm.f_bavail * shm.f_frsize
        except OSError:
            shm_free = 0
        if shm_free < 512 * 2**20:
            findings.append(Finding("Ray", WARN, f"/dev/shm has only {_gb(shm_free)} free: Ray keeps its object "
                                                 "store in the temp folder instead (slower)",
                                    "in Docker, start the container with --shm-size=2g"))
        else:
            findings.append(Finding("Ray", OK, f"shared memory /dev/shm: {_gb(shm_free)} free"))
    return findings


def check_storage(storage: Path, label: str = "storage folder") -> Finding:
    """Can runs be written to ``storage``; ``label`` names it ("the app's storage folder" for the Settings one)."""
    where = _nearest_existing(storage)
    if not where.is_dir() or not os.access(where, os.W_OK):
        return Finding("Storage", FAIL, f"the {label} {storage} cannot be written ({where} is not a folder you "
                                        "can write to)",
                       "choose another storage folder: File ▸ Settings in the app, or --storage DIR")
    free = shutil.disk_usage(where).free
    if free < 500 * 2**20:
        return Finding("Storage", FAIL, f"only {_gb(free)} free for the {label} {storage}: runs write "
                                        "checkpoints and logs there", "free some disk space or choose another "
                                                                      "storage folder")
    if free < 5 * 2**30:
        return Finding("Storage", WARN, f"{_gb(free)} free for the {label} {storage}; long runs with many "
                                        "checkpoints can need more")
    return Finding("Storage", OK, f"{label} {storage}: {_gb(free)} free")


def _memory_bytes() -> tuple[int, int] | None:
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return int(info["MemTotal"].split()[0]) * 1024, int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return total, total
    except (ValueError, OSError, AttributeError):
        return None


def nvidia_gpus() -> list[str]:
    gpus = Path("/proc/driver/nvidia/gpus")
    if gpus.is_dir():
        return [p.name for p in sorted(gpus.iterdir())]
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=2)
            return [line for line in out.stdout.splitlines() if line.startswith("GPU")]
        except (OSError, subprocess.TimeoutExpired):
            return []
    return []


def check_hardware(torch_timeout_s: float = 2.0) -> list[Finding]:
    import importlib.metadata

    findings = []
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    findings.append(Finding("Hardware", OK if cpus >= 2 else WARN,
                            f"{cpus} CPU{'s' if cpus != 1 else ''} for Ray"
                            + ("" if cpus >= 2 else ": trials will run one at a time, slowly")))
    memory = _memory_bytes()
    if memory:
        total, available = memory
        level = OK if total >= 4 * 2**30 else WARN
        findings.append(Finding("Hardware", level, f"memory: {_gb(total)} ({_gb(available)} available)"
                                + ("" if level == OK else "; each trial's workers need about 0.5 GB")))
    gpus = nvidia_gpus()
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = None
    if not gpus:
        findings.append(Finding("GPU", INFO, "no NVIDIA GPU found: training runs on the CPU"))
    elif torch_version and "+cpu" in torch_version:
        findings.append(Finding("GPU", INFO, f"{len(gpus)} NVIDIA GPU(s), but torch {torch_version} is the CPU "
                                             "build: training runs on the CPU",
                                "for GPU training install torch's CUDA build into this environment "
                                "(https://pytorch.org/get-started/locally/)"))
    else:
        sees = _torch_sees_cuda(torch_timeout_s)
        if sees is None:
            findings.append(Finding("GPU", INFO, f"{len(gpus)} NVIDIA GPU(s); torch did not answer within "
                                                 f"{torch_timeout_s:.0f} s whether it sees CUDA"))
        elif sees:
            findings.append(Finding("GPU", OK, f"{len(gpus)} NVIDIA GPU(s), and torch sees CUDA"))
        else:
            findings.append(Finding("GPU", WARN, f"{len(gpus)} NVIDIA GPU(s), but torch does not see CUDA: "
                                                 "training runs on the CPU",
                                    "check the NVIDIA driver (nvidia-smi) and that torch's CUDA version suits it"))
    return findings


def _torch_sees_cuda(timeout_s: float) -> bool | None:
    try:
        out = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                             capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() == "True"


def check_env_families() -> list[Finding]:
    findings = []
    for family, module, key in _env_families():
        if importlib.util.find_spec(module) is not None:
            findings.append(Finding("Environments", OK, f"{family}: installed"))
        else:
            findings.append(Finding("Environments", INFO, f"{family}: not installed (optional)",
                                    f"rlstudio install-envs {key} (or the Install button on the Environment page)"))
    return findings


def _gb(n: int) -> str:
    return f"{n / 2**30:.1f} GB"


# ---- the report --------------------------------------------------------------------------------------------

def app_storage_setting(environ=None) -> Path | None:
    """The storage folder chosen in the app's Settings, read from Qt's settings file without Qt (Linux: an INI
    file ``$XDG_CONFIG_HOME/RLStudio/RL Studio.conf``); None when it was never set or cannot be read."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    base = Path(environ.get("XDG_CONFIG_HOME") or Path(environ.get("HOME") or Path.home()) / ".config")
    try:
        text = (base / "RLStudio" / "RL Studio.conf").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[General]" and line.startswith("storage="):
            value = line.split("=", 1)[1].strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':  # Qt quotes values with commas
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            return Path(value).expanduser() if value else None
    return None


def run_checks(storage: Path, environ=None) -> list[Finding]:
    findings = [check_python()]
    findings += check_packages()
    findings += check_qt(environ)
    findings += check_ray(environ)
    findings.append(check_storage(storage))
    chosen = app_storage_setting(environ)
    if chosen is not None and chosen.expanduser().absolute() != storage.expanduser().absolute():
        findings.append(check_storage(chosen, "app's storage folder (Settings)"))
    findings += check_hardware()
    findings += check_env_families()
    return findings


MARKS = {OK: "ok  ", INFO: "info", WARN: "warn", FAIL: "FAIL"}


def format_findings(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{MARKS[f.level]}  {f.topic + ':':<14}{f.message}")
        if f.fix and f.level != OK:
            lines.append(f"{'':6}{'':<14}{'to add' if f.level == INFO else 'fix'}: {f.fix}")
    return "\n".join(lines)


def main(storage: Path, out=None) -> int:
    """Print every finding; exit 0 when the app can run here, 1 with the list of what stops it."""
    out = sys.stdout if out is None else out
    from rlstudio import __version__

    started = time.perf_counter()
    findings = run_checks(storage)
    print(f"RL Studio {__version__} on {sys.platform}, Python at {sys.executable}\n", file=out)
    print(format_findings(findings), file=out)
    failed = [f for f in findings if f.level == FAIL]
    took = time.perf_counter() - started
    if failed:
        print(f"\nRL Studio cannot run here yet: {len(failed)} problem(s) marked FAIL above; the line under "
              f"each says what to do. (checked in {took:.1f} s)", file=out)
        return 1
    print(f"\nEverything RL Studio needs is here. Start it with: rlstudio (checked in {took:.1f} s)", file=out)
    return 0
