"""Render the application icon's PNG sizes from its SVG source with Qt's own SVG renderer.

    python packaging/make_icons.py

Run it after changing resources/icons/rlstudio.svg and commit the PNGs: the app and the menu entry use the PNGs
(a desktop without an SVG icon loader still shows them), so nothing is rendered at install or start time.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from rlstudio.core.resources import ICON_SIZES, icon_path  # noqa: E402


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QPainter on text needs it)
    renderer = QSvgRenderer(str(icon_path()))
    if not renderer.isValid():
        print(f"{icon_path()} is not a valid SVG", file=sys.stderr)
        return 1
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        out = icon_path(size)
        image.save(str(out))
        print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
