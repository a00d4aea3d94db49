import pytest

from apps.alerts.channels.registry import CHANNELS, channel_for


def test_every_kind_of_api_md_has_a_channel_with_its_secret_fields():
    assert {kind: channel.secret_fields for kind, channel in CHANNELS.items()} == {
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
