"""Light and dark theme (issue 13 §10): by default the app follows the system's colour scheme (Qt's
``QStyleHints.colorScheme``, and its change signal while the app runs); View ▸ Theme can fix it to light or dark.
The choice is kept in the settings (``appearance/theme``).

Widgets take their colours from the palette set here (Fusion style, which draws a dark palette well on every
platform). The charts keep their white background in both themes, like paper: the trial colours, the green success
line and the blue-to-red scales then mean the same everywhere, and a picture exported from a dark session looks
like one from a light one.

Use::

    theme = Theme(app)            # applies the saved choice (system by default) and follows the system
    theme.add_menu(view_menu)     # View ▸ Theme ▸ System / Light / Dark
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QStyleFactory

SYSTEM, LIGHT, DARK = "system", "light", "dark"
CHOICES = {SYSTEM: "Follow the &system", LIGHT: "&Light", DARK: "&Dark"}
SETTING = "appearance/theme"


def system_scheme() -> str:
    """The system's scheme: ``dark`` or ``light`` (unknown counts as light)."""
    scheme = QGuiApplication.styleHints().colorScheme()
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    disabled = QColor(127, 127, 127)
    roles = {
        QPalette.ColorRole.Window: window, QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base, QPalette.ColorRole.AlternateBase: QColor(40, 40, 43),
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64), QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(150, 150, 150), QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(53, 53, 57), QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90), QPalette.ColorRole.Link: QColor(110, 170, 255),
        QPalette.ColorRole.LinkVisited: QColor(170, 140, 255), QPalette.ColorRole.Highlight: QColor(42, 130, 218),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255), QPalette.ColorRole.Light: QColor(70, 70, 74),
        QPalette.ColorRole.Midlight: QColor(60, 60, 64), QPalette.ColorRole.Mid: QColor(40, 40, 43),
        QPalette.ColorRole.Dark: QColor(20, 20, 22), QPalette.ColorRole.Shadow: QColor(0, 0, 0),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the palette in use is a dark one (for views that pick their own colours)."""
    palette = palette or QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class Theme(QObject):
    """Applies the chosen theme to the application and re-applies it when the system's scheme changes."""

    changed = Signal(str)  # the scheme now shown: "light" or "dark"

    def __init__(self, app: QApplication, settings: QSettings | None = None, parent: QObject | None = None):
        super().__init__(parent or app)
        self.app = app
        self.settings = settings or QSettings()
        choice = str(self.settings.value(SETTING, SYSTEM))
        self.choice = choice if choice in CHOICES else SYSTEM
        self._light_palette = QPalette(app.palette())  # the platform's own palette, restored for "light"
        self._light_style = app.style().name()
        self.actions: dict[str, QAction] = {}
        self.shown: str | None = None
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_scheme_changed)
        self.apply()

    def scheme(self) -> str:
        return system_scheme() if self.choice == SYSTEM else self.choice

    def set_choice(self, choice: str) -> None:
        if choice not in CHOICES:
            raise ValueError(f"theme must be one of {', '.join(CHOICES)}")
        self.choice = choice
        self.settings.setValue(SETTING, choice)
        if choice in self.actions:
            self.actions[choice].setChecked(True)
        self.apply()

    def apply(self) -> None:
        scheme = self.scheme()
        if scheme == self.shown:
            return
        self.shown = scheme
        if scheme == DARK:
            fusion = QStyleFactory.create("Fusion")
            if fusion is not None:
                self.app.setStyle(fusion)
            self.app.setPalette(dark_palette())
        else:
            if self.app.style().name() != self._light_style:
                style = QStyleFactory.create(self._light_style)
                if style is not None:
                    self.app.setStyle(style)
            self.app.setPalette(self._light_palette)
        self.changed.emit(scheme)

    def add_menu(self, menu: QMenu) -> QMenu:
        """View ▸ Theme ▸ Follow the system / Light / Dark."""
        sub = menu.addMenu("&Theme")
        group = QActionGroup(sub)
        for key, text in CHOICES.items():
            action = QAction(text, sub, checkable=True)
            action.setChecked(key == self.choice)
            action.triggered.connect(lambda _=False, k=key: self.set_choice(k))
            group.addAction(action)
            sub.addAction(action)
            self.actions[key] = action
        return sub

    def _on_system_scheme_changed(self, _scheme) -> None:
        if self.choice == SYSTEM:
            self.apply()
