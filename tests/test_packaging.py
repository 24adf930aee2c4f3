"""The built wheel is the product: it carries everything the app reads, installs (not editable) into a fresh
environment through packaging/install.sh and runs there; the menu entry, metadata and installer behave.

The end-to-end tests (marked ray) build the sdist and wheel with `python -m build` once, install the wheel with
packaging/install.sh into a temporary HOME (a fresh venv, every dependency installed by pip with --no-compile;
~30 s here), then run `rlstudio presets`, a shipped preset and the app's screenshot from that environment, never
from the checkout."""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import rlstudio
from conftest import ROOT, run_cli
from rlstudio import desktop
from rlstudio.core.resources import ICON_SIZES, icon_path, resources_dir

INSTALL_SH = ROOT / "packaging" / "install.sh"
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop menus are Linux's")


def clean_env(home: Path, **extra) -> dict:
    """The environment of a user who has never seen this checkout: own HOME, no project venv, no test paths."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "XDG_DATA_HOME", "PYTHONHOME") and not k.startswith("PYTEST")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    env["HOME"] = str(home)
    # pip asks `rustc --version` for its user agent: rustup's proxy would otherwise set itself up in the new HOME
    rustup = Path(os.environ.get("RUSTUP_HOME", Path.home() / ".rustup"))
    if rustup.is_dir():
        env["RUSTUP_HOME"] = str(rustup)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def install_sh(*args, home: Path, timeout=900, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL_SH), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=home, env=clean_env(home, **extra))


# ---- the project's own packaging files (quick) ---------------------------------------------------------------

def test_every_package_is_in_pyprojects_list():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "rlstudio").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
    assert "rlstudio._resources" in listed


# engine/introspect.py is the developers' generator of the catalog's data files: it writes into the package on
# purpose and never runs in an installed app
WRITES_THE_SOURCE_TREE_ON_PURPOSE = {"rlstudio/engine/introspect.py"}


def test_no_code_reads_files_relative_to_the_source_tree():
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "rlstudio").rglob("*.py")
                 if "parents[" in p.read_text()]
    wrong = sorted(set(offenders) - WRITES_THE_SOURCE_TREE_ON_PURPOSE)
    assert not wrong, (f"{wrong}: an installed wheel has no checkout around it; read run-time files through "
                       "rlstudio.core.resources (a demo that needs tests/ helpers: PYTHONPATH=tests)")
    # the resources are found as a package, here the checkout's own top-level folder (editable install)
    assert resources_dir() == ROOT / "resources"


def test_the_version_comes_from_one_place():
    import tomllib
    from importlib.metadata import version

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rlstudio.__version__"}
    assert version("rlstudio") == rlstudio.__version__
    out = run_cli("--version", timeout=60)
    assert out.stdout.strip() == f"rlstudio {rlstudio.__version__}"
    metainfo = (ROOT / "packaging" / "linux" / f"{desktop.APP_ID}.metainfo.xml").read_text()
    assert re.search(r'<release version="([^"]+)"', metainfo).group(1) == rlstudio.__version__


def test_icon_pngs_have_the_sizes_their_names_say():
    assert icon_path().read_text().lstrip().startswith("<?xml")
    for size in ICON_SIZES:
        data = icon_path(size).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)


def test_the_window_icon_has_every_size(qapp):
    from rlstudio.gui.app import app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert sorted(s.width() for s in icon.availableSizes()) == sorted(ICON_SIZES)


def _validate(tool: str, *args) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian: apt-get install "
                    f"{'desktop-file-utils' if tool.startswith('desktop') else 'appstream'})")
    out = subprocess.run([tool, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_packaged_desktop_entry_is_what_rlstudio_writes_and_valid():
    path = ROOT / "packaging" / "linux" / f"{desktop.APP_ID}.desktop"
    assert path.read_text() == desktop.desktop_entry()
    _validate("desktop-file-validate", path)


def test_the_appstream_metainfo_is_valid():
    path = ROOT / "packaging" / "linux" / f"{desktop.APP_ID}.metainfo.xml"
    assert f"<launchable type=\"desktop-id\">{desktop.APP_ID}.desktop</launchable>" in path.read_text()
    _validate("appstreamcli", "validate", "--no-net", path)


def test_exec_lines_quote_paths_with_spaces():
    entry = desktop.desktop_entry(["/home/a b/env/bin/rlstudio"])
    assert 'Exec="/home/a b/env/bin/rlstudio"\n' in entry
    assert "Exec=/usr/bin/python3 -m rlstudio\n" in desktop.desktop_entry(["/usr/bin/python3", "-m", "rlstudio"])


@linux_only
def test_desktop_install_and_uninstall_for_the_current_user(tmp_path):
    data = tmp_path / "share"
    mine = data / "applications" / "someone-else.desktop"
    mine.parent.mkdir(parents=True)
    mine.write_text("[Desktop Entry]\n")
    out = run_cli("desktop", "install", env={"XDG_DATA_HOME": str(data)}, timeout=60)
    assert out.returncode == 0, out.stderr
    entry = data / "applications" / f"{desktop.APP_ID}.desktop"
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert exec_line == f"Exec={Path(sys.executable).parent / 'rlstudio'}"  # this environment's command
    for n in ICON_SIZES:
        assert (data / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{desktop.APP_ID}.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{desktop.APP_ID}.svg").is_file()
    if shutil.which("desktop-file-validate"):
        _validate("desktop-file-validate", entry)

    out = run_cli("desktop", "uninstall", env={"XDG_DATA_HOME": str(data)}, timeout=60)
    assert out.returncode == 0 and f"{len(ICON_SIZES) + 2} files" in out.stdout, out.stdout
    left = sorted(p.relative_to(data) for p in data.rglob("*") if p.is_file())
    assert [str(p) for p in left if not p.name.startswith(("mimeinfo.cache", "icon-theme.cache"))] == \
        ["applications/someone-else.desktop"]
    out = run_cli("desktop", "uninstall", env={"XDG_DATA_HOME": str(data)}, timeout=60)
    assert out.returncode == 0 and "nothing to remove" in out.stdout


def test_desktop_integration_elsewhere_says_it_is_not_supported_yet(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert desktop.main("install") == 1
    assert "not supported on this system yet" in capsys.readouterr().err


# ---- the installer's refusals: each changes nothing (quick: nothing is downloaded) --------------------------

def _created(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


def test_installer_refuses_an_unsupported_python_and_changes_nothing(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\necho 3.9\n")
    old.chmod(0o755)
    out = install_sh("--python", old, home=home)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "RL Studio was not installed" in out.stderr and "3.9" in out.stderr and "3.10, 3.11 or 3.12" in out.stderr
    assert _created(home) == []


def test_installer_refuses_a_folder_it_cannot_write_and_changes_nothing(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    blocker = home / "not-a-folder"
    blocker.write_text("")
    out = install_sh("--python", BASE_PYTHON, "--from-index", home=home, XDG_DATA_HOME=blocker / "share")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "cannot write to" in out.stderr
    assert _created(home) == ["not-a-folder"]


def test_installer_refuses_a_missing_wheel(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    out = install_sh("--python", BASE_PYTHON, "--wheel", tmp_path / "nope.whl", home=home)
    assert out.returncode == 2 and "no wheel file" in out.stderr
    assert _created(home) == []


def test_installer_needs_to_be_told_what_to_install(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    out = install_sh("--python", BASE_PYTHON, home=home)
    assert out.returncode == 2 and "--wheel" in out.stderr and "another project" in out.stderr, out.stderr
    assert _created(home) == []


def _someone_elses_rlstudio_wheel(folder: Path) -> Path:
    """The public index's 'rlstudio' is another project: a wheel of that name which is not RL Studio."""
    wheel = folder / "rlstudio-9.0-py3-none-any.whl"
    info = "rlstudio-9.0.dist-info"
    files = {"rlstudio_other/__init__.py": "",
             f"{info}/METADATA": "Metadata-Version: 2.1\nName: rlstudio\nVersion: 9.0\nSummary: Something else\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
        z.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n")
    return wheel


FAKE_UV = """#!/bin/sh
# stands in for uv (not installed here): logs how the installer calls it, then does the same with venv and pip
echo "uv $*" >> "$UV_LOG"
if [ "$1" = venv ]; then
    shift; py=""; env=""
    while [ $# -gt 0 ]; do
        case "$1" in --python) py="$2"; shift 2 ;; --*) shift ;; *) env="$1"; shift ;; esac
    done
    exec "$py" -m venv "$env"
fi
if [ "$1" = pip ] && [ "$2" = install ] && [ "$3" = --python ]; then
    py="$4"; shift 4
    exec "$py" -m pip install "$@"
fi
exit 9
"""


class Install:
    """packaging/install.sh started in the background with its own HOME (in its own process group, ended by it if
    a test fails); :meth:`result` waits for it."""

    def __init__(self, home: Path, *args, **extra):
        home.mkdir(parents=True)
        self.home, self.args = home, ["bash", str(INSTALL_SH), *map(str, args)]
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=home,
                                     env=clean_env(home, **extra), start_new_session=True)

    def result(self, timeout: float = 300) -> subprocess.CompletedProcess:
        out, err = self.proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.args, self.proc.returncode, out, err)

    def end(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate()


@pytest.fixture(scope="module")
def failed_installs(tmp_path_factory):
    """Three installs that fail after the installer has made its environment, started together: each spends ~5 s
    making a venv (mostly ensurepip) and they share nothing, so on 2 cores the three take the time of two."""
    base = tmp_path_factory.mktemp("failed-installs")
    index = base / "index"
    index.mkdir()
    _someone_elses_rlstudio_wheel(index)
    bin_dir = base / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text(FAKE_UV)
    (bin_dir / "uv").chmod(0o755)
    uv_path = os.pathsep.join([str(bin_dir), clean_env(base)["PATH"]])
    runs = {
        # no index at all: the download of rlstudio fails after the environment was made; it is removed again
        "no index": Install(base / "no-index", "--python", BASE_PYTHON, "--from-index", "--version", "0.1.0", "--",
                            "--no-index", RLSTUDIO_INSTALLER="pip"),
        # the public index's rlstudio is another project: installed, recognised, removed with the environment
        "another project": Install(base / "another", "--python", BASE_PYTHON, "--from-index", "--", "--no-index",
                                   "--find-links", index, RLSTUDIO_INSTALLER="pip"),
        # the same with uv on the PATH (a stand-in that logs how it is called)
        "uv": Install(base / "uv", "--python", BASE_PYTHON, "--from-index", "--", "--no-index", "--find-links",
                      index, PATH=uv_path, UV_LOG=base / "uv.log"),
    }
    yield runs, index, base / "uv.log"
    for run in runs.values():
        run.end()


def test_a_failed_download_changes_nothing(failed_installs):
    runs, _, _ = failed_installs
    out = runs["no index"].result()
    assert out.returncode == 2, out.stdout + out.stderr
    assert "download or installation failed" in out.stderr and "nothing was changed" in out.stderr
    assert _created(runs["no index"].home) == []


def test_an_index_whose_rlstudio_is_another_project_changes_nothing(failed_installs):
    runs, _, _ = failed_installs
    out = runs["another project"].result()
    assert out.returncode == 2, out.stdout + out.stderr
    assert "is not RL Studio" in out.stderr and "nothing was changed" in out.stderr
    assert _created(runs["another project"].home) == []


def test_with_uv_the_installer_makes_the_environment_with_uv(failed_installs):
    runs, index, log = failed_installs
    out = runs["uv"].result()
    assert out.returncode == 2 and "is not RL Studio" in out.stderr, out.stdout + out.stderr
    env_dir = runs["uv"].home / ".local" / "share" / "rlstudio" / "env"
    assert log.read_text().splitlines() == [
        f"uv venv --quiet --seed --python {BASE_PYTHON} {env_dir}",
        f"uv pip install --python {env_dir}/bin/python rlstudio --no-index --find-links {index}"]
    assert _created(runs["uv"].home) == []


def test_an_interrupted_install_changes_nothing(tmp_path):
    import socket
    import time

    home = tmp_path / "home"
    home.mkdir()
    # an index that accepts the connection and never answers: the installer is inside pip when Ctrl-C comes
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/simple"
        proc = subprocess.Popen(["bash", str(INSTALL_SH), "--python", BASE_PYTHON, "--from-index", "--",
                                 "--index-url", url, "--no-cache-dir"], cwd=home, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=clean_env(home, RLSTUDIO_INSTALLER="pip"))
        try:
            deadline = time.monotonic() + 120
            while not list(home.rglob("site-packages/pip")) and time.monotonic() < deadline:
                time.sleep(0.2)  # the environment is made; pip is next
            time.sleep(2)
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):  # closed also when the test fails (else: unclosed-file errors)
                pipe.close()
    assert proc.returncode == 130, out + err
    assert "Interrupted" in err and "nothing was changed" in err
    assert _created(home) == []


def test_uninstall_when_nothing_was_installed(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    out = install_sh("--uninstall", home=home)
    assert out.returncode == 0 and "nothing was removed" in out.stdout
    assert _created(home) == []


# ---- end to end: the built wheel in a fresh environment (slow) ----------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheel, = out.glob("rlstudio-*.whl")
    sdist, = out.glob("rlstudio-*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """packaging/install.sh in a temporary HOME with the locally built wheel: (HOME, its environment)."""
    home = tmp_path_factory.mktemp("home")
    # the experiments folder is the user's: uninstall must keep it
    (home / "rlstudio-runs").mkdir()
    (home / "rlstudio-runs" / "keep.txt").write_text("mine")
    wheel, _ = built
    # pip's --no-compile (passed through by the installer): byte-compiling the ~19,000 modules of Ray, torch and
    # Qt is pip's work, not ours, and took about a third of the install here; the modules a run imports are
    # compiled when first imported
    out = install_sh("--python", BASE_PYTHON, "--wheel", wheel, "--", "--no-compile", home=home,
                     QT_QPA_PLATFORM="offscreen", RLSTUDIO_INSTALLER="pip")
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]
    assert "RL Studio is ready" in out.stdout, out.stdout[-3000:]  # the doctor passed (offscreen)
    assert "Everything RL Studio needs is here" in out.stdout
    return home, home / ".local" / "share" / "rlstudio" / "env"


def in_env(env_dir: Path, home: Path, *args, timeout=600, **extra) -> subprocess.CompletedProcess:
    """Run the installed `rlstudio` (or python) from a folder outside the checkout, as its user would."""
    cmd = [str(env_dir / "bin" / args[0]), *map(str, args[1:])]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=home,
                          env=clean_env(home, **extra))


@pytest.mark.ray
def test_the_wheel_and_the_sdist_carry_the_resources(built):
    wheel, sdist = built
    names = set(zipfile.ZipFile(wheel).namelist())
    for preset in (ROOT / "resources" / "presets").glob("*.yaml"):
        assert f"rlstudio/_resources/presets/{preset.name}" in names
    for size in ICON_SIZES:
        assert f"rlstudio/_resources/icons/rlstudio-{size}.png" in names
    assert "rlstudio/_resources/icons/rlstudio.svg" in names
    assert "rlstudio/core/data/algorithm_options.json" in names
    assert re.search(rf"rlstudio-{re.escape(rlstudio.__version__)}-py3-none-any\.whl$", wheel.name)
    with tarfile.open(sdist) as tar:
        members = {Path(*Path(m).parts[1:]).as_posix() for m in tar.getnames()}
    assert "resources/presets/cartpole-fast.yaml" in members and "resources/icons/rlstudio.svg" in members


@pytest.mark.ray
def test_the_installed_rlstudio_is_the_wheel_not_the_checkout(installed):
    home, env_dir = installed
    code = ("import importlib.metadata as m, rlstudio; from rlstudio.core.resources import resources_dir; "
            "print(rlstudio.__file__); print(resources_dir()); "
            "print(m.distribution('rlstudio').read_text('direct_url.json'))")
    out = in_env(env_dir, home, "python", "-c", code)
    assert out.returncode == 0, out.stderr
    module, resources, direct_url = out.stdout.splitlines()[:3]
    site = env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert Path(module).is_relative_to(site) and Path(resources) == site / "rlstudio" / "_resources"
    assert '"editable": true' not in direct_url and ".whl" in direct_url
    assert not list(site.glob("__editable__*")) and not list(site.glob("*.egg-link"))
    assert (home / ".local" / "bin" / "rlstudio").resolve() == env_dir / "bin" / "rlstudio"
    entry = home / ".local" / "share" / "applications" / f"{desktop.APP_ID}.desktop"
    assert f"Exec={env_dir / 'bin' / 'rlstudio'}\n" in entry.read_text()


@pytest.mark.ray
def test_the_installed_wheel_lists_presets_runs_one_and_opens_the_app(installed, tmp_path):
    home, env_dir = installed
    out = in_env(env_dir, home, "rlstudio", "presets")
    assert out.returncode == 0 and "cartpole-fast" in out.stdout, out.stderr
    preset = tmp_path / "cartpole-fast.yaml"
    out = in_env(env_dir, home, "rlstudio", "presets", "cartpole-fast", "-o", preset)
    assert out.returncode == 0, out.stderr

    # a shipped preset, to completion, on its own local Ray session started by the installed interpreter; two
    # iterations instead of its return target (that it reaches the target is test_compress.py's `trained`)
    import yaml

    data = yaml.safe_load(preset.read_text())
    data["stop"]["iterations"] = 2
    preset.write_text(yaml.safe_dump(data))
    out = in_env(env_dir, home, "rlstudio", "run", preset, "--storage", tmp_path / "runs", "--quiet", timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    folder, = (tmp_path / "runs").iterdir()
    from rlstudio.core.events import ExperimentState

    state = ExperimentState.load(folder)
    assert state.status == "completed" and [t.iteration for t in state.trials.values()] == [2]
    runner_log = (folder / "runner.log").read_text(errors="replace")
    assert str(ROOT / "rlstudio") not in runner_log  # nothing ran from the checkout

    shot = tmp_path / "app.png"
    out = in_env(env_dir, home, "rlstudio", "--screenshot", shot, timeout=180,
                 QT_QPA_PLATFORM="offscreen", RLSTUDIO_NO_SESSION="1")
    assert out.returncode == 0, out.stdout + out.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24])[0] > 600


@pytest.mark.ray
def test_the_installer_upgrades_in_place_and_uninstall_removes_only_what_it_made(installed, built):
    home, env_dir = installed
    wheel, _ = built
    python_before = (env_dir / "bin" / "python").stat().st_ino
    out = install_sh("--python", BASE_PYTHON, "--wheel", wheel, "--", "--no-compile", home=home,
                     QT_QPA_PLATFORM="offscreen", RLSTUDIO_INSTALLER="pip")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Upgrading RL Studio" in out.stdout and "RL Studio is ready" in out.stdout
    assert (env_dir / "bin" / "python").stat().st_ino == python_before  # the same environment, upgraded

    out = install_sh("--uninstall", home=home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert not (home / ".local" / "share" / "rlstudio").exists()
    assert not (home / ".local" / "bin" / "rlstudio").exists()
    share = home / ".local" / "share"
    assert not [p for p in share.rglob("*") if desktop.APP_ID in p.name]
    assert (home / "rlstudio-runs" / "keep.txt").read_text() == "mine"
