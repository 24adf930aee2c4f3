"""The panels' data modules — their numbers, texts and decisions — import without Qt (and without pyqtgraph), so
they are unit-tested without a widget (tests/test_gui_*_data.py) and can serve a model or the CLI later."""

import subprocess
import sys

import pytest

QT_FREE = ["rlstudio.gui.panels.curves_data", "rlstudio.gui.panels.results_data", "rlstudio.gui.panels.rollout_data",
           "rlstudio.gui.panels.compress_data", "rlstudio.gui.panels.compare_data"]


@pytest.mark.parametrize("module", QT_FREE)
def test_a_panels_data_module_imports_without_qt(module):
    code = (f"import sys\nsys.modules['PySide6'] = None\nsys.modules['pyqtgraph'] = None\nimport {module}\n"
            "print(sorted(m for m in ('PySide6', 'pyqtgraph', 'ray', 'torch') if sys.modules.get(m)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
