import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from apps.alerts.channels.github import GitHubChannel
from apps.alerts.channels.webhook import WebhookChannel
from apps.alerts.crypto import (
    SecretsDecryptionError,
    secrets_decrypt,
    secrets_encrypt,
    secrets_rotate,
    split_secrets,
)

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_secrets_round_trip_and_the_token_does_not_show_them(settings):
    settings.AIVMON_SECRETS_KEY = NEW_KEY

    token = secrets_encrypt({"token": "ghp_s3cret", "url": "https://hooks.example/T/B/X"})

    assert "s3cret" not in token
    assert secrets_decrypt(token) == {"token": "ghp_s3cret", "url": "https://hooks.example/T/B/X"}


def test_no_secrets_encrypt_to_an_empty_string(settings):
    settings.AIVMON_SECRETS_KEY = NEW_KEY

    assert secrets_encrypt({}) == ""
    assert secrets_decrypt("") == {}


def test_a_token_from_the_old_key_decrypts_after_rotation(settings):
    settings.AIVMON_SECRETS_KEY = OLD_KEY
    old_token = secrets_encrypt({"secret": "s"})

    settings.AIVMON_SECRETS_KEY = f"{NEW_KEY}, {OLD_KEY}"

    assert secrets_decrypt(old_token) == {"secret": "s"}


def test_rotation_re_encrypts_under_the_first_key(settings):
    settings.AIVMON_SECRETS_KEY = OLD_KEY
    old_token = secrets_encrypt({"secret": "s"})
    settings.AIVMON_SECRETS_KEY = f"{NEW_KEY},{OLD_KEY}"

    new_token = secrets_rotate(old_token)
    settings.AIVMON_SECRETS_KEY = NEW_KEY

    assert secrets_decrypt(new_token) == {"secret": "s"}


def test_new_secrets_are_encrypted_with_the_first_key(settings):
    settings.AIVMON_SECRETS_KEY = f"{NEW_KEY},{OLD_KEY}"
    token = secrets_encrypt({"secret": "s"})

    settings.AIVMON_SECRETS_KEY = NEW_KEY

    assert secrets_decrypt(token) == {"secret": "s"}


def test_a_token_under_another_key_is_a_clear_error(settings):
    settings.AIVMON_SECRETS_KEY = OLD_KEY
    token = secrets_encrypt({"secret": "s"})
    settings.AIVMON_SECRETS_KEY = NEW_KEY

    with pytest.raises(SecretsDecryptionError, match="AIVMON_SECRETS_KEY does not hold the key"):
        secrets_decrypt(token)


def test_a_damaged_token_is_a_clear_error(settings):
    settings.AIVMON_SECRETS_KEY = NEW_KEY

    with pytest.raises(SecretsDecryptionError):
        secrets_decrypt("not-a-token")


@pytest.mark.parametrize("key", ["", "short", "x" * 44, f"{NEW_KEY},nope"])
def test_a_malformed_key_is_improperly_configured(settings, key):
    settings.AIVMON_SECRETS_KEY = key

    with pytest.raises(ImproperlyConfigured, match="AIVMON_SECRETS_KEY"):
        secrets_encrypt({"secret": "s"})


def test_split_secrets_keeps_secret_fields_apart():
    config = {"repo": "acme/ops", "token": "ghp_x", "labels": ["oncall"]}

    plain, secrets = split_secrets(GitHubChannel(), config)

    assert plain == {"repo": "acme/ops", "labels": ["oncall"]}
    assert secrets == {"token": "ghp_x"}


def test_split_secrets_drops_an_empty_secret():
    plain, secrets = split_secrets(WebhookChannel(), {"url": "https://x.example", "secret": ""})

    assert plain == {"url": "https://x.example"}
    assert secrets == {}
