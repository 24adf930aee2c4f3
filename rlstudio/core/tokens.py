"""Cluster tokens in the system keyring (``keyring``), never in plain text in QSettings, experiment folders, logs
or exported scripts. Without a usable keyring backend nothing is stored: the app and the command line ask each
time (or read RLSTUDIO_RAY_TOKEN)."""

from __future__ import annotations

import logging
import os

SERVICE = "rlstudio"
TOKEN_ENV = "RLSTUDIO_RAY_TOKEN"

log = logging.getLogger(__name__)


def _user(address: str) -> str:
    return f"ray-token {address.strip()}"


def keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import fail

        return not isinstance(keyring.get_keyring(), fail.Keyring)
    except Exception:  # noqa: BLE001 - no keyring at all
        return False


def load_token(address: str | None) -> str | None:
    """The token saved for this cluster address, or None (none saved, or no keyring: ask the user)."""
    if not address or not keyring_usable():
        return None
    try:
        import keyring

        return keyring.get_password(SERVICE, _user(address)) or None
    except Exception as exc:  # noqa: BLE001 - a locked or broken keyring: ask instead
        log.warning("could not read the keyring: %s", exc)
        return None


def save_token(address: str | None, token: str | None) -> bool:
    """Save (or, with no token, forget) the token for this address; False when no keyring can keep it."""
    if not address or not keyring_usable():
        return False
    try:
        import keyring

        if token:
            keyring.set_password(SERVICE, _user(address), token)
        else:
            try:
                keyring.delete_password(SERVICE, _user(address))
            except keyring.errors.PasswordDeleteError:
                pass
        return True
    except Exception as exc:  # noqa: BLE001
        log.warning("could not write the keyring: %s", exc)
        return False


def token_for(address: str | None) -> str | None:
    """The command line's token: RLSTUDIO_RAY_TOKEN, else the keyring's for this address."""
    return os.environ.get(TOKEN_ENV) or load_token(address)
