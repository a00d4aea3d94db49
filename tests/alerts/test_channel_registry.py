import os
import subprocess
import sys

import pytest

from apps.alerts.channels.registry import KINDS, channel_for


def test_every_kind_of_api_md_has_a_channel_with_its_secret_fields():
    assert {kind: channel_for(kind).secret_fields for kind in KINDS} == {
        "webhook": ("secret",),
        "slack": ("url",),
        "email": (),
        "github": ("token",),
        "sentry": ("dsn",),
    }


def test_channel_for_returns_the_channel_of_a_kind():
    assert channel_for("github").kind == "github"


def test_an_unknown_kind_is_a_value_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown channel kind 'pager'.*webhook, slack"):
        channel_for("pager")


def test_a_process_that_sends_nowhere_loads_neither_pygithub_nor_sentry_sdk():
    script = (
        "import django, sys; django.setup(); "
        "import aivmon.urls, apps.alerts.api.serializers, apps.alerts.admin; "
        "print(sorted(m for m in ('github', 'sentry_sdk') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "aivmon.settings.test"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout

    assert out.strip().splitlines()[-1] == "[]"
