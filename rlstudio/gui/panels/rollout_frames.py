"""One painted rollout view: the newest frame the player sent, scaled to fit, with the overlay (episode, step,
return; "random policy" before a checkpoint). The rollout panel has one big view and a grid of small ones.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from rlstudio.gui.panels.rollout_data import GRID_WIDTH, overlay_text


class FrameView(QWidget):
    """Paints the newest frame, scaled to fit, with the overlay. Holds no state but what it shows."""

    clicked = Signal()

    def __init__(self, small: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.small = small
        self.image: QImage | None = None
        self.info: dict = {}
        self.title = ""
        self.placeholder = "Waiting for the first picture…"
        self.highlighted = False
        self.frames_shown = 0
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        if small:
            self.setFixedSize(GRID_WIDTH, GRID_WIDTH * 2 // 3 + 18)
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.setMinimumSize(300, 200)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_frame(self, image: QImage, info: dict) -> None:
        self.image, self.info = image, info
        self.frames_shown += 1
        self.update()  # Qt merges updates: at most one paint per screen refresh

    def clear(self, placeholder: str) -> None:
        self.image, self.info, self.placeholder = None, {}, placeholder
        self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#fafafa"))
        area = QRectF(self.rect())
        if self.small:
            area.setBottom(area.bottom() - 18)
        if self.image is None:
            p.setPen(QColor("#666"))
            p.drawText(area.adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.placeholder)
        else:
            size = self.image.size().scaled(area.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(area.x() + (area.width() - size.width()) / 2,
                            area.y() + (area.height() - size.height()) / 2, size.width(), size.height())
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self.small)
            p.drawImage(target, self.image)
            self._overlay(p, target)
        if self.small:
            p.setPen(QColor("#222"))
            p.drawText(QRectF(0, self.height() - 18, self.width(), 18), Qt.AlignmentFlag.AlignCenter, self.title)
        if self.highlighted:
            p.setPen(QPen(QColor("#1f77b4"), 3))
            p.drawRect(self.rect().adjusted(1, 1, -2, -2))
        p.end()

    def _overlay(self, p: QPainter, target: QRectF) -> None:
        info = self.info
        if not info:
            return
        font = QFont(self.font())
        font.setPointSizeF(7.5 if self.small else 10)
        p.setFont(font)
        text = overlay_text(info, self.small)
        box = p.fontMetrics().boundingRect(text).adjusted(-4, -2, 4, 2)
        box.moveTopLeft(target.topLeft().toPoint())
        p.fillRect(box, QColor(20, 20, 20, 170))
        p.setPen(QColor("white"))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        if info.get("random"):
            tag = "random policy"
            box = p.fontMetrics().boundingRect(tag).adjusted(-4, -2, 4, 2)
            box.moveBottomLeft(target.bottomLeft().toPoint())
            p.fillRect(box, QColor(190, 90, 20, 200))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, tag)
