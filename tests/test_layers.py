"""core imports without Qt and without Ray; the engine imports without Qt."""

import subprocess
import sys

CORE = ["rlstudio.core.spec", "rlstudio.core.catalog", "rlstudio.core.validation", "rlstudio.core.events",
        "rlstudio.core.progress", "rlstudio.core.export", "rlstudio.core.schema", "rlstudio.core.presets",
        "rlstudio.core.trust", "rlstudio.core.stats", "rlstudio.core.importance", "rlstudio.core.report",
        "rlstudio.core.resources", "rlstudio.doctor", "rlstudio.desktop", "rlstudio.cli"]


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
