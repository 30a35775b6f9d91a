"""Secrets kept in files: the page's token (--serve-token-file), the MQTT broker's password (--mqtt-password-file)."""

import os
import stat
from pathlib import Path

from maskdetect.errors import InputError


def read_secret_file(path, what, minimum=16):
    """A secret (a token, a password) from a file that only its owner can read."""
    try:
        mode = os.stat(path).st_mode
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the {what} file {path}: {getattr(error, 'strerror', None) or error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"the {what} file {path} can be read by others (mode {stat.S_IMODE(mode):o}): chmod 600 it")
    if len(secret) < minimum:
        raise InputError(f"the {what} in {path} is too short: at least {minimum} characters")
    return secret
