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


def test_engine_imports_without_qt():
    proc = _blocked_import(["PySide6"], ["rlstudio.engine.build", "rlstudio.engine.runner", "rlstudio.engine.policy"])
    assert proc.returncode == 0, proc.stderr


def _engine_imports(path) -> list[str]:
    """``module:line`` of every import of rlstudio.engine in the file (at any depth: inside functions too)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == "rlstudio.engine" or name.startswith("rlstudio.engine.") for name in names):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_the_gui_reaches_the_engine_only_through_the_bridge_package():
    from pathlib import Path

    gui = Path(__file__).resolve().parent.parent / "rlstudio" / "gui"
    bridge = gui / "bridge"
    assert (bridge / "__init__.py").exists()
    outside = [hit for path in sorted(gui.rglob("*.py")) if bridge not in path.parents
               for hit in _engine_imports(path)]
    assert outside == [], f"gui modules importing rlstudio.engine outside gui/bridge: {outside}"
    assert _engine_imports(bridge / "run.py")  # the scan sees imports inside functions
