"""Channel secrets at rest: Fernet under settings.AIVMON_SECRETS_KEY.

AIVMON_SECRETS_KEY may hold several comma-separated keys: the first encrypts, every one decrypts.
To rotate, put a new key first, keep the old one after it, re-encrypt with `secrets_rotate`,
then drop the old key.
"""

import binascii
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.alerts.channels.base import Channel


class SecretsDecryptionError(ValueError):
    """Stored secrets that none of the configured keys decrypts."""


def secrets_encrypt(values: Mapping[str, str]) -> str:
    """Encrypt a channel's secret values into one token ("" when there are none)."""
    if not values:
        return ""
    if not all(isinstance(key, str) and isinstance(v, str) for key, v in values.items()):
        raise TypeError("secret values must be strings")
    plain = json.dumps(dict(values), sort_keys=True).encode()
    return _fernet(settings.AIVMON_SECRETS_KEY).encrypt(plain).decode()


def secrets_decrypt(token: str) -> dict[str, str]:
    """Decrypt a token from `secrets_encrypt` back into the secret values."""
    if not token:
        return {}
    try:
        plain = _fernet(settings.AIVMON_SECRETS_KEY).decrypt(token.encode())
    except InvalidToken as exc:
        raise SecretsDecryptionError(
            "channel secrets cannot be decrypted: AIVMON_SECRETS_KEY does not hold the key they "
            "were encrypted with (after changing the key, keep the old one after the new one, "
            "comma-separated), or the stored value is damaged"
        ) from exc
    values = json.loads(plain)
    return {str(key): str(value) for key, value in values.items()}


def secrets_rotate(token: str) -> str:
    """Re-encrypt a token under the first key (for rotation); "" stays ""."""
    if not token:
        return ""
    try:
        return _fernet(settings.AIVMON_SECRETS_KEY).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretsDecryptionError("channel secrets cannot be decrypted with any key") from exc


def split_secrets(
    channel: Channel, config: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Split a cleaned config into its plain part and its secret values (empty ones dropped)."""
    plain = {key: value for key, value in config.items() if key not in channel.secret_fields}
    secrets: dict[str, str] = {}
    for key in channel.secret_fields:
        value = config.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise ValueError(f"{key}: must be a string")
        secrets[key] = value
    return plain, secrets


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    parts = [part.strip() for part in keys.split(",") if part.strip()]
    if not parts:
        raise ImproperlyConfigured("AIVMON_SECRETS_KEY is empty")
    fernets = []
    for position, key in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, binascii.Error) as exc:
            raise ImproperlyConfigured(
                f"AIVMON_SECRETS_KEY: key {position} is not a Fernet key (32 bytes in urlsafe "
                "base64; make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc
    return MultiFernet(fernets)
