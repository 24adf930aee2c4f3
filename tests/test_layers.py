"""core imports without Qt and without Ray; the engine imports without Qt."""

import subprocess
import sys

CORE = ["rlstudio.core.spec", "rlstudio.core.catalog", "rlstudio.core.validation", "rlstudio.core.events",
        "rlstudio.core.progress", "rlstudio.core.export", "rlstudio.core.schema", "rlstudio.core.presets",
        "rlstudio.core.trust", "rlstudio.core.stats", "rlstudio.core.importance", "rlstudio.core.report",
        "rlstudio.core.resources", "rlstudio.core.appmodel", "rlstudio.core.editing", "rlstudio.core.folder",
        "rlstudio.core.layers",
        "rlstudio.doctor", "rlstudio.desktop", "rlstudio.cli"]


def _blocked_import(blocked: list[str], modules: list[str]) -> subprocess.CompletedProcess:
    code = (f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
            + "".join(f"import {m}\n" for m in modules)
            + "from rlstudio.core.spec import loads_spec\nfrom rlstudio.core.validation import validate\n"
              "validate(loads_spec('name: x\\nstop: {iterations: 1}'))\n"
              "print(sorted(m for m in ('ray', 'torch', 'PySide6') if sys.modules.get(m)))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_core_and_cli_import_without_qt_and_without_ray():
    proc = _blocked_import(["PySide6", "ray", "torch"], CORE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


QT = ("PySide6", "shiboken6", "pyqtgraph", "rlstudio.gui")


def test_engine_imports_without_qt():
    # every engine module that does not import Ray or torch at its top, imported with Qt made unimportable
    import ast

    def heavy(path) -> bool:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        return bool(_imports_in(body, ("ray", "torch")))

    light = [f"rlstudio.engine.{path.stem}" for path in sorted(ENGINE.glob("*.py")) if not heavy(path)]
    assert "rlstudio.engine.runner" in light and len(light) >= 10
    proc = _blocked_import(["PySide6"], light)
    assert proc.returncode == 0, proc.stderr
    # and no import of Qt anywhere in the engine or core, inside functions too: the modules that import RLlib at
    # their top (build, returns, seeds: ~5 s; the Ray tests import them) are read, not imported, and an import
    # inside a function is never run by the check above
    found = {path.name: hits for path in sorted([*ENGINE.glob("*.py"), *(ENGINE.parent / "core").glob("*.py")])
             if (hits := _imports(path, QT))}
    assert found == {}
    assert _imports(ENGINE.parent / "gui" / "main_window.py", QT)  # the scan sees Qt where it is


ENGINE = __import__("pathlib").Path(__file__).resolve().parent.parent / "rlstudio" / "engine"


def _imports(path, packages) -> list[str]:
    """``module:line`` of every import of one of ``packages`` (or their modules) in the file, at any depth (inside
    functions too)."""
    import ast

    return _imports_in(ast.walk(ast.parse(path.read_text(encoding="utf-8"))), packages, path.name)


def _imports_in(nodes, packages, name: str = "") -> list[str]:
    import ast

    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == package or name.startswith(package + ".") for name in names for package in packages):
            found.append(f"{name}:{node.lineno}")
    return found


def _engine_imports(path) -> list[str]:
    """``module:line`` of every import of rlstudio.engine in the file (at any depth: inside functions too)."""
    return _imports(path, ("rlstudio.engine",))


def test_the_gui_reaches_the_engine_only_through_the_bridge_package():
    from pathlib import Path

    gui = Path(__file__).resolve().parent.parent / "rlstudio" / "gui"
    bridge = gui / "bridge"
    assert (bridge / "__init__.py").exists()
    outside = [hit for path in sorted(gui.rglob("*.py")) if bridge not in path.parents
               for hit in _engine_imports(path)]
    assert outside == [], f"gui modules importing rlstudio.engine outside gui/bridge: {outside}"
    assert _engine_imports(bridge / "run.py")  # the scan sees imports inside functions
