import pytest

from apps.ingest.models import ScrubRule
from apps.ingest.scrub import luhn_valid, ruleset, ruleset_forget

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules():
    ruleset_forget()
    return ruleset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail alice@example.com now", "mail [scrubbed] now"),
        ("card 4111 1111 1111 1111 declined", "card [scrubbed] declined"),
        ("card 4111-1111-1111-1111", "card [scrubbed]"),
        ("order 4111 1111 1111 1112 is not a card", "order 4111 1111 1111 1112 is not a card"),
        ("Authorization: Bearer eyJhbGciOi.xyz-123", "Authorization: [scrubbed]"),
        ("key aivmon_0123abcd_s3cr3t-VALUE here", "key [scrubbed] here"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_text_rules_scrub_what_they_should_and_nothing_else(rules, text, expected):
    assert rules.text(text) == expected


def test_secret_named_keys_are_scrubbed_at_any_depth(rules):
    attrs = {
        "password": "hunter2",
        "db": {"API_KEY": "k", "host": "db1"},
        "http.request.header.authorization": ["Bearer x"],
        "user": "bob@example.com",
        "count": 3,
    }

    assert rules.attributes(attrs) == {
        "password": "[scrubbed]",
        "db": {"API_KEY": "[scrubbed]", "host": "db1"},
        "http.request.header.authorization": "[scrubbed]",
        "user": "[scrubbed]",
        "count": 3,
    }


def test_an_admin_can_disable_a_builtin_rule_and_add_one():
    ScrubRule.objects.filter(name="email").update(enabled=False)
    ScrubRule.objects.create(name="ssn", kind="value", pattern=r"\b\d{3}-\d{2}-\d{4}\b")
    ruleset_forget()

    assert ruleset().text("a@b.io 123-45-6789") == "a@b.io [scrubbed]"


def test_a_broken_pattern_is_refused_by_the_form_and_skipped_at_run_time():
    rule = ScrubRule(name="bad", kind="value", pattern="(unclosed")
    ScrubRule.objects.bulk_create([rule])
    ruleset_forget()

    with pytest.raises(Exception, match="regular expression"):
        rule.full_clean()
    assert ruleset().text("x@y.io") == "[scrubbed]"


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("5500 0000 0000 0004", True),
        ("4111111111111112", False),
        ("1234", False),
    ],
)
def test_luhn(number, valid):
    assert luhn_valid(number) is valid


def test_an_admin_adds_a_rule_in_the_admin_and_it_applies(admin_client):
    response = admin_client.post(
        "/admin/ingest/scrubrule/add/",
        {
            "name": "ticket",
            "kind": "value",
            "pattern": r"TICKET-\d+",
            "verify": "",
            "enabled": "on",
            "description": "",
        },
    )

    assert response.status_code == 302
    assert ruleset().text("see TICKET-42") == "see [scrubbed]"


def test_a_builtin_rule_cannot_be_deleted_in_the_admin(admin_client):
    rule = ScrubRule.objects.get(name="email")

    assert admin_client.get(f"/admin/ingest/scrubrule/{rule.pk}/delete/").status_code == 403
