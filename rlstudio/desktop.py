"""``rlstudio desktop install|uninstall``: RL Studio in the desktop's application menu, for the current user.

Linux only for now (freedesktop.org menus: a ``.desktop`` entry and hicolor icons under ``$XDG_DATA_HOME``,
default ``~/.local/share``). The entry starts the ``rlstudio`` of the environment this command runs in, by its
full path, so an installation in its own environment (packaging/install.sh) needs nothing on ``PATH``.

packaging/linux/ holds the same entry for distribution packages (``Exec=rlstudio``): tests check that it is
what :func:`desktop_entry` writes and that it passes ``desktop-file-validate``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rlstudio.core.resources import ICON_SIZES, icon_path

APP_ID = "io.github.rlstudio.RLStudio"


def data_home(environ=None) -> Path:
    environ = os.environ if environ is None else environ
    value = environ.get("XDG_DATA_HOME", "")
    # the spec: an unset, empty or relative value means the default
    if value and os.path.isabs(value):
        return Path(value)
    return Path(environ.get("HOME") or Path.home()) / ".local" / "share"


def launcher() -> list[str]:
    """The command that starts this environment's RL Studio."""
    script = Path(sys.executable).parent / "rlstudio"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "rlstudio"]


def _quote_exec(word: str) -> str:
    # Exec= quoting (Desktop Entry spec): a word with reserved characters goes in double quotes, with " ` $ \
    # escaped by a backslash; a literal % is written %%
    word = word.replace("%", "%%")
    if not any(c in word for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return word
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in word)
    return f'"{escaped}"'


def desktop_entry(command: list[str] | None = None) -> str:
    # the string escaping of every value applies on top of the quoting: a backslash is written twice again
    exec_line = " ".join(_quote_exec(w) for w in (command or ["rlstudio"])).replace("\\", "\\\\")
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        "Name=RL Studio",
        "GenericName=Reinforcement Learning Workbench",
        "Comment=Tune, train, watch and compare reinforcement-learning agents on Ray RLlib and Ray Tune",
        f"Exec={exec_line}",
        f"Icon={APP_ID}",
        "Terminal=false",
        "Categories=Science;ArtificialIntelligence;",
        "Keywords=reinforcement learning;RLlib;Ray;Tune;agent;hyperparameter;",
        "StartupNotify=true",
        "",
    ])


def installed_files(environ=None) -> list[Path]:
    """Every file ``install`` writes: ``uninstall`` removes exactly these."""
    share = data_home(environ)
    hicolor = share / "icons" / "hicolor"
    files = [share / "applications" / f"{APP_ID}.desktop", hicolor / "scalable" / "apps" / f"{APP_ID}.svg"]
    files += [hicolor / f"{n}x{n}" / "apps" / f"{APP_ID}.png" for n in ICON_SIZES]
    return files


def _refresh_caches(share: Path) -> None:
    # optional helpers of desktop environments; menus also notice the files without them
    for cmd in (["update-desktop-database", "-q", str(share / "applications")],
                ["gtk-update-icon-cache", "-q", "-t", str(share / "icons" / "hicolor")]):
        if shutil.which(cmd[0]):
            subprocess.run(cmd, capture_output=True, timeout=20, check=False)


def install(environ=None, command: list[str] | None = None) -> list[Path]:
    share = data_home(environ)
    entry, svg, *pngs = installed_files(environ)
    for path in (entry, svg, *pngs):
        path.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(desktop_entry(command or launcher()), encoding="utf-8")
    shutil.copyfile(icon_path(), svg)
    for size, png in zip(ICON_SIZES, pngs):
        shutil.copyfile(icon_path(size), png)
    _refresh_caches(share)
    return [entry, svg, *pngs]


def uninstall(environ=None) -> list[Path]:
    removed = []
    for path in installed_files(environ):
        if path.is_file():
            path.unlink()
            removed.append(path)
    _refresh_caches(data_home(environ))
    return removed


def main(action: str) -> int:
    if not sys.platform.startswith("linux"):
        print(f"rlstudio: 'rlstudio desktop {action}' is not supported on this system yet (only Linux desktops); "
              "start RL Studio with the command 'rlstudio'", file=sys.stderr)
        return 1
    try:
        if action == "install":
            files = install()
            print(f"RL Studio is in the application menu ({files[0]}); it starts {' '.join(launcher())}")
        else:
            files = uninstall()
            print(f"removed RL Studio's menu entry and icons ({len(files)} files)" if files
                  else "RL Studio had no menu entry for this user; nothing to remove")
    except OSError as exc:
        print(f"rlstudio: could not {action} the menu entry: {exc.strerror or exc} ({exc.filename or ''})",
              file=sys.stderr)
        return 1
    return 0
